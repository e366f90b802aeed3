"""Personal data: which columns are personal, and how they are masked wherever they could leave.

The registry's personal columns (`Column(personal=True)`: contact names, phone numbers, resident
ID numbers) stay in the raw layer. `PERSONAL_COLUMNS` is what no export may carry (the access
policy refuses such a table, citysafety.share.policy.select_sql). `mask_raw_record()` masks them in
a delivered record as dbt's staging macros do (张**, 139****5678, 330103********1234);
`mask_quarantine()` applies it to `audit.quarantine.raw_record` of a database about to be
published (citysafety.mart.publish).
"""

from __future__ import annotations

import json
import re

from citysafety import sources as S
from citysafety.raw.readers.base import header_key
from citysafety.sql import ident


class PersonalDataError(RuntimeError):
    pass


PERSONAL_COLUMNS: frozenset[str] = frozenset(
    c.name for f in S.all_feeds() for c in f.columns if c.personal)

REDACTED = "（原始记录含个人信息，仅保留在原始层）"


def mask_name(value: str) -> str:
    text = str(value)
    return text[:1] + "**" if text else text


def mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", str(value))
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 7 else "****"


def mask_id_no(value: str) -> str:
    text = re.sub(r"\s", "", str(value))
    return text[:6] + "*" * (len(text) - 10) + text[-4:] if len(text) >= 15 else "****"


def mask_value(column: str, value):
    """A personal value masked by its column's kind (name, phone, resident ID number)."""
    if value is None or value == "":
        return value
    if column.endswith("_phone"):
        return mask_phone(value)
    if column.endswith("_id_no"):
        return mask_id_no(value)
    return mask_name(value)


def mask_raw_record(feed: S.Feed, raw: str | None) -> str | None:
    """A quarantined record of `feed` with its personal fields masked.

    Records read as fields (JSON text of header -> value) keep every other field; a record that
    could not be split into fields (a broken line) is replaced by a notice when the feed has
    personal columns, since where its personal values sit is unknown.
    """
    personal = {header_key(c.delivered): c.name for c in feed.columns if c.personal}
    if raw is None or not personal:
        return raw
    try:
        record = json.loads(raw)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        return REDACTED
    masked = {k: (mask_value(personal[header_key(k)], v) if header_key(k) in personal else v)
              for k, v in record.items()}
    return json.dumps(masked, ensure_ascii=False)


def mask_quarantine(con, catalog: str, schema: str = "audit") -> int:
    """Mask personal data in `<catalog>.<schema>.quarantine.raw_record` in place (a database
    about to be published, attached to `con`). Returns the number of records changed."""
    feeds = {(f.source, f.feed): f for f in S.all_feeds() if any(c.personal for c in f.columns)}
    table = f"{ident(catalog)}.{ident(schema)}.quarantine"
    exists = con.execute(
        "select count(*) from duckdb_tables() where database_name = ? and schema_name = ? "
        "and table_name = 'quarantine'", [catalog, schema]).fetchone()[0]
    if not exists:
        return 0
    rows = con.execute(f"select rowid, source, feed, raw_record from {table} "
                       "where raw_record is not null").fetchall()
    updates = []
    for rowid, source, feed_name, raw in rows:
        feed = feeds.get((source, feed_name))
        if feed is None:
            continue
        masked = mask_raw_record(feed, raw)
        if masked != raw:
            updates.append((masked, rowid))
    if updates:
        con.executemany(f"update {table} set raw_record = ? where rowid = ?", updates)
    return len(updates)
