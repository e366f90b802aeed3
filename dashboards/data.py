"""All data access of the dashboards: read-only queries on the published mart (``marts``, ``audit``).

Rules (see /work/shared/STACK-NOTES.md, DuckDB section):

* One short-lived ``duckdb.connect(path, read_only=True)`` per query, closed right after. Never a
  connection in ``st.cache_resource``: the pipeline publishes by ``os.replace`` of the file, and
  duckdb caches the database per path while any connection to it is open, so a long-lived
  connection would keep serving the old file.
* Queries of this process are serialised by a lock, so no connection is ever open while another
  one opens: each query therefore opens whatever file is live at that moment.
* Results are cached with ``st.cache_data(ttl=60)`` keyed by SQL + bound parameters + path + the
  file's identity ``(st_mtime_ns, st_size, st_ino)``: a newly published mart is picked up at once.
* Parameters are always bound (``con.execute(sql, params)``), never formatted into SQL.
* The warehouse path is read from ``citysafety.config.settings()`` on every call.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import streamlit as st

from citysafety.config import settings

CACHE_TTL_SECONDS = 60
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# Departments of record, in display order, with their Chinese names (mart contract).
DEPARTMENTS: dict[str, str] = {"emb": "工矿商贸", "fire": "火灾", "traffic": "道路交通"}
# The district's usual order of its streets (the filter and tables follow it; unknown last).
STREET_ORDER = ["WL", "TS", "CH", "CM", "CQ", "SQ", "DX", "WH"]
BASE_YEAR = 2016
TARGET_YEAR = 2020

_QUERY_LOCK = threading.Lock()


class DataUnavailable(Exception):
    """The mart cannot be read right now; ``message`` is a Chinese sentence for the page."""

    message = "数据暂时无法读取，请稍后刷新页面。"

    def __init__(self, detail: str = "", message: str | None = None) -> None:
        super().__init__(detail or self.message)
        if message:
            self.message = message
        self.detail = detail


class WarehouseMissing(DataUnavailable):
    message = "数据仓库尚未发布，请先运行数据管道 make pipeline。"


class WarehouseLocked(DataUnavailable):
    message = "数据仓库正在被其他程序占用（文件锁冲突），请稍后刷新页面。"


class WarehouseUnreadable(DataUnavailable):
    message = "数据仓库文件无法读取（可能损坏或正在发布），请稍后刷新页面；如持续出现请联系数据管理员。"


class MartMissing(DataUnavailable):
    message = "数据集市中缺少所需的数据表，请重新运行数据管道 make pipeline 发布完整数据。"


def warehouse_path() -> Path:
    """The published warehouse file, read from the settings now (tests change CITYSAFETY_HOME)."""
    return settings().warehouse_db


def _file_identity(path: Path) -> tuple[int, int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise WarehouseMissing(str(path)) from exc
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def published_at() -> dt.datetime | None:
    """When the live warehouse file was published (its mtime, Beijing time), or None if absent."""
    try:
        mtime = warehouse_path().stat().st_mtime
    except FileNotFoundError:
        return None
    return dt.datetime.fromtimestamp(mtime, tz=LOCAL_TZ)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=256)
def _cached_query(
    sql: str, params: dict[str, Any], path: str, file_identity: tuple[int, int, int]
) -> pd.DataFrame:
    # file_identity is only part of the cache key: a new file means new results.
    del file_identity
    with _QUERY_LOCK:
        con = duckdb.connect(path, read_only=True)
        try:
            return con.execute(sql, params).df()
        finally:
            con.close()


def query(sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run one read-only query on the published warehouse with bound ``$name`` parameters."""
    path = warehouse_path()
    identity = _file_identity(path)
    try:
        return _cached_query(sql, dict(params or {}), str(path), identity)
    except duckdb.CatalogException as exc:
        raise MartMissing(str(exc)) from exc
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise WarehouseLocked(text) from exc
        if not path.exists():
            raise WarehouseMissing(text) from exc
        raise WarehouseUnreadable(text) from exc
    except duckdb.Error as exc:
        raise WarehouseUnreadable(str(exc)) from exc


# --- queries of the pages (marts only) -------------------------------------------------------

KPI_SQL = """
SELECT year, deaths_workplace, deaths_fire, deaths_road, deaths_total,
       gdp_100m_yuan, gdp_status, deaths_per_100m_gdp,
       deaths_change_vs_2016, rate_change_vs_2016,
       deaths_target_2020, rate_target_2020, deaths_target_met, rate_target_met
FROM marts.kpi_safety_targets
WHERE year >= $since
ORDER BY year
"""

STREETS_SQL = """
SELECT street_code, street_name
FROM marts.dim_streets
ORDER BY street_code = 'UNKNOWN',
         coalesce(list_position($street_order::VARCHAR[], street_code), 1000),
         street_code
"""

