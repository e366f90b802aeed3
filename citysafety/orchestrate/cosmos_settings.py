"""Cosmos settings for the mart build: one Airflow task per dbt node, tests after each."""

from __future__ import annotations

import datetime as dt

from citysafety import config
from citysafety.orchestrate import queues
from citysafety.orchestrate.runner import VENV_BIN


def dbt_task_group_args() -> dict:
    """Cosmos configuration for the mart build: one task per dbt node, tests after each."""
    from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import (
        ExecutionMode, InvocationMode, LoadMode, TestBehavior, TestIndirectSelection,
    )

    project = config.DBT_PROJECT_DIR
    return {
        "project_config": ProjectConfig(
            dbt_project_path=project,
            manifest_path=project / "target" / "manifest.json",
            install_dbt_deps=False,
        ),
        "profile_config": ProfileConfig(
            profile_name="citysafety",
            target_name="build",
            profiles_yml_filepath=project / "profiles.yml",
        ),
        "execution_config": ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=VENV_BIN / "dbt",
            # A test runs after the last of its parents, not after the first (a relationships
            # test on a model would otherwise run with the seed it references, too early).
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        ),
        "render_config": RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            # One task per node running `dbt build` on it: the model, then its tests.
            test_behavior=TestBehavior.BUILD,
            emit_datasets=False,
        ),
        "operator_args": {
            "install_deps": False,
            # Resolved when the run starts (the build DAG's resolve_as_of_date task), not at parse.
            "vars": {"as_of_date": AS_OF_TEMPLATE},
            # dbt runs in a subprocess-like runner: a hung node fails and is retried, not kept.
            "retries": 1,
            "retry_delay": dt.timedelta(minutes=1),
            "retry_exponential_backoff": True,
            "execution_timeout": dt.timedelta(seconds=config.task_timeouts()["dbt"]),
            # Each node writes the DuckDB build copy: the single-slot queue on its machine. (In
            # cosmos's watcher mode only the producer writes: it takes the queue from
            # [cosmos] watcher_dbt_execution_queue, set by the celery profile, and the model
            # sensors must not hold the single slot while the producer waits for it.)
            **queues.build_copy(),
        },
    }


# The as-of date task of build_mart and the template the dbt nodes read it through.
AS_OF_TASK = "resolve_as_of_date"
AS_OF_TEMPLATE = "{{ ti.xcom_pull(task_ids='" + AS_OF_TASK + "') }}"
