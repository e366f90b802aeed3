"""Landing -> raw for the high-volume Parquet feed (emb/sensor_readings), column-wise with DuckDB.

`citysafety.raw.ingest.load_file` hands every `form == "parquet"` delivery to `load_parquet_file`,
which produces the same per-file folder as the row-wise ingest (rows.parquet, quarantine.parquet,
reconciliation.parquet, committed all-or-nothing by `commit_load`) without a Python loop
over rows: one streaming DuckDB COPY reads the delivered file, types and checks every column
and writes the rows that load; a second pass writes the quarantined rows (with their raw
record) only when there are any. `ingest.ingest_feed` loads several files at once. A day of
720k readings (500 points) takes about 0.1 s of one core.

What a row becomes:

- `point_id` text (surrounding spaces, full-width spaces and BOMs stripped, as the CSV readers
  do); integer ids are read as text, with a note. Null or empty -> quarantined.
- `ts` a timestamp **in UTC, as delivered** (the agreement: "ts (timestamp, UTC)"). A naive
  Parquet timestamp is taken as UTC; a timestamp with time zone (or a text with an offset) is
  converted to UTC; text without offset is read as UTC. Local (Asia/Shanghai) time is derived in
  dbt (stg_emb__sensor_readings.ts_local = ts + 8 h), never here. Null or unreadable ->
  quarantined. A reading after the file's delivery (store.delivered_by: its landing time or
  the day in its name, plus config.future_tolerance_days) -> quarantined, as the row feeds do.
- `value` a double. Null, NaN, +/-inf, or a text that is not a number -> quarantined.
- A column of a type that cannot hold its kind at all (e.g. `value` as BOOLEAN, `ts` as BIGINT)
  quarantines every row, naming the delivered type.
- Lineage `_row_number` (1-based row index in the file) and `_loaded_at` per row; `_source_file`
  and `_file_sha256`, the same on every row of a file, are attached by prepare_build from the
  load's reconciliation (store.PER_FILE_LINEAGE). Quarantined rows keep the delivered values as JSON text in `raw_record`.

Readings delivered twice (same point_id and ts, in one file or a later one) are NOT quarantined:
they are loaded and deduplicated by dbt (int_sensor_readings_deduplicated, latest delivery wins).

A file that is not Parquet, or lacks a required column, is rejected as a whole: it counts as one
delivered record, quarantined with the reason (as the row loader does for unreadable files). A file
whose bytes were already loaded under another name (`duplicate_of`) loads nothing: all its rows
go to quarantine naming the original.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from citysafety import sources as S
from citysafety.config import Settings
from citysafety.files import sha256_file
from citysafety.raw.readers.base import header_key
from citysafety.raw.store import (
    FIRST, QUARANTINE, FileResult, FileVersion, commit_load, commit_rejected, delivered_by, file_status,
    now, raw_file_schema, reconciliation_table, write_parquet,
)
from citysafety.sql import ident, literal

log = logging.getLogger(__name__)

_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                  "UINTEGER", "UBIGINT", "UHUGEINT"}
_NUMBER_TYPES = _INTEGER_TYPES | {"FLOAT", "DOUBLE", "REAL"}
_TIMESTAMP_TYPES = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}
_TIMESTAMPTZ_TYPES = {"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"}
_SQL_TYPES = {S.TEXT: "varchar", S.CHOICE: "varchar", S.DATETIME: "timestamp", S.NUMBER: "double"}


def _type_family(duck_type: str) -> str:
    t = duck_type.upper()
    if t.startswith("DECIMAL"):
        return "number"
    if t in _NUMBER_TYPES:
        return "integer" if t in _INTEGER_TYPES else "number"
    if t in _TIMESTAMP_TYPES:
        return "timestamp"
    if t in _TIMESTAMPTZ_TYPES:
        return "timestamptz"
    if t == "VARCHAR":
        return "text"
    return "other"


def _clean_text_sql(expr: str) -> str:
    # parsing.clean_text: BOM removed, full-width space as space, stripped; empty -> null.
    # Only the values that need it go through the replaces (almost none do: a fifth of the
    # per-file time went to cleaning clean ids).
    clean = f"nullif(trim(replace(replace({expr}, chr(65279), ''), chr(12288), ' ')), '')"
    needs = (f"contains({expr}, chr(65279)) or contains({expr}, chr(12288)) "
             f"or starts_with({expr}, ' ') or ends_with({expr}, ' ') or {expr} = ''")
    return f"(case when {needs} then {clean} else {expr} end)"


def _shown(expr: str) -> str:
    """SQL showing a delivered value in a reason as Python's repr does: 'abc'."""
    return f"'''' || {expr} || ''''"


