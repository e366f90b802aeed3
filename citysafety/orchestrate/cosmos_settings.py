"""Cosmos settings for the mart build: one `dbt build` for the whole run, one Airflow task per dbt
node showing how that node went (cosmos's watcher execution mode)."""

from __future__ import annotations

import datetime as dt

from citysafety import config
from citysafety.orchestrate import queues
from citysafety.orchestrate.producer import tune as tune_producer
from citysafety.orchestrate.runner import VENV_BIN

# How often the waiting node tasks look for their nodes' results (seconds): it bounds how long a
# node task trails its node. The node tasks of a run share one read a poll (the producer's state
# and its statuses in one XCom, node_trigger._RunView): two calls to the API server a second
# whatever the number of nodes (one call per node and poll, every 3 s, before).
WATCHER_POKE_INTERVAL = 1


def dbt_task_group_args() -> dict:
    """Cosmos configuration for the mart build (ExecutionMode.WATCHER).

    One task (`dbt_producer_watcher`) runs a single `dbt build` of the project on the build copy,
    as the dbt CLI would; every model and seed keeps a task of its own (`<model>_run`) and every
    model with tests a task for them (`<model>_test`), which wait (deferred, in the triggerer)
    for the producer to report that node and take its status and log lines. A node task that is
    cleared or retried after the producer finished runs dbt for its node alone (cosmos's
    fallback): the retry of one failed model from the UI.

    The cosmos default (ExecutionMode.LOCAL, one dbt process per node) took 3x a `dbt build`
    under the scheduler (README, performance).
    """
    from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import (
        ExecutionMode, InvocationMode, LoadMode, TestBehavior, TestIndirectSelection,
    )

    tune_producer()
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
            execution_mode=ExecutionMode.WATCHER,
            # The producer runs dbt in its own task process (no second interpreter to start).
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=VENV_BIN / "dbt",
            # A test runs after the last of its parents, not after the first (a relationships
            # test on a model would otherwise run with the seed it references, too early).
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        ),
        "render_config": RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            # The watcher mode has no per-node `dbt build` task (TestBehavior.BUILD): the
            # producer's `dbt build` runs each model's tests right after it, and each model's
            # tests get a task of their own that shows their aggregated result.
            test_behavior=TestBehavior.AFTER_EACH,
            emit_datasets=False,
        ),
        "operator_args": {
            "install_deps": False,
            # Resolved when the run starts (the build DAG's plan_build task), not at parse;
            # passed in the environment, which keeps dbt's partial parse (macros/as_of_date.sql).
            "env": {"CITYSAFETY_AS_OF_DATE": AS_OF_TEMPLATE, **config.DBT_BUILD_ENV},
            "poke_interval": WATCHER_POKE_INTERVAL,
            # A hung build fails and a failed node is retried (alone, by cosmos's fallback).
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


def finish_group(group) -> None:
    """What the group needs beyond cosmos's rendering.

    - the producer's `dbt build` takes the run's plan (`--select`, citysafety.mart.plan);
    - cosmos's `dbt_producer_watcher_done` (an empty task that keeps a skipped producer retry
      from skipping what follows the group) gets the settings of the other dbt tasks, so that
      every task of the DAG has a timeout and retries (tests/test_dags.py).
    - Under the scheduler, every node task starts when the run starts and, unless it failed,
      ends in the triggerer as soon as the producer reports its node
      (citysafety.orchestrate.node_trigger): no worker process for a node the producer built,
      no wait for the upstream node tasks to end first (their edges stay in the graph).
    - Where the DAG runs one task at a time in one process (`airflow dags test`, `make
      pipeline`), the node tasks that start the group come after the dbt producer. Under the
      scheduler they run beside it, waiting (deferred) for their node; run one at a time, a node
      task picked before the producer would wait for a build that cannot start, until its
      timeout. After it, each finds its node's result at once.
    """
    from cosmos.constants import PRODUCER_WATCHER_DONE_TASK_ID, PRODUCER_WATCHER_TASK_ID

    from citysafety.orchestrate import node_trigger

    prefix = f"{group.group_id}."
    tasks = {t.task_id: t for t in group.dag.tasks if t.task_id.startswith(prefix)}
    producer = tasks[prefix + PRODUCER_WATCHER_TASK_ID]
    done = tasks[prefix + PRODUCER_WATCHER_DONE_TASK_ID]
    for attr in ("retries", "retry_delay", "retry_exponential_backoff", "execution_timeout", "queue"):
        setattr(done, attr, getattr(producer, attr))
    # The producer builds what the run's plan selects (a template field of cosmos's operators);
    # a node it does not build keeps its table from the last build and its task ends at once.
    producer.select = SELECT_TEMPLATE
    nodes = {task_id: task for task_id, task in tasks.items()
             if task_id not in (prefix + PRODUCER_WATCHER_TASK_ID, prefix + PRODUCER_WATCHER_DONE_TASK_ID)}
    if not config.in_process_run():
        for task in nodes.values():
            node_trigger.start_in_triggerer(task, task.execution_timeout,
                                            [u for u in task.upstream_task_ids if u in nodes])
        return
    for task in nodes.values():
        if not any(u.startswith(prefix) for u in task.upstream_task_ids):
            producer >> task


# The build plan task (citysafety.mart.plan) and what the dbt nodes read from its XCom when they
# start: the run's as-of date (resolved when the run starts) and the producer's `--select`.
PLAN_TASK = "plan_build"
AS_OF_TEMPLATE = "{{ ti.xcom_pull(task_ids='" + PLAN_TASK + "')['as_of'] }}"
SELECT_TEMPLATE = "{{ ti.xcom_pull(task_ids='" + PLAN_TASK + "')['select'] }}"
