"""The Airflow Assets of the platform: one per landed feed (the ingest DAGs update it,
build_mart waits on it) and the published warehouse."""

from __future__ import annotations

from citysafety import sources


def feed_asset(feed: sources.Feed):
    """The Airflow Asset of a landed feed (ingest DAGs update it, build_mart waits on it)."""
    from airflow.sdk import Asset

    return Asset(name=feed.id, uri=feed.asset_uri)


def warehouse_asset():
    from airflow.sdk import Asset

    return Asset(name="warehouse", uri="citysafety://warehouse/citysafety.duckdb")