def _column_sql(column: S.Column, src: str, duck_type: str) -> tuple[str, str, str, list[str]]:
    """(typed value SQL, problem SQL yielding a reason or null, loads SQL, notes) for one column.

    The rule follows the registry's column: its kind (text and choice, date-time, number), whether
    it is required, its choices. `loads` is true exactly when `problem` is null, without building
    the reason's text: it is evaluated on every row (twice), the reason only on the few rows that
    do not load.
    """
    family = _type_family(duck_type)
    name = column.delivered
    empty = literal(f"{name}: required value is empty")
    notes: list[str] = []

    def wrong(kind: str) -> str:
        return literal(f"{name}: delivered as {duck_type}, not {kind}")

    if column.kind in (S.TEXT, S.CHOICE):
        if family == "text":
            typed = _clean_text_sql(src)
        elif family == "integer":
            typed = f"cast({src} as varchar)"
            notes.append(f"{name} delivered as {duck_type}, read as text")
        else:
            return "cast(null as varchar)", wrong("text"), "false", notes
        cases, ok = [], []
        if column.required:
            cases.append(f"when {typed} is null then {empty}")
        if column.choices and column.strict:
            # the exact spellings of the registry (the row loader also folds full-width forms)
            allowed = f"{typed} in ({', '.join(literal(c) for c in column.choices)})"
            reason = literal(f"{name}: not one of {'/'.join(column.choices)}: ")
            cases.append(f"when not ({allowed}) then {reason} || {_shown(typed)}")
            ok.append(allowed if column.required else f"({typed} is null or {allowed})")
        elif column.required:
            ok.append(f"{typed} is not null")
        problem = f"case {' '.join(cases)} end" if cases else "cast(null as varchar)"
        return typed, problem, " and ".join(ok) or "true", notes
    if column.kind == S.DATETIME:
        # UTC as delivered: the agreement of the Parquet feed ("ts (timestamp, UTC)").
        if family in ("timestamp", "timestamptz"):
            if family == "timestamp":
                typed = f"cast({src} as timestamp)"  # naive: UTC as agreed
            else:
                # the instant's microseconds since the epoch are its UTC wall time: no calendar
                # arithmetic (a cast through the time zone costs 20x more on millions of rows)
                typed = f"make_timestamp(epoch_us({src}))"
            if not column.required:
                return typed, "cast(null as varchar)", "true", notes
            return typed, f"case when {src} is null then {empty} end", f"{src} is not null", notes
        if family == "text":
            text = _clean_text_sql(src)
            # TimeZone is UTC on this connection: text without an offset is read as UTC.
            typed = f"cast(timezone('UTC', try_cast({text} as timestamptz)) as timestamp)"
            unreadable = f"{literal(f'{name}: unreadable date-time: ')} || {_shown(src)}"
            if not column.required:
                return (typed, f"case when {text} is not null and {typed} is null then {unreadable} end",
                        f"({text} is null or {typed} is not null)", notes)
            problem = f"case when {text} is null then {empty} when {typed} is null then {unreadable} end"
            return typed, problem, f"{typed} is not null", notes
        return "cast(null as timestamp)", wrong("a timestamp"), "false", notes
    if column.kind == S.NUMBER:
        if family in ("number", "integer"):
            typed = f"cast({src} as double)"
            missing = f"{src} is null"
            bad = (f"when not isfinite({typed}) then {literal(f'{name}: not a finite number: ')} "
                   f"|| {_shown(f'cast({typed} as varchar)')}")
        elif family == "text":
            text = _clean_text_sql(src)
            typed = f"try_cast({text} as double)"
            missing = f"{text} is null"
            bad = (f"when {typed} is null or not isfinite({typed}) then "
                   f"{literal(f'{name}: not a number: ')} || {_shown(src)}")
        else:
            return "cast(null as double)", wrong("a number"), "false", notes
        if not column.required:
            return (typed, f"case when {missing} then null {bad} end",
                    f"({missing} or isfinite({typed}))", notes)
        # null (empty, unreadable) does not load
        return typed, f"case when {missing} then {empty} {bad} end", f"isfinite({typed})", notes
    raise ValueError(f"{column.name}: no columnar rule for a {column.kind} column")


