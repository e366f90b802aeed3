"""One small site for the browser tests of every page (tests/test_dashboard_browser.py).

The page tests' own fixture warehouses (tests/test_dashboard_*.py), each built in its own file
and merged into one published warehouse: a table that several fixtures hold (dim_streets, the
official indicators …) comes from the first fixture that has it (the order of ``FIXTURES``,
the fullest street list first). The analyst file of a street office is exported from it by the
product's own export (citysafety.share.exports), as a publish does.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from citysafety.config import Settings
from citysafety.share import exports
from dashboard_harness import warehouse_path

import test_dashboard_data_health
import test_dashboard_demonstration
import test_dashboard_education
import test_dashboard_emergency
import test_dashboard_enforcement
import test_dashboard_hazards
import test_dashboard_monitoring
import test_dashboard_overview
import test_dashboard_risk

FIXTURES = (
    test_dashboard_risk,
    test_dashboard_hazards,
    test_dashboard_overview,
    test_dashboard_monitoring,
    test_dashboard_enforcement,
    test_dashboard_emergency,
    test_dashboard_demonstration,
    test_dashboard_education,
    test_dashboard_data_health,
)


def build_site(home: Path, street_offices: tuple[str, ...] = ("street_wl",)) -> Path:
    """``home``'s published warehouse made of every page fixture, and the street offices' analyst
    files exported from it; returns ``home``."""
    parts = home / "fixture_parts"
    parts.mkdir(parents=True)
    target = warehouse_path(home)
    target.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(target))
    try:
        con.execute("create schema marts")
        con.execute("create schema audit")
        for number, module in enumerate(FIXTURES):
            part = parts / f"{module.__name__}.duckdb"
            module.build_warehouse(part)
            alias = f"part{number}"
            con.execute(f"attach '{part}' as {alias} (read_only)")
            have = set(con.execute(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_catalog = current_database()").fetchall())
            tables = con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = ? and table_schema in ('marts', 'audit')", [alias]).fetchall()
            for schema, table in tables:
                if (f"{schema}.{table}",) not in have:
                    con.execute(f"create table {schema}.{table} as select * from {alias}.{schema}.{table}")
            con.execute(f"detach {alias}")
    finally:
        con.close()
    if street_offices:
        exports.export_all(Settings(home=home), principals=list(street_offices))
    return home
