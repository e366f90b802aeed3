"""Prepare the staging copy of the warehouse that dbt builds, the gate validates and publish promotes.

The build copy lives in `build/` and persists between builds, so that incremental models (the
sensor feed) only process new data. Before every build the raw layer (Parquet, one folder per
delivered file) is re-read into `raw.<source>__<feed>`: small feeds as tables, the
high-volume feed as a view over its Parquet files; the audit trail goes into
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


_DUCKDB_TYPES = {
    pa.string(): "varchar", pa.int64(): "bigint", pa.float64(): "double",
    pa.timestamp("us"): "timestamp", pa.date32(): "date", pa.bool_(): "boolean",
}


def _empty_select(schema: pa.Schema) -> str:
    cols = ", ".join(f'cast(null as {_DUCKDB_TYPES[f.type]}) as "{f.name}"' for f in schema)
    return f"select {cols} where false"


def _load(con: duckdb.DuckDBPyConnection, table: str, files: list[Path], schema: pa.Schema,
          storage: str = "table") -> int:
    source = (f"select * from read_parquet({_parquet_list(files)}, union_by_name = true)"
              if files else _empty_select(schema))
    schema, name = table.split(".")
    existing = con.execute(
        "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name]).fetchone()
    if existing:  # DuckDB refuses "drop view" on a table and the reverse
        con.execute(f"drop {'view' if existing[0] == 'VIEW' else 'table'} {table}")
    con.execute(f"create {'view' if storage == 'view' else 'table'} {table} as {source}")
    if storage == "view":
        return len(files)  # files, not rows: counting would read the whole feed
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def prepare_build(cfg: Settings | None = None) -> dict[str, int]:
    """Refresh the raw and audit tables of the build copy. Returns row counts by table."""
    cfg = cfg or settings()
    cfg.build_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(cfg.build_db))
    try:
        con.execute("create schema if not exists raw")
        con.execute("create schema if not exists audit")
        recon_files, quarantine_files = [], []
        for feed in S.all_feeds():
            loads = ingest.loads(feed, cfg)
            counts[feed.raw_table] = _load(con, feed.raw_table, [p / "rows.parquet" for p in loads],
                                           ingest.raw_schema(feed), feed.build_storage)
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


def run_dbt(args: list[str], cfg: Settings | None = None) -> None:
    """Run dbt against the build copy (for benchmarks and tests; DAGs use cosmos).

    A subprocess, so that no DuckDB handle outlives it in the caller (dbt-duckdb keeps its
    database open for the life of the process), with a target path inside the build folder so
    it never races cosmos or a developer's `dbt_project/target`.
    """
    import subprocess
    import sys

    from citysafety.config import DBT_PROJECT_DIR

    from citysafety.config import as_of_date

    cfg = cfg or settings()
    project = str(DBT_PROJECT_DIR)
    if as_of_date() and "--vars" not in args:
        args = [*args, "--vars", f"{{as_of_date: '{as_of_date()}'}}"]
    done = subprocess.run([
        str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", project,
        "--profiles-dir", project, "--target-path", str(cfg.build_dir / "dbt_target"),
        "--log-path", str(cfg.build_dir / "dbt_logs"),
    ], env={**os.environ, "CITYSAFETY_HOME": str(cfg.home)}, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{done.stdout[-5000:]}{done.stderr[-2000:]}")


def build_and_publish(cfg: Settings | None = None, dbt_args: tuple[str, ...] = ()) -> dict:
    """The build DAG's steps in one process: refresh raw, dbt build, gate, publish."""
    from citysafety import publish, quality

    cfg = cfg or settings()
    prepare_build(cfg)
    run_dbt(["build", *dbt_args], cfg)
    quality.validate(cfg)
    return publish.publish(cfg)