EVENT_YEARS_SQL = """
SELECT min(year) AS first_year, max(year) AS last_year, count(*) AS events
FROM marts.fct_casualty_events
"""

# Deaths, injuries, events and loss per street and department of record for a period and an
# optional street filter (an empty list means every street).
BREAKDOWN_SQL = """
SELECT street_code, street_name, department, department_name,
       count(*)::BIGINT AS events,
       coalesce(sum(deaths), 0)::BIGINT AS deaths,
       coalesce(sum(injuries), 0)::BIGINT AS injuries,
       coalesce(sum(direct_loss_10k_yuan), 0)::DOUBLE AS direct_loss_10k_yuan
FROM marts.fct_casualty_events
WHERE year BETWEEN $year_from AND $year_to
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], street_code))
GROUP BY street_code, street_name, department, department_name
ORDER BY street_code, department
"""


def load_kpi(since: int = BASE_YEAR) -> pd.DataFrame:
    """The yearly district KPI of the 2018–2020 action plan (``marts.kpi_safety_targets``)."""
    return query(KPI_SQL, {"since": int(since)})


def load_streets() -> pd.DataFrame:
    """Streets for the filter (``marts.dim_streets``), the unknown street last."""
    return query(STREETS_SQL, {"street_order": STREET_ORDER})


def load_event_years() -> tuple[int | None, int | None]:
    """First and last year with casualty events, or (None, None) when there are none."""
    df = query(EVENT_YEARS_SQL)
    if df.empty or pd.isna(df.loc[0, "first_year"]):
        return None, None
    return int(df.loc[0, "first_year"]), int(df.loc[0, "last_year"])


def load_casualty_breakdown(year_from: int, year_to: int, streets: list[str] | None) -> pd.DataFrame:
    """Casualties grouped by street and department of record (``marts.fct_casualty_events``)."""
    return query(
        BREAKDOWN_SQL,
        {
            "year_from": int(year_from),
            "year_to": int(year_to),
            "streets": [str(s) for s in (streets or [])],
        },
    )


# --- queries of the 数据健康 page (audit schema) ------------------------------------------------
#
# audit.reconciliation has one row per delivered file (loaded_at: UTC, naive), audit.quarantine
# one row per quarantined record, audit.quality_results the expectations of the last quality
# gate (checked_at: UTC, naive). Everything is grouped in SQL; raw_record and unexpected_sample
# (which may hold personal data) are never selected.

FILE_STATUSES: dict[str, str] = {
    "loaded": "已加载",
    "partial": "部分隔离",
    "rejected": "拒收",
    "duplicate": "重复交付",
    "empty": "空文件",
}

DELIVERY_SPAN_SQL = """
SELECT min(loaded_at) AS first_loaded_at, max(loaded_at) AS last_loaded_at, count(*) AS files
FROM audit.reconciliation
"""

# One row per (source, feed) with any delivery: the latest delivery of all time (freshness does
# not depend on the period) and the counts of the files loaded within [$start, $end) (UTC; a
# NULL bound is open).
FEED_DELIVERIES_SQL = """
WITH files AS (
    SELECT *,
           ($start::TIMESTAMP IS NULL OR loaded_at >= $start::TIMESTAMP)
           AND ($end::TIMESTAMP IS NULL OR loaded_at < $end::TIMESTAMP) AS in_period
    FROM audit.reconciliation
    WHERE len($sources::VARCHAR[]) = 0 OR list_contains($sources::VARCHAR[], source)
)
SELECT source, feed,
       max(loaded_at) AS last_loaded_at,
       arg_max(file_name, struct_pack(t := loaded_at, f := file_name)) AS last_file_name,
       arg_max(status, struct_pack(t := loaded_at, f := file_name)) AS last_status,
       count(*) FILTER (WHERE in_period)::BIGINT AS files,
       coalesce(sum(rows_delivered) FILTER (WHERE in_period), 0)::BIGINT AS rows_delivered,
       coalesce(sum(rows_loaded) FILTER (WHERE in_period), 0)::BIGINT AS rows_loaded,
       coalesce(sum(rows_quarantined) FILTER (WHERE in_period), 0)::BIGINT AS rows_quarantined,
       count(*) FILTER (WHERE in_period AND status = 'loaded')::BIGINT AS files_loaded,
       count(*) FILTER (WHERE in_period AND status = 'partial')::BIGINT AS files_partial,
       count(*) FILTER (WHERE in_period AND status = 'rejected')::BIGINT AS files_rejected,
       count(*) FILTER (WHERE in_period AND status = 'duplicate')::BIGINT AS files_duplicate,
       count(*) FILTER (WHERE in_period AND status = 'empty')::BIGINT AS files_empty,
       count(*) FILTER (WHERE in_period AND status NOT IN
                        ('loaded', 'partial', 'rejected', 'duplicate', 'empty'))::BIGINT AS files_other
FROM files
GROUP BY source, feed
ORDER BY source, feed
"""

