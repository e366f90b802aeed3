"""
# Build, check and publish the city-safety mart (`build_mart`)

Runs when any landed feed (an Asset updated by an `ingest_<source>` DAG) changes:

1. `prepare_build` refreshes the build copy of the warehouse with the raw layer and the audit
   trail (`audit.reconciliation`, `audit.quarantine`);
2. `dbt` (astronomer-cosmos) builds staging, intermediate and marts, one task per model with
   its tests after it;
3. `validate_quality` runs the Great Expectations suites of `expectations/` (Data Docs under
   `$CITYSAFETY_HOME/quality/`); a failure stops the run with its reasons;
4. `publish_warehouse` atomically replaces `warehouse/citysafety.duckdb`. Until then readers
   keep the last good mart.
5. `export_departments` writes each department's and street office's export and analyst file
   under `exports/<name>/current/` as `policy/access.yml` allows (one publish per folder).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import AssetAny, dag, task
from cosmos import DbtTaskGroup

from citysafety import sources
from citysafety.orchestrate.assets import feed_asset, warehouse_asset
from citysafety.orchestrate.cosmos_settings import dbt_task_group_args

FEEDS = [feed_asset(f) for f in sources.all_feeds()]


@dag(
    dag_id="build_mart",
    description="Build the mart from the raw layer, validate it, publish it atomically",
    doc_md=__doc__,
    # Any updated feed triggers a rebuild (AssetAny); the build always reads every feed.
    schedule=AssetAny(*FEEDS),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,  # one DuckDB writer at a time (stack notes: Conflicting lock)
    tags=["build", "dbt", "quality"],
)
def build_mart():
    @task
    def prepare_build() -> dict:
        from citysafety.mart.build import prepare_build as prepare

        return prepare()

    @task
    def validate_quality() -> dict:
        from citysafety.mart.quality import validate

        return validate()

    @task(outlets=[warehouse_asset()])
    def publish_warehouse() -> dict:
        from citysafety.mart.publish import publish

        return publish()

    @task
    def export_departments() -> dict:
        from citysafety.share.exports import export_all

        return export_all()

    dbt = DbtTaskGroup(group_id="dbt", **dbt_task_group_args())
    prepare_build() >> dbt >> validate_quality() >> publish_warehouse() >> export_departments()


build_mart()