def _not_after(column: S.Column, typed: str, problem: str, ok: str,
               limit_utc: datetime) -> tuple[str, str, str]:
    """A date-time column's rule (typed, problem, ok) with one more: a value after `limit_utc`
    (the file's delivery plus tolerance, store.delivered_by) does not load, with the reason."""
    bound = f"timestamp {literal(limit_utc.isoformat(sep=' '))}"
    late = f"coalesce({typed} > {bound}, false)"
    reason = literal(f"{column.delivered}: after the file's delivery "
                     f"({limit_utc:%Y-%m-%d %H:%M} UTC with tolerance): ")
    problem = (f"coalesce({problem}, case when {late} then "
               f"{reason} || {_shown(f'strftime({typed}, {literal(_SHOWN_TS)})')} end)")
    return typed, problem, f"({ok}) and not {late}"


_SHOWN_TS = "%Y-%m-%d %H:%M:%S"


def _first_line(exc: Exception, path: Path) -> str:
    """DuckDB's message, first line, with the landing path shortened to the file's name."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    return lines[0].replace(str(path), path.name)[:500]


_local = threading.local()


def _connection(threads: int | None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection of this thread's (the delivered file is only read).

    Kept for the thread's next file: opening one costs about 10 ms, a tenth of a day's load.
    """
    key = threads or 0
    cons = getattr(_local, "connections", None)
    if cons is None:
        cons = _local.connections = {}
    if key not in cons:
        con = duckdb.connect(config={"threads": threads} if threads else {})
        con.execute("set TimeZone = 'UTC'")  # text without an offset is read as UTC
        cons[key] = con
    return cons[key]


