"""
# Ingest department deliveries (`ingest_<source>`)

One DAG per department, generated from the source registry (`citysafety.sources`). It runs when
a delivery lands in `landing/<source>/` (the triggerer watches the folders and starts only that
department's DAG, within seconds) and once a day for the pulled feeds. Each task
loads one feed's new files from `landing/<source>/<feed>/` into the raw layer, once per file
content, quarantining rows that break the delivery agreement (`audit.quarantine`) and
reconciling every file (`audit.reconciliation`). Each feed is an Airflow Asset; the
`build_mart` DAG runs when one is updated.

A pulled feed (the bureau's HTTP API, the grid database) first runs `pull_<feed>`, which
fetches what changed since the last `updated_at` seen, with the connection's secret from an
Airflow connection (`emb_api`, `grid_db`), and keeps the extract under `landing/`; a feed whose
connection is not configured is skipped with a message saying so.

Re-running changes nothing: files already loaded are skipped by name and content hash, and a
task with no new file is skipped, so it triggers no rebuild.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from citysafety import config, sources
from citysafety.orchestrate import queues
from citysafety.orchestrate.assets import feed_asset
from citysafety.orchestrate.landing import landing_asset

TIMEOUTS = config.task_timeouts()  # settings only: no I/O at import


def _ingest_dag(source: sources.Source):
    @dag(
        dag_id=f"ingest_{source.name}",
        description=f"Load {source.department} deliveries into the raw layer",
        doc_md=__doc__,
        # When a delivery lands (the triggerer watches landing/<source>/), and once a day for
        # the pulled feeds, which no landing announces.
        schedule=AssetOrTimeSchedule(
            timetable=CronTriggerTimetable("@daily", timezone="Asia/Shanghai"),
            assets=landing_asset(source),
        ),
        start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
        catchup=False,
        max_active_runs=1,
        tags=["ingest", source.name],
        # The department owns its DAG (the registry's name for it).
        default_args={"owner": source.department, **queues.anywhere(), **queues.dag_default_args()},
    )
    def ingest():
        for feed in source.feeds:
            pulled = None
            if feed.pull:
                # The network: retried with back-off (429/503 inside a pull are handled by the
                # client; this covers a server or connection that is down for minutes).
                @task(task_id=f"pull_{feed.feed}", retries=3, retry_delay=timedelta(minutes=1),
                      retry_exponential_backoff=True, max_retry_delay=timedelta(minutes=15),
                      execution_timeout=timedelta(seconds=TIMEOUTS["pull"]))
                def pull(source_name: str = source.name, feed_name: str = feed.feed) -> str | None:
                    from airflow.sdk.exceptions import AirflowSkipException

                    from citysafety.land.extracts import NotConfigured
                    from citysafety.land.pull import pull_feed

                    try:
                        extract = pull_feed(sources.feed(source_name, feed_name))
                    except NotConfigured as exc:
                        raise AirflowSkipException(str(exc)) from None
                    return str(extract) if extract else None

                pulled = pull()

            # none_failed: extracts already landed still load when a pull is skipped.
            @task(task_id=f"load_{feed.feed}", outlets=[feed_asset(feed)], trigger_rule="none_failed",
                  execution_timeout=timedelta(seconds=TIMEOUTS["load"]))
            def load(source_name: str = source.name, feed_name: str = feed.feed) -> dict:
                from airflow.sdk import get_current_context
                from airflow.sdk.exceptions import AirflowSkipException

                from citysafety.raw.ingest import (
                    FeedFailed, announced, begin_announcing, ingest_feed, summarise,
                )

                feed = sources.feed(source_name, feed_name)
                # A retry, or a new run after one that was killed, may follow an attempt that
                # loaded files and died before it could emit the asset: it emits, so those files
                # are built (a rebuild is harmless).
                stopped_before = begin_announcing(feed)
                try:
                    results, not_recorded = ingest_feed(feed), None
                except FeedFailed as exc:
                    # Some files could not be recorded (the store, not their content): what did
                    # load still emits the asset (a failed task would not); check_ fails after.
                    results, not_recorded = exc.results, str(exc)
                summary = summarise(results)
                first_try = get_current_context()["ti"].try_number <= 1
                announced(feed)
                if not summary["files"] and not not_recorded and first_try and not stopped_before:
                    # Skipped tasks emit no asset event: no new delivery, no rebuild.
                    raise AirflowSkipException("no new deliveries")
                summary["not_recorded"] = not_recorded
                summary["announces_earlier_run"] = stopped_before
                return summary

            @task(task_id=f"check_{feed.feed}", execution_timeout=timedelta(seconds=TIMEOUTS["load"]))
            def check(summary: dict | None = None) -> None:
                if summary and summary.get("not_recorded"):
                    raise RuntimeError(summary["not_recorded"])

            loaded = load()
            # A skipped load (no new delivery) skips its check too (default trigger rule).
            check(loaded)
            if pulled is not None:
                pulled >> loaded

    return ingest()


for _source in sources.SOURCES:
    globals()[f"ingest_{_source.name}"] = _ingest_dag(_source)