# Quarantine reasons embed the offending values (a quoted value, a whole broken CSV line, the
# name of the file a duplicate repeats): they are replaced by "…" so that equal reasons group
# together and no delivered value (possibly personal data) reaches the page; so is the column
# where a JSON parser stopped. Kept as they are:
# "file lacks required columns [...]" (the headers of the agreement) and unquoted text.
QUARANTINE_REASONS_SQL = r"""
WITH rows AS (
    SELECT source, feed, file_sha256, quarantined_at,
           CASE
               WHEN reason IS NULL THEN '（未注明）'
               -- the missing headers come from the agreement, not from the delivered data
               WHEN reason LIKE 'file lacks required columns %' THEN reason
               ELSE regexp_replace(
                        regexp_replace(
                            regexp_replace(
                                regexp_replace(reason, '''(?:[^''\\]|\\.)*''', '…', 'g'),
                                '"(?:[^"\\]|\\.)*"', '…', 'g'),
                            '(already loaded from )[^ ()]+', '\1…', 'g'),
                        -- where in a broken JSON line the parser stopped
                        '\(column [0-9]+\)', '(column …)', 'g')
           END AS reason
    FROM audit.quarantine
    WHERE (len($sources::VARCHAR[]) = 0 OR list_contains($sources::VARCHAR[], source))
      AND ($start::TIMESTAMP IS NULL OR quarantined_at >= $start::TIMESTAMP)
      AND ($end::TIMESTAMP IS NULL OR quarantined_at < $end::TIMESTAMP)
),
grouped AS (
    SELECT source, feed, reason,
           count(*)::BIGINT AS rows_quarantined,
           count(DISTINCT file_sha256)::BIGINT AS files,
           max(quarantined_at) AS last_quarantined_at
    FROM rows
    GROUP BY source, feed, reason
)
SELECT *,
       row_number() OVER (PARTITION BY source, feed ORDER BY rows_quarantined DESC, reason) AS rank
FROM grouped
QUALIFY rank <= $top
ORDER BY source, feed, rank
"""

QUALITY_RESULTS_SQL = """
SELECT checked_at, table_name, expectation, column_name, success, unexpected_count
FROM audit.quality_results
WHERE checked_at = (SELECT max(checked_at) FROM audit.quality_results)
ORDER BY success, table_name, expectation, column_name
"""


def _utc_bound(day: dt.date | None, *, end: bool) -> dt.datetime | None:
    """Start of a Beijing day (the day after, for an inclusive end) as naive UTC."""
    if day is None:
        return None
    if end:
        day = day + dt.timedelta(days=1)
    local = dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_TZ)
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


def utc_to_local(values: pd.Series) -> pd.Series:
    """Naive UTC timestamps → naive Beijing time (for display)."""
    stamps = pd.to_datetime(values)
    return stamps.dt.tz_localize("UTC").dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)


def load_delivery_span() -> tuple[dt.datetime | None, dt.datetime | None]:
    """First and last ``loaded_at`` of any delivered file (naive UTC), or (None, None)."""
    df = query(DELIVERY_SPAN_SQL)
    if df.empty or pd.isna(df.loc[0, "first_loaded_at"]):
        return None, None
    return (pd.Timestamp(df.loc[0, "first_loaded_at"]).to_pydatetime(),
            pd.Timestamp(df.loc[0, "last_loaded_at"]).to_pydatetime())


def load_feed_deliveries(
    sources: list[str] | None, date_from: dt.date | None, date_to: dt.date | None
) -> pd.DataFrame:
    """Deliveries per feed (``audit.reconciliation``): latest file of all time, and file and row
    counts by status for files loaded between two Beijing dates (both included; None: open)."""
    return query(
        FEED_DELIVERIES_SQL,
        {
            "sources": [str(s) for s in (sources or [])],
            "start": _utc_bound(date_from, end=False),
            "end": _utc_bound(date_to, end=True),
        },
    )


def load_quarantine_reasons(
    sources: list[str] | None, date_from: dt.date | None, date_to: dt.date | None, top: int = 5
) -> pd.DataFrame:
    """The ``top`` quarantine reasons per feed (``audit.quarantine``, values masked), with rows,
    files and the last time; same period semantics as ``load_feed_deliveries``."""
    return query(
        QUARANTINE_REASONS_SQL,
        {
            "sources": [str(s) for s in (sources or [])],
            "start": _utc_bound(date_from, end=False),
            "end": _utc_bound(date_to, end=True),
            "top": int(top),
        },
    )


def load_quality_results() -> pd.DataFrame:
    """The expectations of the last quality gate (``audit.quality_results``), failures first."""
    return query(QUALITY_RESULTS_SQL)


def data_docs_path() -> Path:
    """Where the quality gate writes the Great Expectations Data Docs (not in the mart)."""
    from citysafety.quality import data_docs_index

    return data_docs_index(settings())
