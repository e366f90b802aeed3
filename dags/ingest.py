"""
# Ingest department deliveries (`ingest_<source>`)

One DAG per department, generated from the source registry (`citysafety.sources`): each task
loads one feed's new files from `landing/<source>/<feed>/` into the raw layer, once per file
content, quarantining rows that break the delivery agreement (`audit.quarantine`) and
reconciling every file (`audit.reconciliation`). Each feed is an Airflow Asset; the
`build_mart` DAG runs when one is updated.

Re-running changes nothing: files already loaded are skipped by name and content hash, and a
task with no new file is skipped, so it triggers no rebuild.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from citysafety import sources
from citysafety.orchestration import feed_asset


def _ingest_dag(source: sources.Source):
    @dag(
        dag_id=f"ingest_{source.name}",
        description=f"Load {source.department} deliveries into the raw layer",
        doc_md=__doc__,
        schedule="@daily",
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=["ingest", source.name],
    )
    def ingest():
        for feed in source.feeds:
            @task(task_id=f"load_{feed.feed}", outlets=[feed_asset(feed)])
            def load(source_name: str = source.name, feed_name: str = feed.feed) -> dict:
                from airflow.sdk.exceptions import AirflowSkipException

                from citysafety.ingest import ingest_feed, summarise

                summary = summarise(ingest_feed(sources.feed(source_name, feed_name)))
                if not summary["files"]:
                    # Skipped tasks emit no asset event: no new delivery, no rebuild.
                    raise AirflowSkipException("no new deliveries")
                return summary

            load()

    return ingest()


for _source in sources.SOURCES:
    globals()[f"ingest_{_source.name}"] = _ingest_dag(_source)
