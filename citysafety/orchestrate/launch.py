"""Airflow's components as the platform starts them: `python -m citysafety.orchestrate.launch
<airflow arguments>` is `airflow <arguments>`, with two things prepared first.

**The task libraries imported in the components whose tasks are forks of them.** On Linux every
task process is a fork: the LocalExecutor's workers are forks of the scheduler (multiprocessing's
default start method), a Celery worker's pool processes forks of the worker, and the task SDK's
supervisor forks each task from those (`os.fork`, no exec). A library the parent imported before
it forked is in every task at no cost (copy-on-write), where otherwise each task process imports
it again: Great Expectations (~2 s), dbt (~1 s), cosmos's watcher, Airflow's task runner.
build_mart runs half a dozen such processes one after another on the way from a delivered file
to the published mart. Only third-party libraries: the project's own modules (`citysafety`, the
DAG files) are still read by each task, so an edit reaches the next task without a restart.
Importing is all that happens: no connection, no thread of ours, nothing opened before the fork.

**No request to the DAG processor for a task a trigger ended successfully.** Airflow 3.3 sends
one for every task that ends in the triggerer (models/trigger.py, handle_event_submit), and the
DAG processor parses the DAG file for it, then ignores it: it runs a task's failure and retry
callbacks only (dag_processing/processor.py, _execute_task_callbacks). build_mart's ~145 dbt node
tasks end in the triggerer at every build (orchestrate/node_trigger.py): ~38 parses of the DAG
file and 4-6 s of CPU beside the build, for nothing (measured on the bench's small home). The
triggerer drops those; failure and retry requests, and a DAG's own callbacks, go as before.
tests/test_launch.py checks both against the installed Airflow.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

# Imported before Airflow configures its logging: Great Expectations logs ~100 lines at import
# ("Skipping registering function ...") that would otherwise land in the component's log.
TASK_LIBRARIES = (
    "great_expectations",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "duckdb",
    "pyarrow.parquet",
    "pandas",
    "cosmos.operators.watcher",
    "cosmos.converter",
    "airflow.sdk.execution_time.task_runner",
)

# The components whose tasks are forks of them (the API server, DAG processor and triggerer run
# no task), and the one that ends tasks from triggers.
FORKING = (("scheduler",), ("celery", "worker"))
TRIGGERER = (("triggerer",),)


def _is(args: list[str], components: tuple[tuple[str, ...], ...]) -> bool:
    return any(tuple(args[:len(c)]) == c for c in components)


def command(args: list[str], venv_bin: Path) -> list[str]:
    """The command that runs `airflow <args>`: through this module for a component it prepares,
    Airflow's own entry point for the others."""
    if _is(args, FORKING + TRIGGERER):
        return [str(venv_bin / "python"), "-m", __name__, *args]
    return [str(venv_bin / "airflow"), *args]


def preload() -> list[str]:
    """Import TASK_LIBRARIES; those that cannot be imported are left to the tasks (which then
    fail, or not, as they would have without this)."""
    loaded = []
    for name in TASK_LIBRARIES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - preparing is an optimisation, never a new failure
            continue
        loaded.append(name)
    return loaded


def drop_ignored_task_callbacks() -> None:
    """Make Airflow's database callback sink drop the task callback requests the DAG processor
    ignores (a task's success), in this process."""
    from airflow.callbacks.callback_requests import TaskCallbackRequest
    from airflow.callbacks.database_callback_sink import DatabaseCallbackSink

    send = DatabaseCallbackSink.send
    if getattr(send, "_citysafety_drops_ignored", False):
        return

    def send_unless_ignored(self, callback, **kwargs):
        if isinstance(callback, TaskCallbackRequest) and not callback.is_failure_callback:
            return None
        return send(self, callback, **kwargs)

    send_unless_ignored._citysafety_drops_ignored = True  # type: ignore[attr-defined]
    DatabaseCallbackSink.send = send_unless_ignored  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if _is(args, FORKING):
        preload()
    if _is(args, TRIGGERER):
        drop_ignored_task_callbacks()
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", *args]
    airflow_main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
