"""Comparing published marts across homes: shared by the tests that rebuild after a failure
(test_resilience, test_chaos) and check the result against an undisturbed build."""

from __future__ import annotations

from pathlib import Path

import duckdb

# Columns that say when (and so in which order) loads happened, not what was delivered: two homes
# that loaded the same files in other runs differ there and nowhere else.
WHEN_LOADED = {
    "rpt_data_health_deliveries": ["last_loaded_at", "last_file_name", "last_status"],
    "rpt_data_health_quarantine_reasons": ["last_quarantined_at"],
    "rpt_data_health_source_freshness": ["max_loaded_at"],
    # the due time and the status follow from the last load; as_of_at is the build's day
    "rpt_data_health_feeds": ["last_loaded_at", "last_file_name", "last_status", "due_at", "as_of_at",
                              "status", "days_late"],
}


def mart_checksums(db: Path) -> dict[str, str]:
    """An order-independent checksum of every mart table (its load times left out)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1").fetchall()]

        def rows(t: str) -> str:
            skip = WHEN_LOADED.get(t)
            return f"(select * exclude ({', '.join(skip)}) from marts.{t})" if skip else f"marts.{t}"

        return {t: con.execute(
            f"select md5(coalesce(string_agg(t::varchar, '|' order by t::varchar), '')) "
            f"from {rows(t)} t").fetchone()[0] for t in tables}
    finally:
        con.close()
