"""Row loads: a delivered CSV, JSON Lines or XLSX file read record by record, each record typed
by the registry's columns (citysafety.raw.parsing) and loaded or quarantined with its reason.

The folder a load writes is the raw store's (citysafety.raw.store); re-running changes nothing,
and the same bytes under a new name are recorded as a duplicate delivery whose rows are
quarantined with the name of the file that already carried them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

from citysafety import sources as S
from citysafety.config import Settings
from citysafety.files import sha256_file
from citysafety.raw import readers
from citysafety.raw.parsing import BadValue, parse_value
from citysafety.raw.readers.base import Broken, Record, UnreadableFile, header_key
from citysafety.raw.store import (
    FIRST, QUARANTINE, FileResult, FileVersion, commit_load, delivered_by, commit_rejected, exception_text, file_status, now, raw_schema,
    reconciliation_table, write_parquet,
)

log = logging.getLogger(__name__)

_FORM_SUFFIX = {"csv": ".csv", "jsonl": ".jsonl", "xlsx": ".xlsx", "parquet": ".parquet"}


def _raw_text(values: dict) -> str:
    return json.dumps({str(k): (None if v is None else str(v)) for k, v in values.items()},
                      ensure_ascii=False)


def _after(value, limit: datetime) -> bool:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) > limit
    if isinstance(value, date):
        return value > limit.date()
    return False


@dataclass
class Parsed:
    rows: list[dict]  # typed rows, with _row_number
    bad: list[tuple[int, str, str]]  # (row number, reason, raw record)
    raws: dict[int, str]  # raw record of each good row, by row number
    notes: list[str]
    rejected: bool = False


def parse_delivery(feed: S.Feed, path: Path) -> Parsed:
    """Read one file as its agreement says; every record ends up in `rows` or `bad`."""
    expected = [c.delivered for c in feed.columns]
    try:
        delivery = readers.read(path, feed.form, encoding=feed.encoding,
                                header_row=feed.header_row, sheet=feed.sheet, expected=expected)
    except UnreadableFile as exc:
        # Counted as one delivered record so that the file shows in quarantine and adds up.
        return Parsed([], [(0, f"file rejected: {exc}", path.name)], {}, [str(exc)], True)
    notes = list(delivery.notes)
    suffix = _FORM_SUFFIX[feed.form]
    if path.suffix.lower() != suffix:
        notes.append(f"file name does not end in {suffix}")

    items = delivery.items
    index = {header_key(h): h for h in delivery.header}
    by_column = {c.name: index.get(header_key(c.delivered)) for c in feed.columns}
    missing = [c.delivered for c in feed.columns if c.required and by_column[c.name] is None]
    if feed.form != "jsonl" and delivery.header:
        unknown = [h for h in delivery.header if header_key(h) not in
                   {header_key(c.delivered) for c in feed.columns}]
        if unknown:
            notes.append(f"columns not in the agreement, ignored: {unknown}")
        absent = [c.delivered for c in feed.columns if by_column[c.name] is None and not c.required]
        if absent:
            notes.append(f"optional columns absent: {absent}")

    rows: list[dict] = []
    bad: list[tuple[int, str, str]] = []
    raws: dict[int, str] = {}
    agreed = {header_key(c.delivered): c.delivered for c in feed.columns}
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(delivery.header, start=1):
        positions.setdefault(header_key(h), []).append(i)
    twice = {agreed[k]: p for k, p in positions.items() if len(p) > 1 and k in agreed}
    if feed.form != "jsonl" and twice:
        # Which of two same-named columns holds the value is a guess: no row is loaded by one.
        reason = "ambiguous header: " + "; ".join(
            f"{name} named {len(p)} times (columns {', '.join(map(str, p))})" for name, p in twice.items())
    elif missing and feed.form != "jsonl" and delivery.header:
        # Without a required column no row of this file can be read.
        reason = f"file lacks required columns {missing}"
    else:
        reason = None
    if reason:
        for item in items:
            raw = item.raw if isinstance(item, Broken) else _raw_text(item.values)
            bad.append((item.row_number, reason, raw))
        notes.append(reason)
        return Parsed(rows, bad, raws, notes)

    limit = delivered_by(path)
    dated = {c.name for c in feed.columns if c.kind in (S.DATE, S.DATETIME) and not c.future_ok}
    for item in items:
        if isinstance(item, Broken):
            bad.append((item.row_number, item.reason, item.raw))
            continue
        assert isinstance(item, Record)
        row, problems = {}, []
        for col in feed.columns:
            key = by_column[col.name]
            if key is None and feed.form == "jsonl":
                key = next((k for k in item.values if header_key(k) == header_key(col.delivered)), None)
            value = item.values.get(key) if key is not None else None
            try:
                row[col.name] = parse_value(col, value)
            except BadValue as exc:
                problems.append(f"{col.delivered}: {exc}")
                continue
            if col.name in dated and _after(row[col.name], limit):
                problems.append(f"{col.delivered}: after the file's delivery "
                                f"({limit:%Y-%m-%d %H:%M} with tolerance): {value!r}")
        if problems:
            bad.append((item.row_number, "; ".join(problems), _raw_text(item.values)))
        else:
            row["_row_number"] = item.row_number
            rows.append(row)
            raws[item.row_number] = _raw_text(item.values)
    return Parsed(rows, bad, raws, notes)


def load_row_file(feed: S.Feed, path: Path, cfg: Settings, duplicate_of: str | None = None,
                  sha: str | None = None, version: FileVersion = FIRST) -> FileResult:
    """Load one delivered file record by record into raw/<source>/<feed>/<file>-<sha12>/."""
    sha = sha or sha256_file(path)
    loaded_at = now()
    try:
        parsed = parse_delivery(feed, path)
    except OSError:
        raise  # the landing or the machine, not the file's content: the next run tries again
    except Exception as exc:  # noqa: BLE001 - any failure inside a reader is the file's verdict
        # A reader that fails on content no rule foresaw (a parser's own error, a recursion
        # limit) rejects this file, not the department's run.
        return commit_rejected(feed, path, sha, cfg, f"unreadable: {exception_text(exc)}",
                               duplicate_of=duplicate_of, version=version)
    rows, bad, notes, rejected = parsed.rows, parsed.bad, parsed.notes, parsed.rejected
    if duplicate_of and (rows or bad):
        # Same bytes already loaded under another name: keep the rows traceable, load nothing.
        reason = f"duplicate delivery: identical content already loaded from {duplicate_of}"
        bad = sorted([(n, f"{reason} (there: {why})", raw) for n, why, raw in bad]
                     + [(r["_row_number"], reason, parsed.raws[r["_row_number"]]) for r in rows])
        rows = []
    delivered = len(rows) + len(bad)
    status = file_status(delivered, len(rows), bool(duplicate_of), rejected)

    def write(folder: Path) -> pa.Table:
        lineage = {"_source_file": path.name, "_file_sha256": sha, "_loaded_at": loaded_at,
                   "_file_version": version.number}
        for r in rows:
            r.update(lineage)
        write_parquet(pa.Table.from_pylist(rows, schema=raw_schema(feed)), folder / "rows.parquet")
        write_parquet(pa.Table.from_pylist([
            {"source": feed.source, "feed": feed.feed, "file_name": path.name, "row_number": n,
             "reason": why, "raw_record": raw, "file_sha256": sha, "quarantined_at": loaded_at}
            for n, why, raw in bad
        ], schema=QUARANTINE), folder / "quarantine.parquet")
        return reconciliation_table(
            feed, path, sha, loaded_at, delivered=delivered, loaded=len(rows),
            quarantined=len(bad), status=status, duplicate_of=duplicate_of, notes=notes,
            version=version)

    commit_load(feed, path, sha, cfg, write, version)
    log.info("%s/%s %s: %s, delivered %d = loaded %d + quarantined %d", feed.source, feed.feed,
             path.name, status, delivered, len(rows), len(bad))
    return FileResult(path.name, status, delivered, len(rows), len(bad))
