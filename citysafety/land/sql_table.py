"""Pull a table of a department's SQL database incrementally by `updated_at` (grid/hazard_reports).

The grid-governance platform (网格化治理平台) is a PostgreSQL database in production and a
SQLite file in the demo. The table, its id and its watermark column are the registry's
(`GRID_HAZARD_REPORTS.pull`). Its address is the Airflow connection `grid_db` (the registry's
`Pull.connection`, `citysafety.config.GRID_DB_CONN_ID`; `AIRFLOW_CONN_GRID_DB` resolves too), turned into the
SQLAlchemy URL the agreement calls GRID_DB_URL (`postgresql+psycopg://...`, `sqlite:////abs/path`).
A connection whose extra holds `sqlalchemy_url` is used as that URL verbatim.

One pull:

1. reads the watermark `landing/<source>/<feed>/.watermark.json` (none: pull everything);
2. selects the agreement's columns `where updated_at >= :watermark order by updated_at, report_id`
   (a bound parameter, never formatted into the SQL), streamed in batches of `batch_size`;
3. writes every row as one JSON line (dates and timestamps ISO-8601, booleans true/false,
   UTF-8 unescaped) into a hidden temporary file (`citysafety.files.atomic_stream`), renamed into place as
   `<feed>_<UTC stamp>.jsonl` when whole, so the ingest loads it like any delivery;
4. only then moves the watermark on. Nothing new: no file, watermark unchanged, returns None.

Ties at the watermark. Many rows can share one `updated_at` (a street office closes a batch of
hazards in one statement), and a row can commit after the pull with the same `updated_at` as
rows already pulled. A strict `updated_at > :watermark` would lose such a row forever. The
watermark therefore keeps the last `updated_at` seen *and the ids of the rows pulled at exactly
that instant*; the next pull selects `>=` and drops only those (id, instant) pairs it has
already written. A changed row always gets a later `updated_at`, so it is never dropped; a row
seen before is never written twice. Should a pull die between renaming its extract and saving
the watermark, the next pull writes the same rows again: an identical version of a report,
which the dedup model (latest `updated_at` per `report_id`) collapses.

The comparison value is the column's own value as the database returned it (a datetime from
PostgreSQL, the stored text from SQLite), so the database compares and orders it the same way in
both clauses. Rows committed late with an `updated_at` *older* than the watermark (a long
transaction stamped at its start) cannot be seen by any `updated_at` pull; the source should
stamp at commit (or the platform would have to re-read a window before the watermark and
let dedup absorb the repeats). A row without `updated_at` (the agreement requires one) can only
be pulled by the first, full pull; it is written there and quarantined by the ingest with the
reason, not dropped unseen.

Nothing personal and no credential is logged: only counts, the extract name, the watermark
instant and the database's dialect/host/database name.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from citysafety import sources as S
from citysafety.config import Settings, settings
from citysafety.files import atomic_stream
from citysafety.land.extracts import (
    NotConfigured, airflow_connection, extract_dir, ids_field, read_watermark, stamp, write_watermark,
)

log = logging.getLogger(__name__)



# ------------------------------------------------------------------ connection -> SQLAlchemy URL

def connection_url(conn) -> "sqlalchemy.engine.URL":  # noqa: F821
    """SQLAlchemy URL of an Airflow connection (postgres or sqlite)."""
    from sqlalchemy.engine import URL, make_url

    extra = {}
    if getattr(conn, "extra", None):
        try:
            extra = json.loads(conn.extra)
        except ValueError:
            extra = {}
    if isinstance(extra, dict) and extra.get("sqlalchemy_url"):
        return make_url(extra["sqlalchemy_url"])
    conn_type = (conn.conn_type or "").lower()
    if conn_type == "sqlite":
        # sqlite:////abs/path -> schema '/abs/path'; Airflow's own form sqlite://%2Fabs%2Fpath -> host.
        path = conn.host or conn.schema
        if not path:
            raise NotConfigured(f"Airflow connection {conn.conn_id!r} names no SQLite file")
        return URL.create("sqlite", database=path)
    if conn_type in ("postgres", "postgresql") or conn_type.startswith("postgresql+"):
        driver = conn_type if conn_type.startswith("postgresql+") else "postgresql+psycopg"
        query = {k: str(v) for k, v in extra.items() if isinstance(v, (str, int, float))} \
            if isinstance(extra, dict) else {}
        return URL.create(driver, username=conn.login or None, password=conn.password or None,
                          host=conn.host or None, port=conn.port or None,
                          database=conn.schema or None, query=query)
    raise NotConfigured(f"Airflow connection {conn.conn_id!r} has type {conn_type!r}; "
                        "expected postgres or sqlite")


def configured_url(feed: S.Feed, conn_id: str | None = None):
    """The feed's database URL from its Airflow connection, or NotConfigured."""
    conn_id = conn_id or feed.pull.connection
    conn = airflow_connection(feed, conn_id)
    if isinstance(conn, str):
        from sqlalchemy.engine import make_url

        return make_url(conn.replace("postgres://", "postgresql+psycopg://", 1)
                        .replace("postgresql://", "postgresql+psycopg://", 1))
    return connection_url(conn)