def load_parquet_file(feed: S.Feed, path: Path, cfg: Settings, duplicate_of: str | None = None,
                      sha: str | None = None, threads: int | None = None,
                      version: FileVersion = FIRST) -> FileResult:
    """Load one delivered Parquet file into raw/<source>/<feed>/<file>-<sha12>/ (all or nothing).

    `threads` caps DuckDB's threads for this file (ingest_feed loads several files at once).
    """
    sha = sha or sha256_file(path)
    loaded_at: datetime = now()
    notes: list[str] = []
    if path.suffix.lower() != ".parquet":
        notes.append("file name does not end in .parquet")
    dup_reason = (f"duplicate delivery: identical content already loaded from {duplicate_of}"
                  if duplicate_of else None)

    con = _connection(threads)
    src = f"read_parquet({literal(str(path))}, file_row_number = true)"
    rejected_reason = None
    described = []
    if path.stat().st_size == 0:
        notes.append("empty file")
    else:
        try:
            described = con.execute(f"describe select * from {src}").fetchall()
        except duckdb.Error as exc:
            rejected_reason = f"not a readable Parquet file ({_first_line(exc, path)})"
    by_key = {}
    for name, duck_type, *_ in described:
        if name != "file_row_number":
            by_key.setdefault(header_key(name).lower(), (name, duck_type))
    if described and rejected_reason is None:
        wanted = {header_key(c.delivered).lower() for c in feed.columns}
        missing = [c.delivered for c in feed.columns
                   if c.required and header_key(c.delivered).lower() not in by_key]
        extra = [n for k, (n, _) in by_key.items() if k not in wanted]
        if extra:
            notes.append(f"columns not in the agreement, ignored: {extra}")
        if missing:
            rows = con.execute(f"select count(*) from {src}").fetchall()[0][0]
            rejected_reason = (f"lacks required columns {missing} "
                               f"(has {[n for n, _ in by_key.values()]}; {rows} rows not loaded)")

    if rejected_reason is not None:
        return commit_rejected(feed, path, sha, cfg, rejected_reason, notes=notes,
                               duplicate_of=duplicate_of, version=version)

    # Per column: its typed value, the reason a row cannot load, the verdict; the raw record.
    typed_cols, problems, oks, raw_parts = [], [], [], []
    # Readings after the file's delivery (plus tolerance) are implausible, as for the row feeds;
    # the limit is Asia/Shanghai wall time and the feed's times are UTC.
    limit_utc = delivered_by(path) - timedelta(hours=8)
    for column in feed.columns:
        found = by_key.get(header_key(column.delivered).lower())
        if found is None:  # optional column absent (none in the registry today)
            typed_cols.append(f"cast(null as {_SQL_TYPES[column.kind]}) as {ident(column.name)}")
            continue
        expr, problem, ok, col_notes = _column_sql(column, ident(found[0]), found[1])
        if column.kind == S.DATETIME and not column.future_ok:
            expr, problem, ok = _not_after(column, expr, problem, ok, limit_utc)
        notes.extend(col_notes)
        typed_cols.append(f"{expr} as {ident(column.name)}")
        problems.append(problem)
        oks.append(f"({ok})")
    for name, _ in by_key.values():
        raw_parts.append(f"{literal(name)}, cast({ident(name)} as varchar)")
    reason = f"nullif(concat_ws('; ', {', '.join(problems)}), '')"
    # whether a row loads: true exactly when reason is null (null counts as no)
    loads_sql = " and ".join(oks) or "true"
    if dup_reason:  # the bytes were loaded from another file: every row goes to quarantine
        loads_sql = "false"
        reason = (f"case when {reason} is null then {literal(dup_reason)} "
                  f"else {literal(dup_reason + ' (there: ')} || {reason} || ')' end")
    delivered = con.execute(f"select count(*) from {src}").fetchone()[0] if described else 0
    stamp = f"timestamp {literal(loaded_at.isoformat(sep=' '))}"
    stored = raw_file_schema(feed).names
    lineage = {"_row_number": "file_row_number + 1", "_loaded_at": stamp}
    select_rows = ", ".join(lineage[n] + f" as {ident(n)}" if n in lineage else ident(n) for n in stored)

    def write(folder: Path) -> pa.Table:
        nonlocal loaded, quarantined, status
        if not described:  # empty file: nothing to read
            write_parquet(pa.Table.from_pylist([], schema=raw_file_schema(feed)),
                          folder / "rows.parquet")
            write_parquet(pa.Table.from_pylist([], schema=QUARANTINE), folder / "quarantine.parquet")
            loaded = quarantined = 0
        else:
            # The rows that load go straight from the delivered file to rows.parquet in one
            # streaming pass (file order kept: DuckDB preserves insertion order); per-file
            # lineage is attached by prepare_build (store.PER_FILE_LINEAGE).
            loaded = con.execute(f"""
                copy (
                    select {select_rows}
                    from (select {', '.join(typed_cols)}, file_row_number from {src} where {loads_sql})
                ) to {literal(str(folder / "rows.parquet"))}
                  (format parquet, compression snappy, parquet_version v2)
            """).fetchone()[0]
            quarantined = delivered - loaded
            # Only when some rows did not load: a second pass picks them with their raw record
            # (usually a handful: fetched and written like every other feed's quarantine).
            bad = con.sql(f"""
                select {literal(feed.source)} as source, {literal(feed.feed)} as feed,
                       {literal(path.name)} as file_name, file_row_number + 1 as row_number,
                       {reason} as reason, json_object({', '.join(raw_parts)})::varchar as raw_record,
                       {literal(sha)} as file_sha256, {stamp} as quarantined_at
                from {src}
                where {"true" if quarantined else "false"} and ({loads_sql}) is not true
            """).to_arrow_table()
            write_parquet(bad.cast(QUARANTINE), folder / "quarantine.parquet")
            written = bad.num_rows
            if written != quarantined:  # cannot happen unless the file changed under us
                raise RuntimeError(f"{path.name}: {delivered} rows delivered, {loaded} loaded, "
                                   f"{written} quarantined: does not reconcile")
        status = file_status(delivered, loaded, bool(duplicate_of), False)
        return reconciliation_table(
            feed, path, sha, loaded_at, delivered=delivered, loaded=loaded, quarantined=quarantined,
            status=status, duplicate_of=duplicate_of, notes=notes, version=version)

    loaded = quarantined = 0
    status = ""
    try:
        commit_load(feed, path, sha, cfg, write, version)
    except duckdb.Error as exc:
        # A footer that reads but a data page that does not (corrupt page, bad varint): the
        # file as a whole is unreadable, whatever its first pages held.
        return commit_rejected(feed, path, sha, cfg, f"not a readable Parquet file ({_first_line(exc, path)})",
                               notes=notes, duplicate_of=duplicate_of, version=version)
    log.info("%s/%s %s: %s, delivered %d = loaded %d + quarantined %d", feed.source, feed.feed,
             path.name, status, delivered, loaded, quarantined)
    return FileResult(path.name, status, delivered, loaded, quarantined)
