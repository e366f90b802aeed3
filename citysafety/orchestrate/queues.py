"""Where each task runs: the one place that assigns Celery queues (and the retries that make a
lost worker harmless), read from citysafety.config. The DAGs call these helpers.

DuckDB allows one writing process per file and its lock keeps out readers too, and the build copy
lives on one machine's disk. So every task that opens `build/citysafety.duckdb` (prepare_build,
source freshness, the dbt models, the quality gate, publish) and the export that reads what publish
wrote go to one queue, `config.duckdb_queue()`, served by one worker with a single slot on the
machine that holds the build copy. Everything else (department ingests, pulls, small tasks that
touch no DuckDB file) goes to `config.default_queue()`, served by every other worker.

The embedded profile's executor ignores queues: the same DAGs run unchanged there.
"""

from __future__ import annotations

from datetime import timedelta

from citysafety import config


def build_copy() -> dict:
    """Task arguments of a task that opens the DuckDB build copy (or must run on its machine)."""
    return {"queue": config.duckdb_queue()}


def anywhere() -> dict:
    """Task arguments of a task any worker may run (department ingests)."""
    return {"queue": config.default_queue()}


def dag_default_args() -> dict:
    """default_args every DAG adds: in the celery profile, a task that declares no retries of its
    own is retried once its worker is lost (config.worker_loss_retries); tasks with their own
    retries (network pulls, dbt) keep them. The embedded profile runs on one machine, where a lost
    worker is a lost scheduler too: nothing to add (a failing gate fails at once)."""
    if config.profile() != "celery":
        return {}
    return {"retries": config.worker_loss_retries(),
            "retry_delay": timedelta(seconds=config.retry_delay_seconds())}
