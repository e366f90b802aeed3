"""dbt run against the build copy as a subprocess (benchmarks, tests, source freshness; the DAG's
model nodes run through cosmos)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from citysafety.config import DBT_BUILD_ENV, DBT_PROJECT_DIR, Settings, as_of_date, duckdb_memory_limit, settings


def run_dbt(args: list[str], cfg: Settings | None = None, ok_codes: tuple[int, ...] = (0,)) -> None:
    """Run dbt against the build copy (for benchmarks and tests; DAGs use cosmos).

    A subprocess, so that no DuckDB handle outlives it in the caller (dbt-duckdb keeps its
    database open for the life of the process), with a target path inside the build folder so
    it never races cosmos or a developer's `dbt_project/target`.
    """
    cfg = cfg or settings()
    project = str(DBT_PROJECT_DIR)
    env = {**os.environ, "CITYSAFETY_HOME": str(cfg.home),
           "CITYSAFETY_DUCKDB_MEMORY_LIMIT": duckdb_memory_limit(), **DBT_BUILD_ENV}
    # The as-of date reaches dbt through the environment (macros/as_of_date.sql says why).
    env.pop("CITYSAFETY_AS_OF_DATE", None)
    if as_of_date():
        env["CITYSAFETY_AS_OF_DATE"] = as_of_date()
    done = subprocess.run([
        str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", project,
        "--profiles-dir", project, "--target-path", str(cfg.build_dir / "dbt_target"),
        "--log-path", str(cfg.build_dir / "dbt_logs"),
    ], env=env, capture_output=True, text=True)
    if done.returncode not in ok_codes:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{done.stdout[-5000:]}{done.stderr[-2000:]}")
