"""Prepare the staging copy of the warehouse that dbt builds, the gate validates and publish promotes.

The build copy is made fresh for every build: the raw layer (Parquet, one folder per delivered
file) is loaded into `raw.<source>__<feed>` tables, and the audit trail into
`audit.reconciliation` and `audit.quarantine`. dbt then builds staging, intermediate and marts
beside them. Nothing here touches the published warehouse.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb
import pyarrow as pa

from citysafety import ingest
from citysafety import sources as S
from citysafety.config import Settings, settings

log = logging.getLogger(__name__)


def _parquet_list(paths: list[Path]) -> str:
    # Paths are ours (sha-named folders under CITYSAFETY_HOME), quoted as SQL string literals.
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def _load(con: duckdb.DuckDBPyConnection, table: str, files: list[Path], schema: pa.Schema) -> int:
    if files:
        con.execute(f"create table {table} as select * from read_parquet({_parquet_list(files)}, "
                    "union_by_name = true)")
    else:
        empty = schema.empty_table()  # noqa: F841  (read by DuckDB's replacement scan)
        con.execute(f"create table {table} as select * from empty")
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def prepare_build(cfg: Settings | None = None) -> dict[str, int]:
    """Create a fresh build copy holding raw and audit tables. Returns row counts by table."""
    cfg = cfg or settings()
    cfg.build_dir.mkdir(parents=True, exist_ok=True)
    for path in (cfg.build_db, cfg.build_db.with_suffix(".duckdb.wal")):
        if path.exists():
            path.unlink()
    counts: dict[str, int] = {}
    con = duckdb.connect(str(cfg.build_db))
    try:
        con.execute("create schema raw")
        con.execute("create schema audit")
        recon_files, quarantine_files = [], []
        for feed in S.all_feeds():
            loads = ingest.loads(feed, cfg)
            counts[feed.raw_table] = _load(con, feed.raw_table, [p / "rows.parquet" for p in loads],
                                           ingest.raw_schema(feed))
            recon_files += [p / "reconciliation.parquet" for p in loads]
            quarantine_files += [p / "quarantine.parquet" for p in loads]
        counts["audit.reconciliation"] = _load(con, "audit.reconciliation", recon_files,
                                               ingest.RECONCILIATION)
        counts["audit.quarantine"] = _load(con, "audit.quarantine", quarantine_files,
                                           ingest.QUARANTINE)
        con.execute("checkpoint")
    finally:
        con.close()
    log.info("build copy %s prepared: %s", cfg.build_db, counts)
    return counts


def dbt_env(cfg: Settings | None = None) -> dict[str, str]:
    """Environment for a dbt invocation against the build copy."""
    cfg = cfg or settings()
    return {**os.environ, "CITYSAFETY_HOME": str(cfg.home)}
