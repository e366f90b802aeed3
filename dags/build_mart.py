"""
# Build, check and publish the city-safety mart (`build_mart`)

Runs when any landed feed (an Asset updated by an `ingest_<source>` DAG) changes:

1. `plan_build` resolves the day "now" means for this run (CITYSAFETY_AS_OF_DATE, else today in
   Beijing: when the run starts, never at parse) and decides what to rebuild: started by
   deliveries, the models downstream of the feeds they changed (and what reads the audit trail
   or the as-of date); otherwise everything. Every dbt node reads both from its XCom;
2. `prepare_build` refreshes the build copy of the warehouse with the raw layer and the audit
   trail (`audit.reconciliation`, `audit.quarantine`), then runs dbt source freshness on it (how
   long since each feed last loaded, against its agreed cadence) into `audit.source_freshness`;
3. `dbt` (astronomer-cosmos, watcher mode): `dbt_producer_watcher` runs one `dbt build` of the
   plan's selection of staging, intermediate and marts (each model's tests right after it); every model keeps a task
   (`<model>.run`, and `<model>.test` for its tests) that takes its status and log lines from
   that build as it goes; clearing a failed one reruns that node alone;
4. `validate_quality` runs the Great Expectations suites of `expectations/` (Data Docs under
   `$CITYSAFETY_HOME/quality/`) and reads the freshness verdicts; a failed expectation or a feed
   past its `error_after` stops the run with its reasons;
5. `publish_warehouse` atomically replaces `warehouse/citysafety.duckdb`. Until then readers
   keep the last good mart.
6. `export_departments` writes each department's and street office's export and analyst file
   under `exports/<name>/current/` as `policy/access.yml` allows (one publish per folder).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetAny, dag, task
from cosmos import DbtTaskGroup

from citysafety import config, sources
from citysafety.orchestrate import queues
from citysafety.orchestrate.assets import feed_asset, warehouse_asset
from citysafety.orchestrate.cosmos_settings import (
    PLAN_TASK, dbt_task_group_args, finish_group,
)

FEEDS = [feed_asset(f) for f in sources.all_feeds()]
TIMEOUTS = config.task_timeouts()  # settings only: no I/O at import


@dag(
    dag_id="build_mart",
    description="Build the mart from the raw layer, validate it, publish it atomically",
    doc_md=__doc__,
    # Any updated feed triggers a rebuild (AssetAny); the build always reads every feed.
    schedule=AssetAny(*FEEDS),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    # One DuckDB writer at a time (stack notes: Conflicting lock): the writers (prepare_build
    # with the freshness check, the dbt producer, the gate, publish) follow one another by their
    # dependencies; the per-node tasks of the dbt group only read XComs while the producer runs,
    # so they may run beside it. A node rerun alone (cleared, retried) waits for the lock (the
    # profile's connect retries) rather than fail on it.
    max_active_tasks=16,
    tags=["build", "dbt", "quality"],
    default_args={"owner": sources.PLATFORM_OWNER, **queues.dag_default_args()},
)
def build_mart():
    # On the build machine: the plan's state (what was last published) lies beside the build copy.
    # One task for both (the as-of date and the plan): every task is a process of its own.
    @task(task_id=PLAN_TASK, execution_timeout=timedelta(seconds=TIMEOUTS["gate"]), **queues.build_copy())
    def plan_build() -> dict:
        """The day "now" means for this run's mart (`as_of`: CITYSAFETY_AS_OF_DATE, else today in
        Beijing), resolved when the run starts, and what this build rebuilds (`select`): the
        models downstream of the feeds whose deliveries started the run (citysafety.mart.plan),
        or everything when it was not started by deliveries. The dbt nodes read both from here."""
        from airflow.sdk import get_current_context

        from citysafety.mart import plan

        context = get_current_context()
        run = context["dag_run"]
        changed = None
        if run.run_type == "asset_triggered":
            changed = sorted({event.asset.name for events in context["triggering_asset_events"].values()
                              for event in events})
        elif isinstance((run.conf or {}).get("changed_feeds"), list):
            # `make pipeline` names the feeds its ingests loaded (a trigger from the UI may too)
            changed = sorted(str(f) for f in run.conf["changed_feeds"])
        planned = plan.plan(changed, config.resolved_as_of_date())
        print(f"build plan as of {planned['as_of']}: {planned['reason']}\n--select {planned['select']}")
        return planned

    # Every task that opens the DuckDB build copy: the single-slot queue (queues.build_copy).
    # The freshness check belongs to the refresh (it reads the loads just refreshed) and runs in
    # its task: a task of its own cost a process start and a scheduling round (~1.5 s a build).
    @task(execution_timeout=timedelta(seconds=TIMEOUTS["load"] + TIMEOUTS["dbt"]), **queues.build_copy())
    def prepare_build() -> dict:
        """Refresh the build copy with the raw layer and the audit trail, then run dbt source
        freshness on it: verdicts to audit.source_freshness (the gate stops a publish when a feed
        is past error_after; 数据健康 shows warnings)."""
        from citysafety.mart.build import prepare_build as prepare
        from citysafety.mart.freshness import check

        tables = prepare()
        return {"tables": tables, "freshness": check()}

    @task(execution_timeout=timedelta(seconds=TIMEOUTS["gate"]), **queues.build_copy())
    def validate_quality() -> dict:
        from citysafety.mart.quality import validate

        return validate()

    @task(outlets=[warehouse_asset()], execution_timeout=timedelta(seconds=TIMEOUTS["publish"]),
          **queues.build_copy())
    def publish_warehouse(planned: dict) -> dict:
        from citysafety.mart import plan
        from citysafety.mart.publish import publish

        result = publish()
        plan.published(planned)
        return result

    @task(execution_timeout=timedelta(seconds=TIMEOUTS["export"]), **queues.build_copy())
    def export_departments() -> dict:
        from citysafety.share.exports import export_all

        return export_all()

    dbt = DbtTaskGroup(group_id="dbt", **dbt_task_group_args())
    finish_group(dbt)
    planned = plan_build()
    (planned >> prepare_build() >> dbt
     >> validate_quality() >> publish_warehouse(planned) >> export_departments())


build_mart()
