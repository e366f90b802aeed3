"""dbt source freshness, run with each build: how long ago the platform last loaded each feed.

The agreements' cadences are declared on the dbt sources (`freshness: warn_after/error_after`
on `_loaded_at`, the time a row was loaded). `check()` runs `dbt source freshness` on the build
copy and writes one row per source table to `audit.source_freshness` (published with the
audit schema, shown on 数据健康). The gate (`citysafety.mart.quality.validate`) reads it: a feed
past `error_after` stops the publish; `warn` is shown, not blocking; a feed that has never
delivered (`no_data`) does not block either (a department not delivering yet).
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import duckdb

from citysafety.config import Settings, settings

log = logging.getLogger(__name__)

TABLE = "audit.source_freshness"
PASS, WARN, ERROR, NO_DATA = "pass", "warn", "error", "no_data"
# The table's columns, declared once (the build copy's table, the dashboard tests' fixture).
COLUMNS = """checked_at timestamp, source varchar, table_name varchar, status varchar,
    max_loaded_at timestamp, hours_since_load double, warn_after varchar, error_after varchar"""


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    """An empty audit.source_freshness when the build copy has none yet: dbt reads it
    (marts.rpt_data_health_source_freshness), also in a build run without the check."""
    con.execute("create schema if not exists audit")
    con.execute(f"create table if not exists {TABLE} ({COLUMNS})")


def _after(criteria: dict | None, key: str) -> str | None:
    spec = (criteria or {}).get(key) or {}
    return f"{spec['count']} {spec['period']}" if spec.get("count") is not None else None


def rows_from(results: dict, checked_at: dt.datetime) -> list[tuple]:
    """The rows of audit.source_freshness from dbt's sources.json."""
    rows = []
    for r in results.get("results", []):
        _, _, source, table = r["unique_id"].split(".", 3)
        loaded = r.get("max_loaded_at")
        loaded_at = dt.datetime.fromisoformat(loaded).astimezone(dt.timezone.utc).replace(tzinfo=None) if loaded else None
        status = str(r.get("status"))
        if loaded_at is None or loaded_at.year < 2:  # dbt's "no rows": 0001-01-01
            loaded_at, status = None, NO_DATA
        elif status not in (PASS, WARN, ERROR):
            status = ERROR  # a runtime error: the table could not be checked
        age = r.get("max_loaded_at_time_ago_in_s") if loaded_at else None
        rows.append((checked_at, source, table, status, loaded_at,
                     None if age is None else round(float(age) / 3600, 2),
                     _after(r.get("criteria"), "warn_after"), _after(r.get("criteria"), "error_after")))
    return rows


def check(cfg: Settings | None = None) -> dict:
    """Run dbt source freshness on the build copy and record the verdicts; returns the count of
    each status (never raises for stale sources: the gate decides)."""
    from citysafety.mart.dbt_runner import run_dbt

    cfg = cfg or settings()
    target = cfg.build_dir / "dbt_target"
    results_path = target / "sources.json"
    results_path.unlink(missing_ok=True)
    # dbt exits 1 when a source is past error_after: that is a verdict, not a failure here.
    run_dbt(["source", "freshness"], cfg, ok_codes=(0, 1))
    if not results_path.exists():
        raise RuntimeError(f"dbt source freshness wrote no {results_path}")
    checked_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    rows = rows_from(json.loads(results_path.read_text(encoding="utf-8")), checked_at)
    con = duckdb.connect(str(cfg.build_db))
    try:
        con.execute("create schema if not exists audit")
        con.execute(f"create or replace table {TABLE} ({COLUMNS})")
        con.executemany(f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    finally:
        con.close()
    summary = {s: sum(r[3] == s for r in rows) for s in (PASS, WARN, ERROR, NO_DATA)}
    log.info("source freshness: %s", summary)
    return summary


def errors(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(source.table, reason) of the sources past error_after, as gate failures (none when
    freshness was not checked)."""
    schema, table = TABLE.split(".")
    present = con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
                          [schema, table]).fetchone()[0]
    if not present:
        return []
    return [(f"{s}.{t}", f"source freshness: {s}.{t} last loaded {h:.0f} h ago (error after {e})")
            for s, t, h, e in con.execute(
                f"select source, table_name, hours_since_load, error_after from {TABLE} "
                "where status = ? order by source, table_name", [ERROR]).fetchall()]