def describe(url) -> str:
    """dialect://host/database, never the user or password."""
    host = f"{url.host}{':' + str(url.port) if url.port else ''}" if url.host else ""
    return f"{url.get_backend_name()}://{host}/{url.database or ''}"


# ------------------------------------------------------------------ watermark

def _encode_mark(value) -> dict:
    if isinstance(value, datetime):
        return {"value": value.isoformat(), "type": "datetime"}
    if isinstance(value, date):
        return {"value": value.isoformat(), "type": "date"}
    return {"value": str(value), "type": "text"}


def _decode_mark(mark: dict):
    kind, value = mark.get("type"), mark["value"]
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    return value


# ------------------------------------------------------------------ rows -> JSON

def _json_value(column: S.Column, value: Any):
    if value is None:
        return None
    if column.kind == S.BOOL and isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)  # SQLite keeps booleans as 0/1
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str) and column.kind in (S.DATETIME, S.DATE):
        try:  # SQLite stores '2024-03-01 10:00:00': write it ISO; leave anything else as delivered
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        if column.kind == S.DATE and len(value.strip()) <= 10:
            return parsed.date().isoformat()
        return parsed.isoformat()
    return value


# ------------------------------------------------------------------ the pull

def pull(feed: S.Feed, cfg: Settings | None = None, *, url=None,
         batch_size: int = 5000) -> Path | None:
    """Fetch the rows changed since the watermark into one extract; None when nothing is new.

    `url`: a SQLAlchemy URL (string or URL) instead of the Airflow connection `grid_db`.
    """
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    cfg = cfg or settings()
    spec = feed.pull
    if spec is None or spec.kind != "sql":
        raise ValueError(f"{feed.id} is not pulled from a SQL table")
    url = make_url(url) if url is not None else configured_url(feed)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")

    columns = list(feed.columns)
    delivered = [c.delivered for c in columns]
    key_index = delivered.index(spec.key)
    mark_index = delivered.index(spec.watermark)
    table = sa.table(spec.table, *[sa.column(name) for name in delivered])
    mark_col, key_col = table.c[spec.watermark], table.c[spec.key]

    state = read_watermark(feed, cfg)
    seen_at_mark: set[str] = set()
    stmt = sa.select(*table.c).order_by(mark_col, key_col)
    if state:
        since = _decode_mark(state[spec.watermark])
        seen_at_mark = set(state.get(ids_field(spec)) or [])
        stmt = stmt.where(mark_col >= sa.bindparam("watermark", since))

    folder = extract_dir(feed, cfg)
    folder.mkdir(parents=True, exist_ok=True)
    name = feed.file_glob.replace("*", stamp())
    target = folder / name
    written, skipped = 0, 0
    last_mark, ids_at_last = None, []
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn, atomic_stream(target) as out:
            result = conn.execution_options(yield_per=batch_size).execute(stmt)
            for batch in result.partitions(batch_size):
                for row in batch:
                    mark, key = row[mark_index], row[key_index]
                    if state and mark == since and str(key) in seen_at_mark:
                        skipped += 1  # already written by an earlier pull (tie at the watermark)
                        continue
                    record = {c.delivered: _json_value(c, v) for c, v in zip(columns, row)}
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    written += 1
                    if mark is None:
                        continue  # cannot be tracked: written once, quarantined by the ingest
                    if mark != last_mark:
                        last_mark, ids_at_last = mark, []
                    ids_at_last.append(str(key))
            if not written:
                out.discard()
    finally:
        engine.dispose()

    if not written:
        log.info("%s/%s: nothing new in %s since %s (%d boundary rows already pulled)",
                 feed.source, feed.feed, describe(url), state[spec.watermark]["value"] if state else "-",
                 skipped)
        return None
    if last_mark is None:  # only rows without updated_at: the watermark cannot move
        log.warning("%s/%s: %d rows without %s pulled into %s", feed.source, feed.feed, written,
                    spec.watermark, name)
        return target
    if state and last_mark == since:
        ids_at_last = sorted(seen_at_mark | set(ids_at_last))  # the boundary did not move
    write_watermark(feed, cfg, {
        spec.watermark: _encode_mark(last_mark),
        ids_field(spec): sorted(ids_at_last),
        "extract": name,
        "rows": written,
        "pulled_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    })
    log.info("%s/%s: %d rows from %s into %s; watermark %s", feed.source, feed.feed, written,
             describe(url), name, _encode_mark(last_mark)["value"])
    return target
