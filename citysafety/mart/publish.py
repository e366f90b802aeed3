"""Publish the validated build copy as the warehouse, atomically.

Only this module writes `warehouse/citysafety.duckdb`. The shared schemas (marts, audit) are
copied into a new file beside the live one, which then replaces it with `os.replace`: readers
holding the old file keep reading it, new readers see the new one, and a failure before the
swap leaves the last good warehouse untouched. Raw, staging and intermediate stay in the build
copy: they hold personal data and are not shared; the quarantine's raw records are published
with their personal fields masked.
"""

from __future__ import annotations

import logging
import os

import duckdb

from citysafety.config import Settings, settings
from citysafety.files import fsync
from citysafety.sql import ident, literal

log = logging.getLogger(__name__)

PUBLISHED_SCHEMAS = ("marts", "audit")


def publish(cfg: Settings | None = None) -> dict[str, int]:
    cfg = cfg or settings()
    cfg.warehouse_dir.mkdir(parents=True, exist_ok=True)
    tmp = cfg.warehouse_dir / f".citysafety.duckdb.{os.getpid()}.tmp"
    for stale in cfg.warehouse_dir.glob(".citysafety.duckdb.*.tmp*"):
        stale.unlink()
    counts: dict[str, int] = {}
    # Open the build copy and attach the new file to it (not the other way round): the build
    # copy may still be open in this process (dbt run in-process by cosmos), and DuckDB allows
    # one file one configuration per process.
    con = duckdb.connect(str(cfg.build_db))
    try:
        build = con.execute("select current_database()").fetchone()[0]
        con.execute(f"attach {literal(tmp)} as published")
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = ? and schema_name in (select unnest(?)) "
            "order by 1, 2", [build, list(PUBLISHED_SCHEMAS)]).fetchall()
        missing = set(PUBLISHED_SCHEMAS) - {s for s, _ in tables}
        if missing:
            raise RuntimeError(f"build copy lacks schemas {sorted(missing)}: nothing published")
        for schema, table in tables:
            con.execute(f"create schema if not exists published.{ident(schema)}")
            con.execute(f"create table published.{ident(schema)}.{ident(table)} as "
                        f"select * from {ident(build)}.{ident(schema)}.{ident(table)}")
            counts[f"{schema}.{table}"] = con.execute(
                f"select count(*) from published.{ident(schema)}.{ident(table)}").fetchone()[0]
        # Personal data stays in the raw layer: quarantined records are published masked.
        from citysafety.share.privacy import mask_quarantine

        mask_quarantine(con, "published")
        con.execute("detach published")
    finally:
        con.close()
    fsync(tmp)
    os.replace(tmp, cfg.warehouse_db)
    fsync(cfg.warehouse_dir)
    log.info("published %s: %s", cfg.warehouse_db, counts)
    return counts
