"""Cosmos settings for the mart build: one Airflow task per dbt node, tests after each."""

from __future__ import annotations

from citysafety import config
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
        "operator_args": {"install_deps": False, **dbt_vars()},
    }


def dbt_vars() -> dict:
    as_of = config.as_of_date()
    return {"vars": {"as_of_date": as_of}} if as_of else {}
