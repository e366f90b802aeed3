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

No business rule is written here (issue 11): every figure a page shows is a published column of
a contracted table (dbt_project/models/marts, described in their YAML), and a query is a select
with bound filters. Over a period or a set of streets a page sums published counts: each
reporting table (``rpt_*``) publishes counts that add up over its rows, and every rate beside
its numerator and denominator, so the rate of any selection is the sum of the numerator over the
sum of the denominator (``components.rate_pct``), never an average of rates. Tables with district
rows (street_code ``ALL``) are read by selecting ``ALL`` when no street is chosen.
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

from citysafety.config import dbt_project_vars, settings
from citysafety.sources import casualty_departments, feed

CACHE_TTL_SECONDS = 60
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# Departments of record of casualty events, in display order, with the accident type each
# records (工矿商贸, 火灾, 道路交通): the registry's (citysafety/sources.py), as dbt publishes them
# in fct_casualty_events.department_name. The streets' order is the mart's
# (dim_streets.street_order, the seed's order).
DEPARTMENTS: dict[str, str] = casualty_departments()
# The action plan's base and target years: dbt's vars (dbt_project.yml), held once there.
_PLAN = dbt_project_vars()
BASE_YEAR = int(_PLAN["baseline_year"])
TARGET_YEAR = int(_PLAN["target_year"])
DEATHS_REDUCTION_TARGET = float(_PLAN["deaths_reduction_target"])
RATE_REDUCTION_TARGET = float(_PLAN["rate_reduction_target"])
# 监测's recent-alarm windows in days (dbt's var, the windows of rpt_monitoring_alarm_windows).
ALARM_WINDOW_DAYS = [int(d) for d in _PLAN["alarm_window_days"]]
# The street_code of the district's rows in the tables that publish them.
DISTRICT = "ALL"

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


class NotBound(DataUnavailable):
    """No signed-in user is bound to this session: nothing is read (never the whole warehouse)."""

    message = "未登录或登录已失效，无法读取数据，请重新登录。"


# Sign-in decides what a session may read (dashboards.auth registers the resolver): it returns
# the published warehouse for the leader (or when sign-in is explicitly off), the signed-in
# user's analyst file for everyone else, and raises when nobody is signed in.
_scope = None


def set_scope(resolver) -> None:
    """Register the function that names the file this session may read."""
    global _scope
    _scope = resolver


def warehouse_path() -> Path:
    """The file pages read, as the registered resolver names it. Fails closed: without a
    resolver, or when it finds nobody signed in, this raises ``NotBound``."""
    if _scope is None:
        raise NotBound("no scope resolver registered (dashboards.auth.bind_data_layer)")
    try:
        path = _scope()
    except PermissionError as exc:
        raise NotBound(str(exc)) from exc
    if path is None:
        raise NotBound("the scope resolver named no file")
    return Path(path)


def _file_identity(path: Path) -> tuple[int, int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise WarehouseMissing(str(path)) from exc
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def load_briefing() -> tuple[str, bytes] | None:
    """The monthly briefing (安全生产形势月报) this session may read: (file name, PDF bytes) from the
    current export of the file its pages read (a department's or street office's own export; the
    leader's export for the published warehouse), or None when that export holds none (the policy
    grants no briefing). Fails closed like every query: nobody signed in reads nothing."""
    from citysafety.share import exports, policy

    path = warehouse_path()
    cfg = settings()
    if path == cfg.warehouse_db:
        names = [p.name for p in policy.load().principals.values() if p.kind == "leader"]
    else:
        names = [path.parent.parent.name]  # exports/<name>/<export>/<name>.duckdb
    for name in names:
        pdf = exports.current_briefing(cfg, name)
        if pdf is not None:
            return pdf.name, pdf.read_bytes()
    return None


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


# How a page shows a street name the mart left empty: dbt names every street it publishes
# (report_street_name, dim_streets), so this only keeps a page drawing over a damaged or
# hand-made file; the display of a missing value, like "—", not a rule.
NO_STREET = "（无街道）"


def query(sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run one read-only query on the published warehouse with bound ``$name`` parameters."""
    path = warehouse_path()
    identity = _file_identity(path)
    try:
        df = _cached_query(sql, dict(params or {}), str(path), identity)
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
    if "street_name" in df.columns and df["street_name"].isna().any():
        # The district's own rows (ALL: 区级 and 部门 plans, their drills) have no street to name;
        # the page that shows them says so in its own words.
        unnamed = df["street_name"].isna()
        if "street_code" in df.columns:
            unnamed &= df["street_code"].ne("ALL")
        df = df.assign(street_name=df["street_name"].mask(unnamed, NO_STREET))
    return df


# --- queries of the pages (marts only) -------------------------------------------------------

KPI_SQL = """
SELECT year, deaths_workplace, deaths_fire, deaths_road, deaths_total,
       gdp_100m_yuan, gdp_status, deaths_per_100m_gdp,
       deaths_change_vs_2016, rate_change_vs_2016,
       deaths_target_2020, rate_target_2020, deaths_target_met, rate_target_met,
       gdp_due_date, gdp_missing_reason
FROM marts.kpi_safety_targets
WHERE year >= $since
ORDER BY year
"""

STREETS_SQL = """
SELECT street_code, street_name
FROM marts.dim_streets
ORDER BY street_order, street_code
"""

EVENT_YEARS_SQL = """
SELECT min(year) AS first_year, max(year) AS last_year, count(*) AS events
FROM marts.fct_casualty_events
"""

# Deaths, injuries, events and loss per street and department of record for a period and an
# optional street filter (an empty list means every street): the sums of the years' rows of
# marts.rpt_overview_casualties.
BREAKDOWN_SQL = """
SELECT street_code, street_name, department, department_name,
       sum(events)::BIGINT AS events,
       sum(deaths)::BIGINT AS deaths,
       sum(injuries)::BIGINT AS injuries,
       sum(direct_loss_10k_yuan)::DOUBLE AS direct_loss_10k_yuan
FROM marts.rpt_overview_casualties
WHERE year BETWEEN $year_from AND $year_to
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], street_code))
GROUP BY street_code, street_name, department, department_name
ORDER BY street_code, department
"""


def definition(relation: str, column: str) -> str:
    """A published column's definition: its description in the table's contract (the dbt YAML
    beside the model, read at run time), so that a page shows the same text as the exports and
    Data Docs (issue 13) and no copy of it lives in the dashboard. Empty when not described."""
    from citysafety.share import contracts

    for described in contracts.relation_contracts().get(relation, []):
        if described.name == column:
            return described.description
    return ""


def load_kpi(since: int = BASE_YEAR) -> pd.DataFrame:
    """The yearly district KPI of the 2018–2020 action plan (``marts.kpi_safety_targets``)."""
    return query(KPI_SQL, {"since": int(since)})


def load_streets() -> pd.DataFrame:
    """Streets for the filter (``marts.dim_streets``), the unknown street last."""
    return query(STREETS_SQL)


def _year_span(sql: str) -> tuple[int | None, int | None]:
    """(first_year, last_year) of a span query, or (None, None) when its table is empty."""
    df = query(sql)
    if df.empty or pd.isna(df.loc[0, "first_year"]):
        return None, None
    return int(df.loc[0, "first_year"]), int(df.loc[0, "last_year"])


def load_event_years() -> tuple[int | None, int | None]:
    """First and last year with casualty events, or (None, None) when there are none."""
    return _year_span(EVENT_YEARS_SQL)


def load_casualty_breakdown(year_from: int, year_to: int, streets: list[str] | None) -> pd.DataFrame:
    """Casualties per street and department of record over the years
    (``marts.rpt_overview_casualties``)."""
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

# One row per feed (marts.rpt_data_health_feeds: every registered feed in the registry's order,
# then any unregistered feed that delivered; names, cadence, latest delivery of all time, due time
# and the status as of the build are dbt's), with the sums of the counts of the Beijing days in
# [$day_from, $day_to] (a NULL bound is open) from marts.rpt_data_health_deliveries (dbt counts
# the files of each day by status).
FEED_DELIVERIES_SQL = """
WITH counts AS (
    SELECT source, feed,
           sum(files)::BIGINT AS files,
           sum(rows_delivered)::BIGINT AS rows_delivered,
           sum(rows_loaded)::BIGINT AS rows_loaded,
           sum(rows_quarantined)::BIGINT AS rows_quarantined,
           sum(files_loaded)::BIGINT AS files_loaded,
           sum(files_partial)::BIGINT AS files_partial,
           sum(files_rejected)::BIGINT AS files_rejected,
           sum(files_duplicate)::BIGINT AS files_duplicate,
           sum(files_empty)::BIGINT AS files_empty,
           sum(files_other)::BIGINT AS files_other,
           sum(files_resent)::BIGINT AS files_resent
    FROM marts.rpt_data_health_deliveries
    WHERE ($day_from::DATE IS NULL OR loaded_on >= $day_from::DATE)
      AND ($day_to::DATE IS NULL OR loaded_on <= $day_to::DATE)
    GROUP BY source, feed
)
SELECT f.feed_id, f.source, f.feed, f.department, f.title, f.feed_order, f.registered,
       f.cadence_days, f.last_loaded_at, f.last_file_name, f.last_status, f.due_at, f.as_of_at,
       f.status, f.days_late,
       coalesce(c.files, 0)::BIGINT AS files,
       coalesce(c.rows_delivered, 0)::BIGINT AS rows_delivered,
       coalesce(c.rows_loaded, 0)::BIGINT AS rows_loaded,
       coalesce(c.rows_quarantined, 0)::BIGINT AS rows_quarantined,
       coalesce(c.files_loaded, 0)::BIGINT AS files_loaded,
       coalesce(c.files_partial, 0)::BIGINT AS files_partial,
       coalesce(c.files_rejected, 0)::BIGINT AS files_rejected,
       coalesce(c.files_duplicate, 0)::BIGINT AS files_duplicate,
       coalesce(c.files_empty, 0)::BIGINT AS files_empty,
       coalesce(c.files_other, 0)::BIGINT AS files_other,
       coalesce(c.files_resent, 0)::BIGINT AS files_resent
FROM marts.rpt_data_health_feeds AS f
LEFT JOIN counts AS c ON c.source = f.source AND c.feed = f.feed
WHERE len($sources::VARCHAR[]) = 0 OR list_contains($sources::VARCHAR[], f.source)
ORDER BY f.feed_order
"""

# The masked reasons are dbt's (marts.rpt_data_health_quarantine_reasons: delivered values
# replaced by "…"); the page sums the rows of the period's Beijing days and keeps the $top
# reasons of each feed.
QUARANTINE_REASONS_SQL = """
WITH grouped AS (
    SELECT source, feed, reason,
           sum(rows_quarantined)::BIGINT AS rows_quarantined,
           count(DISTINCT file_sha256)::BIGINT AS files,
           max(last_quarantined_at) AS last_quarantined_at
    FROM marts.rpt_data_health_quarantine_reasons
    WHERE (len($sources::VARCHAR[]) = 0 OR list_contains($sources::VARCHAR[], source))
      AND ($day_from::DATE IS NULL OR quarantined_on >= $day_from::DATE)
      AND ($day_to::DATE IS NULL OR quarantined_on <= $day_to::DATE)
    GROUP BY source, feed, reason
)
SELECT g.*,
       row_number() OVER (PARTITION BY g.source, g.feed ORDER BY g.rows_quarantined DESC, g.reason) AS rank,
       coalesce(n.department, g.source) AS department, coalesce(n.title, g.feed) AS title,
       n.feed_order
FROM grouped AS g
LEFT JOIN marts.rpt_data_health_feeds AS n ON n.source = g.source AND n.feed = g.feed
QUALIFY rank <= $top
ORDER BY n.feed_order NULLS LAST, g.source, g.feed, rank
"""

# The delivered street values that fell to UNKNOWN (marts.agg_street_values: the mapping is
# dbt's; a person adds a real street's spelling to the seed street_spellings), each feed named
# as marts.rpt_data_health_feeds names it (as for the reasons and the source freshness).
UNMAPPED_STREET_VALUES_SQL = """
SELECT v.source, v.feed, v.street_raw, v.rows, v.first_seen_on, v.last_seen_on,
       coalesce(n.department, v.source) AS department, coalesce(n.title, v.feed) AS title
FROM marts.agg_street_values AS v
LEFT JOIN marts.rpt_data_health_feeds AS n ON n.source = v.source AND n.feed = v.feed
WHERE v.street_code = 'UNKNOWN'
  AND (len($sources::VARCHAR[]) = 0 OR list_contains($sources::VARCHAR[], v.source))
ORDER BY v.rows DESC, v.source, v.feed, v.street_raw
"""


def load_unmapped_street_values(sources: list[str]) -> pd.DataFrame:
    """Delivered street values mapped to no street, most rows first (``marts.agg_street_values``)."""
    return query(UNMAPPED_STREET_VALUES_SQL, {"sources": [str(s) for s in sources]})


# dbt source freshness of the last build (marts.rpt_data_health_source_freshness): the verdicts,
# their urgency order and the feed of each table are dbt's; when the check ran and the hours
# since the last load then, audit.source_freshness's.
SOURCE_FRESHNESS_SQL = """
SELECT r.source, r.table_name, r.feed, r.status, r.max_loaded_at, a.hours_since_load,
       r.warn_after, r.error_after, a.checked_at,
       coalesce(n.department, r.source) AS department, coalesce(n.title, r.feed) AS title
FROM marts.rpt_data_health_source_freshness AS r
LEFT JOIN audit.source_freshness AS a ON a.source = r.source AND a.table_name = r.table_name
LEFT JOIN marts.rpt_data_health_feeds AS n ON n.source = r.source AND n.feed = r.feed
ORDER BY r.status_order, r.source, r.table_name
"""


def load_source_freshness() -> pd.DataFrame:
    """dbt source freshness per source table, most urgent first
    (``marts.rpt_data_health_source_freshness``)."""
    return query(SOURCE_FRESHNESS_SQL)


QUALITY_RESULTS_SQL = """
SELECT checked_at, table_name, expectation, column_name, success, unexpected_count
FROM audit.quality_results
WHERE checked_at = (SELECT max(checked_at) FROM audit.quality_results)
ORDER BY success, table_name, expectation, column_name
"""


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
    """One row per feed in display order (``marts.rpt_data_health_feeds``: names, cadence, latest
    file of all time, due time, status as of the build), with the file and row counts by status
    (``marts.rpt_data_health_deliveries``) of files loaded between two Beijing dates (both
    included; None: open)."""
    return query(
        FEED_DELIVERIES_SQL,
        {"sources": [str(s) for s in (sources or [])], "day_from": date_from, "day_to": date_to},
    )


def load_quarantine_reasons(
    sources: list[str] | None, date_from: dt.date | None, date_to: dt.date | None, top: int = 5
) -> pd.DataFrame:
    """The ``top`` quarantine reasons per feed (``marts.rpt_data_health_quarantine_reasons``,
    values masked), with rows, files and the last time, for rows quarantined between two Beijing
    dates (both included; None: open), as ``load_feed_deliveries``."""
    return query(
        QUARANTINE_REASONS_SQL,
        {
            "sources": [str(s) for s in (sources or [])],
            "day_from": date_from,
            "day_to": date_to,
            "top": int(top),
        },
    )


def load_quality_results() -> pd.DataFrame:
    """The expectations of the last quality gate (``audit.quality_results``), failures first."""
    return query(QUALITY_RESULTS_SQL)


def data_docs_path() -> Path:
    """Where the quality gate writes the Great Expectations Data Docs (not in the mart)."""
    from citysafety.mart.quality import data_docs_index

    return data_docs_index(settings())


# --- queries of the 监测 page and of the 总览 alerts (sensor marts) -----------------------------
#
# The sensor marts carry the street of the unit operating each hazard source (street_code,
# decided in dbt; UNKNOWN when the unit is not in the registry). Episodes are read with a bound
# lower date on ``day`` and a LIMIT: a year of sensor data can be large.

METRIC_NAMES: dict[str, str] = {"temperature": "温度", "pressure": "压力", "level": "液位", "gas": "可燃气体浓度"}

# $streets: street codes (empty list = every street); $source: one hazard source ('' = all).
MONITORING_SPAN_SQL = """
SELECT (SELECT max(as_of_time) FROM marts.agg_monitoring_coverage) AS as_of_time,
       (SELECT min(day) FROM marts.agg_sensor_alarms_daily) AS first_day,
       (SELECT max(day) FROM marts.agg_sensor_alarms_daily) AS last_day
"""

# The unit's name is published with the source (unit_name: dbt's rule, int_unit_streets_resolved).
MONITORING_COVERAGE_SQL = """
SELECT c.hazard_source_id, c.hazard_source_name, c.uscc, c.hazard_level,
       c.points, c.points_reporting_24h, c.coverage_24h, c.fully_covered, c.last_reading_at, c.as_of_time,
       c.unit_name, c.street_code, s.street_name
FROM marts.agg_monitoring_coverage AS c
LEFT JOIN marts.dim_streets AS s ON s.street_code = c.street_code
WHERE TRUE 
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], c.street_code))
  AND ($source = '' OR c.hazard_source_id = $source)

ORDER BY c.coverage_24h, c.hazard_source_id
"""

ALARMS_DAILY_SQL = """
SELECT a.day,
       sum(a.episodes)::BIGINT AS episodes,
       sum(a.high_high_episodes)::BIGINT AS high_high_episodes,
       sum(a.alarm_readings)::BIGINT AS alarm_readings,
       sum(a.points_alarming)::BIGINT AS points_alarming,
       sum(a.readings)::BIGINT AS readings,
       max(a.longest_episode_minutes) AS longest_episode_minutes
FROM marts.agg_sensor_alarms_daily AS a
WHERE a.day BETWEEN $day_from AND $day_to 
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], a.street_code))
  AND ($source = '' OR a.hazard_source_id = $source)

GROUP BY a.day
ORDER BY a.day
"""

# Episodes that started between $day_from and $day_to (bound dates: duckdb skips the other row
# groups), newest first, at most $limit rows.
ALARM_EPISODES_SQL = """
SELECT e.episode_id, e.point_id, e.hazard_source_id,
       coalesce(c.hazard_source_name, e.hazard_source_id) AS hazard_source_name,
       e.unit_name, e.street_code, s.street_name,
       e.metric, e.unit, e.started_at, e.ended_at, e.cleared_at, e.readings, e.peak_value,
       e.high_threshold, e.high_high_threshold, e.reached_high_high, e.duration_minutes, e.day
FROM marts.fct_sensor_alarm_episodes AS e
LEFT JOIN marts.agg_monitoring_coverage AS c ON e.hazard_source_id = c.hazard_source_id
LEFT JOIN marts.dim_streets AS s ON s.street_code = e.street_code
WHERE e.day BETWEEN $day_from AND $day_to 
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], e.street_code))
  AND ($source = '' OR e.hazard_source_id = $source)

ORDER BY e.started_at DESC, e.episode_id
LIMIT $limit
"""

# The recent-alarm windows (marts.rpt_monitoring_alarm_windows: the last N days of data, the
# as-of day included; the days are dbt's var alarm_window_days): each window's days, whatever
# the filters, and the counts of a window summed over the chosen streets' or source's rows.
ALARM_WINDOWS_SQL = """
SELECT window_days, min(window_from) AS window_from, max(window_to) AS window_to
FROM marts.rpt_monitoring_alarm_windows
GROUP BY window_days
ORDER BY window_days
"""

ALARM_WINDOW_COUNTS_SQL = """
SELECT coalesce(sum(episodes), 0)::BIGINT AS episodes,
       coalesce(sum(high_high_episodes), 0)::BIGINT AS high_high_episodes,
       coalesce(sum(hazard_sources_alarming), 0)::BIGINT AS hazard_sources_alarming
FROM marts.rpt_monitoring_alarm_windows
WHERE window_days = $window_days
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], street_code))
  AND ($source = '' OR hazard_source_id = $source)
"""

# The response to alarms (marts.agg_alarm_response_by_month, one row per month, grade and street
# plus the district row ALL): the rows of the chosen streets, or the district's with none chosen,
# over the months of a period ('' = unbounded). Counts add up over these rows; the published
# p50/p95 minutes do not (a page shows them row by row).
ALARM_RESPONSE_SQL = """
SELECT r.alarm_month, r.grade, r.street_code, r.street_name,
       r.alarms, r.notified, r.acknowledged, r.on_site, r.closed, r.archived, r.escalated, r.still_open,
       r.p50_minutes_to_acknowledge, r.p95_minutes_to_acknowledge,
       r.p50_minutes_to_close, r.p95_minutes_to_close
FROM marts.agg_alarm_response_by_month AS r
LEFT JOIN marts.dim_streets AS s ON s.street_code = r.street_code
WHERE list_contains($streets::VARCHAR[], r.street_code)
  AND ($month_from = '' OR r.alarm_month >= $month_from)
  AND ($month_to = '' OR r.alarm_month <= $month_to)
ORDER BY r.alarm_month DESC, r.grade, s.street_order, r.street_code
"""


def _streets_param(streets: list[str] | None) -> list[str]:
    return [str(s) for s in (streets or [])]


def _district_or(streets: list[str] | None) -> list[str]:
    """The rows to read of a table with district rows: the chosen streets, or ALL."""
    return _streets_param(streets) or [DISTRICT]


def load_monitoring_span() -> tuple[dt.datetime | None, dt.date | None, dt.date | None]:
    """(as-of time of the coverage, first and last day with sensor data); None where empty."""
    df = query(MONITORING_SPAN_SQL)
    row = df.iloc[0]
    as_of = None if pd.isna(row["as_of_time"]) else pd.Timestamp(row["as_of_time"]).to_pydatetime()
    first = None if pd.isna(row["first_day"]) else pd.Timestamp(row["first_day"]).date()
    last = None if pd.isna(row["last_day"]) else pd.Timestamp(row["last_day"]).date()
    return as_of, first, last


def load_monitoring_coverage(streets: list[str] | None, source: str = "") -> pd.DataFrame:
    """Hazard sources with their 24-hour monitoring coverage and street (lowest coverage first)."""
    return query(MONITORING_COVERAGE_SQL, {"streets": _streets_param(streets), "source": str(source or "")})


def load_alarms_daily(
    day_from: dt.date, day_to: dt.date, streets: list[str] | None, source: str = ""
) -> pd.DataFrame:
    """Alarm figures per day (``marts.agg_sensor_alarms_daily``) summed over the hazard sources."""
    return query(
        ALARMS_DAILY_SQL,
        {"day_from": day_from, "day_to": day_to, "streets": _streets_param(streets),
         "source": str(source or "")},
    )


def load_alarm_episodes(
    day_from: dt.date, day_to: dt.date, streets: list[str] | None, source: str = "",
    limit: int = 500,
) -> pd.DataFrame:
    """Alarm episodes that started between two days (both included), newest first, at most
    ``limit`` rows."""
    return query(
        ALARM_EPISODES_SQL,
        {"day_from": day_from, "day_to": day_to, "streets": _streets_param(streets),
         "source": str(source or ""), "limit": int(limit)},
    )


def load_alarm_windows() -> dict[int, tuple[dt.date, dt.date]]:
    """The days of each recent-alarm window (first, last), by its length in days; empty when
    there is no sensor data (``marts.rpt_monitoring_alarm_windows``)."""
    df = query(ALARM_WINDOWS_SQL)
    return {int(r.window_days): (pd.Timestamp(r.window_from).date(), pd.Timestamp(r.window_to).date())
            for r in df.itertuples()}


def load_alarm_window_counts(window_days: int, streets: list[str] | None, source: str = "") -> dict[str, int]:
    """Alarm episodes, 高高报 episodes and alarming hazard sources of a recent-alarm window,
    summed over the chosen streets or source (``marts.rpt_monitoring_alarm_windows``)."""
    row = query(
        ALARM_WINDOW_COUNTS_SQL,
        {"window_days": int(window_days), "streets": _streets_param(streets), "source": str(source or "")},
    ).iloc[0]
    return {k: int(v) for k, v in row.items()}


def load_alarm_response(
    streets: list[str] | None, period: tuple[dt.date, dt.date] | None = None
) -> pd.DataFrame:
    """The response figures per month and grade (``marts.agg_alarm_response_by_month``): the
    district's rows (ALL) with no street chosen, else the chosen streets' rows; the months of
    ``period`` (None: every month), newest first."""
    month_from, month_to = ("", "") if period is None else (f"{period[0]:%Y-%m}", f"{period[1]:%Y-%m}")
    return query(
        ALARM_RESPONSE_SQL,
        {"streets": _district_or(streets), "month_from": month_from, "month_to": month_to},
    )


# --- queries of the 应急 page and of the 总览 alerts (emergency marts) --------------------------
#
# A plan's street (street_code) is decided in dbt (fct_emergency_plans: the nearest plan on its
# chain compiled by a street's office or communities; ALL for district and department plans).

PLANS_SQL = """
SELECT p.plan_id, p.plan_name, p.tier, p.owner_unit, p.parent_plan_id, p.reaches_district_plan,
       p.link_issue, p.depth, p.chain, p.published_on, p.revised_on, p.drills_last_12_months,
       p.last_drilled_on, p.drilled_in_last_12_months,
       p.street_code, s.street_name
FROM marts.fct_emergency_plans AS p
LEFT JOIN marts.dim_streets AS s ON p.street_code = s.street_code
ORDER BY p.chain, p.plan_id
"""

DRILL_YEARS_SQL = """
SELECT min(drill_year) AS first_year, max(drill_year) AS last_year, count(*) AS drills
FROM marts.fct_drills
"""

DRILLS_SQL = """
SELECT d.drill_id, d.drilled_on, d.drill_year, d.drill_form, d.participants, d.plan_id,
       d.plan_current, d.plan_known, d.plan_name, d.plan_tier, d.plan_tier_label, d.street_code, s.street_name
FROM marts.fct_drills AS d
LEFT JOIN marts.dim_streets AS s ON d.street_code = s.street_code
WHERE d.drill_year BETWEEN $year_from AND $year_to
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], d.street_code))
ORDER BY d.drilled_on DESC, d.drill_id
"""

# Drills and participants per year and tier of the plan drilled (marts.rpt_emergency_drills_by_year),
# summed over the chosen streets' rows (every row, ALL included, when none is chosen).
DRILLS_BY_YEAR_SQL = """
SELECT drill_year, plan_tier_label, min(tier_order) AS tier_order,
       sum(drills)::BIGINT AS drills,
       sum(participants)::BIGINT AS participants
FROM marts.rpt_emergency_drills_by_year
WHERE drill_year BETWEEN $year_from AND $year_to
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], street_code))
GROUP BY drill_year, plan_tier_label
ORDER BY drill_year, tier_order, plan_tier_label
"""

RESOURCES_SQL = """
SELECT r.street_code, r.street_name,
       r.resource_type, r.resources, r.quantity_total, r.quantity_unit, r.units,
       r.quantity_by_unit, r.last_updated_on
FROM marts.agg_resources_by_street AS r
LEFT JOIN marts.dim_streets AS s ON s.street_code = r.street_code
WHERE len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], r.street_code)
ORDER BY s.street_order NULLS LAST, r.street_code, r.resource_type
"""


# Plan counts per tier (marts.rpt_emergency_plans_by_tier), summed over the chosen streets'
# rows (every row, ALL included, when none is chosen), every tier of the plans.
PLANS_BY_TIER_SQL = """
SELECT tier, min(tier_order) AS tier_order,
       sum(plans)::BIGINT AS plans,
       sum(drilled_last_12_months)::BIGINT AS drilled,
       sum(reaching_district)::BIGINT AS reaching_district,
       sum(not_reaching_district)::BIGINT AS not_linked
FROM marts.rpt_emergency_plans_by_tier
WHERE len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], street_code)
GROUP BY tier
ORDER BY tier_order, tier
"""


def load_plans_by_tier(streets: list[str] | None) -> pd.DataFrame:
    """Current plans, plans drilled in the last 12 months and plans not reaching the district
    plan per tier, for the plans of the chosen streets (``marts.rpt_emergency_plans_by_tier``)."""
    return query(PLANS_BY_TIER_SQL, {"streets": _streets_param(streets)})


def load_plans() -> pd.DataFrame:
    """Current emergency plans (``marts.fct_emergency_plans``) ordered by chain, with their
    street (ALL for district and department plans; no street name then)."""
    return query(PLANS_SQL)


def load_drill_years() -> tuple[int | None, int | None]:
    """First and last year with drills, or (None, None)."""
    return _year_span(DRILL_YEARS_SQL)


def load_drills(year_from: int, year_to: int, streets: list[str] | None) -> pd.DataFrame:
    """Drills of the years (``marts.fct_drills``), newest first; a street filter keeps the drills
    of plans of those streets (district and department plans have none)."""
    return query(
        DRILLS_SQL,
        {"year_from": int(year_from), "year_to": int(year_to), "streets": _streets_param(streets)},
    )


def load_drills_by_year(year_from: int, year_to: int, streets: list[str] | None) -> pd.DataFrame:
    """Drills and participants per year and tier of the plan drilled, for the plans of the
    chosen streets (``marts.rpt_emergency_drills_by_year``)."""
    return query(
        DRILLS_BY_YEAR_SQL,
        {"year_from": int(year_from), "year_to": int(year_to), "streets": _streets_param(streets)},
    )


def load_resources(streets: list[str] | None) -> pd.DataFrame:
    """Current emergency resources per street and type (``marts.agg_resources_by_street``)."""
    return query(RESOURCES_SQL, {"streets": _streets_param(streets)})


# --- queries of the 总览 official indicators and alerts ---------------------------------------

OFFICIAL_INDICATORS_SQL = """
SELECT year, accidents, accidents_yoy_change, deaths, deaths_yoy_change, deaths_per_100m_gdp,
       employees, workplace_deaths_per_100k_employees, population_10k,
       fire_deaths_per_100k_residents, vehicles_10k, road_deaths_per_10k_vehicles,
       hazards_found, hazards_rectified, hazard_rectification_rate, major_hazards,
       major_hazards_supervised, major_hazard_supervised_rate, monitoring_coverage,
       insurance_coverage, drill_coverage, attendances_per_1000_residents,
       enterprise_training_coverage, street_code, street_name
FROM marts.kpi_official_indicators
WHERE street_code = $area
ORDER BY year
"""

def load_official_indicators(area: str = DISTRICT) -> pd.DataFrame:
    """The rows of one area of ``marts.kpi_official_indicators`` by year: the district's
    (street_code 'ALL') or one street's (a street office's own: issue 13)."""
    return query(OFFICIAL_INDICATORS_SQL, {"area": area})


# --- 总览: the 2020 projection and today's alerts (reporting marts) ---------------------------
#
# The rules are dbt's (dbt_project/models/marts/rpt_*.sql, described in their YAML): the page
# selects the rows of its year or streets and sums the counts over the streets a user picked.

TARGETS_PROJECTION_SQL = """
SELECT indicator, indicator_name, unit, seen_from_year, mode, method, target_2020, value_2020,
       base_year, base_value, change_vs_base, last_year, last_value, annual_change,
       required_change, target_met, unavailable_reason
FROM marts.rpt_targets_projection
WHERE street_code = 'ALL'
  AND seen_from_year = (SELECT max(seen_from_year) FROM marts.rpt_targets_projection
                        WHERE seen_from_year <= $year)
ORDER BY indicator
"""

HAZARD_ALERTS_SQL = """
SELECT count(*) AS rows,
       coalesce(sum(major_overdue_open), 0)::BIGINT AS major_overdue_open,
       coalesce(sum(major_not_supervised_open), 0)::BIGINT AS major_not_supervised_open,
       coalesce(sum(major_overdue_not_supervised), 0)::BIGINT AS major_overdue_not_supervised,
       coalesce(sum(overdue_open), 0)::BIGINT AS overdue_open
FROM marts.rpt_alerts_today_hazards
WHERE len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], street_code)
"""

MONITORING_ALERTS_SQL = """
SELECT coalesce(sum(sources_below_full_coverage), 0)::BIGINT AS sources_below_full_coverage,
       sum(episodes_last_24h)::BIGINT AS episodes_last_24h,
       sum(high_high_episodes_last_24h)::BIGINT AS high_high_episodes_last_24h,
       sum(hazard_sources_alarming_last_24h)::BIGINT AS hazard_sources_alarming_last_24h,
       max(as_of_time) AS as_of_time
FROM marts.rpt_alerts_today_monitoring
WHERE len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], street_code)
"""

PLAN_ALERTS_SQL = """
SELECT coalesce(sum(plans_not_reaching_district), 0)::BIGINT AS plans_not_reaching_district
FROM marts.rpt_alerts_today_plans
WHERE len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], street_code)
"""


def load_targets_projection(year: int) -> pd.DataFrame:
    """The 2020 outcome of each headline target seen from ``year`` (``marts.rpt_targets_projection``:
    the row of the latest year of the targets not after ``year``), one row per indicator."""
    return query(TARGETS_PROJECTION_SQL, {"year": int(year)})


def load_hazard_alerts(streets: list[str] | None) -> dict[str, int]:
    """Open hidden hazards needing attention today, summed over the streets
    (``marts.rpt_alerts_today_hazards``)."""
    df = query(HAZARD_ALERTS_SQL, {"streets": _streets_param(streets)})
    return {k: int(v) for k, v in df.iloc[0].items() if k != "rows"}


def load_monitoring_alerts(streets: list[str] | None) -> dict[str, Any]:
    """Hazard sources below full coverage and the alarms of the last 24 hours of data, summed over
    the streets (``marts.rpt_alerts_today_monitoring``); the 24-hour counts and ``as_of_time``
    are None when there is no sensor data."""
    row = query(MONITORING_ALERTS_SQL, {"streets": _streets_param(streets)}).iloc[0]
    as_of = None if pd.isna(row["as_of_time"]) else pd.Timestamp(row["as_of_time"]).to_pydatetime()
    out: dict[str, Any] = {"sources_below_full_coverage": int(row["sources_below_full_coverage"]),
                           "as_of_time": as_of}
    for key in ("episodes_last_24h", "high_high_episodes_last_24h", "hazard_sources_alarming_last_24h"):
        out[key] = None if as_of is None or pd.isna(row[key]) else int(row[key])
    return out


def load_plan_alerts(streets: list[str] | None) -> int:
    """Current plans that do not reach the district plan, summed over the streets of the plans
    (``marts.rpt_alerts_today_plans``; every row, ALL included, when no street is chosen)."""
    df = query(PLAN_ALERTS_SQL, {"streets": _streets_param(streets)})
    return int(df.iloc[0]["plans_not_reaching_district"])


# --- queries of the 风险 page (risk inventory marts) -----------------------------------------
#
# The inventory is the latest quarterly snapshot (no period). The level counted, its order and
# the category are the mart's (risk_level_label / risk_level_order / risk_category_label: 未定级,
# 未分类 when none); so are a street's highest level and the flag reason in Chinese.

RISK_LEVELS: dict[str, str] = {"红": "重大风险", "橙": "较大风险", "黄": "一般风险", "蓝": "低风险"}
UNRATED = "未定级"

RISK_BY_STREET_SQL = """
SELECT a.street_code, s.street_name,
       a.risk_level, a.risk_level_order, a.risk_points, a.flagged_points, a.snapshot_quarter,
       a.street_highest_level
FROM marts.agg_risk_points_by_street AS a
LEFT JOIN marts.dim_streets AS s ON s.street_code = a.street_code
WHERE (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], a.street_code))
ORDER BY a.street_code, a.risk_level_order
"""

# The counts are dbt's (marts.rpt_risk_by_category, per street, category and level): the page
# sums the rows of the chosen streets.
RISK_BY_CATEGORY_SQL = """
SELECT risk_category, min(risk_category_order) AS risk_category_order, risk_level,
       sum(risk_points)::BIGINT AS risk_points,
       sum(flagged_points)::BIGINT AS flagged_points
FROM marts.rpt_risk_by_category
WHERE (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], street_code))
GROUP BY risk_category, risk_level
ORDER BY risk_category_order, risk_category, risk_level
"""

# Every category of the inventory in the mart's display order (risk_category_order).
RISK_CATEGORY_NAMES_SQL = """
SELECT risk_category, min(risk_category_order) AS risk_category_order
FROM marts.rpt_risk_by_category
GROUP BY risk_category
ORDER BY risk_category_order, risk_category
"""

# $level / $category: '' = all; $flagged_only: only the flagged rows.
RISK_POINTS_SQL = """
SELECT p.risk_point_id, p.risk_point_name, p.street_code,
       p.street_name,
       p.risk_category_label AS risk_category,
       p.likelihood, p.severity, p.risk_value, p.risk_value_computed, p.risk_level,
       p.risk_level_label AS risk_level_effective,
       p.flagged, p.flag_reason, p.flag_reason_zh, p.responsible_unit, p.assessed_on, p.snapshot_quarter
FROM marts.fct_risk_points AS p
LEFT JOIN marts.dim_streets AS s ON s.street_code = p.street_code
WHERE (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], p.street_code))
  AND ($level = '' OR p.risk_level_label = $level)
  AND ($category = '' OR p.risk_category_label = $category)
  AND (NOT $flagged_only OR p.flagged)
ORDER BY p.risk_level_order, s.street_order NULLS LAST, p.risk_point_id
"""


def load_risk_by_street(streets: list[str] | None) -> pd.DataFrame:
    """Risk points per street and level of the current inventory (``marts.agg_risk_points_by_street``)."""
    return query(RISK_BY_STREET_SQL, {"streets": _streets_param(streets)})


def load_risk_by_category(streets: list[str] | None) -> pd.DataFrame:
    """Risk points per category and level over the chosen streets (``marts.rpt_risk_by_category``)."""
    return query(RISK_BY_CATEGORY_SQL, {"streets": _streets_param(streets)})


def load_risk_categories() -> list[str]:
    """Every category of the current inventory, in the mart's order (``risk_category_order``)."""
    return query(RISK_CATEGORY_NAMES_SQL)["risk_category"].astype(str).tolist()


def load_risk_points(
    streets: list[str] | None, level: str = "", category: str = "", flagged_only: bool = False
) -> pd.DataFrame:
    """The risk points of the current inventory for the filters (``marts.fct_risk_points``),
    reddest first, then in the district's street order."""
    return query(
        RISK_POINTS_SQL,
        {
            "streets": _streets_param(streets),
            "level": str(level or ""),
            "category": str(category or ""),
            "flagged_only": bool(flagged_only),
        },
    )


# --- queries of the 隐患 page (hidden hazards) -------------------------------------------------
#
# Hazards are counted by the year (or month) they were found; rectified = of those found, the
# ones rectified by now (as the official 隐患整改率). $grain: 'year' or 'month'.

HAZARD_YEARS_SQL = """
SELECT min(year) AS first_year, max(year) AS last_year, count(*) AS hazards
FROM marts.fct_hazards
"""

_HAZARD_FILTER = """
WHERE h.year BETWEEN $year_from AND $year_to
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], h.street_code))
"""

# The counts are dbt's (marts.rpt_hazards_by_month: one row per month found and street); the
# page sums the rows of the chosen years and streets.
HAZARDS_BY_STREET_SQL = """
SELECT h.street_code, h.street_name,
       sum(h.found)::BIGINT AS found,
       sum(h.rectified)::BIGINT AS rectified,
       sum(h.open_hazards)::BIGINT AS open,
       sum(h.open_overdue)::BIGINT AS open_overdue,
       sum(h.rectified_late)::BIGINT AS rectified_late,
       sum(h.overdue)::BIGINT AS overdue,
       sum(h.major)::BIGINT AS major,
       sum(h.major_supervised)::BIGINT AS major_supervised,
       sum(h.major_not_supervised)::BIGINT AS major_not_supervised,
       sum(h.major_not_supervised_open)::BIGINT AS major_not_supervised_open
FROM marts.rpt_hazards_by_month AS h

WHERE h.year BETWEEN $year_from AND $year_to
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], h.street_code))

GROUP BY 1, 2
ORDER BY 1
"""

HAZARD_MONTHLY_SQL = """
SELECT h.found_month AS period,
       sum(h.found)::BIGINT AS found,
       sum(h.rectified)::BIGINT AS rectified,
       sum(h.major)::BIGINT AS major,
       sum(h.major_supervised)::BIGINT AS major_supervised
FROM marts.rpt_hazards_by_month AS h

WHERE h.year BETWEEN $year_from AND $year_to
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], h.street_code))

GROUP BY 1
ORDER BY 1
"""

# The official indicators per year, numerators and denominators summed over the rows of the
# chosen streets, or the district row (ALL) when none is chosen (``_district_or``).
HAZARD_KPI_SQL = """
SELECT year,
       sum(hazards_found)::BIGINT AS found,
       sum(hazards_rectified)::BIGINT AS rectified,
       sum(major_hazards)::BIGINT AS major,
       sum(major_hazards_supervised)::BIGINT AS major_supervised
FROM marts.kpi_official_indicators
WHERE year BETWEEN $year_from AND $year_to
  AND list_contains($streets::VARCHAR[], street_code)
GROUP BY year
ORDER BY year
"""

MAJOR_HAZARDS_SQL = """
SELECT h.report_id, h.found_on, h.street_code, s.street_name,
       h.community, h.grid_code, h.level, h.deadline, h.rectified_on, h.status, h.is_open,
       h.is_overdue, h.days_to_rectify, h.supervised, h.major_not_supervised
FROM marts.fct_hazards AS h
LEFT JOIN marts.dim_streets AS s ON s.street_code = h.street_code

WHERE h.year BETWEEN $year_from AND $year_to
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], h.street_code))

  AND h.is_major
ORDER BY h.major_not_supervised DESC, h.is_open DESC, h.found_on DESC, h.report_id
"""


def _hazard_params(year_from: int, year_to: int, streets: list[str] | None) -> dict[str, Any]:
    return {"year_from": int(year_from), "year_to": int(year_to), "streets": _streets_param(streets)}


def load_hazard_years() -> tuple[int | None, int | None]:
    """First and last year hazards were found, or (None, None) when there are none."""
    return _year_span(HAZARD_YEARS_SQL)


def load_hazards_by_street(year_from: int, year_to: int, streets: list[str] | None) -> pd.DataFrame:
    """Hazards found in the years, per street: rectified, open, overdue, 重大 (``marts.fct_hazards``)."""
    return query(HAZARDS_BY_STREET_SQL, _hazard_params(year_from, year_to, streets))


def load_hazards_monthly(year_from: int, year_to: int, streets: list[str] | None) -> pd.DataFrame:
    """Hazards found per month (``YYYY-MM``) and, of them, rectified (``marts.fct_hazards``)."""
    return query(HAZARD_MONTHLY_SQL, _hazard_params(year_from, year_to, streets))


def load_hazard_kpi(year_from: int, year_to: int, streets: list[str] | None) -> pd.DataFrame:
    """The numerators and denominators of 隐患整改率 and 重大隐患挂牌督办率 per year
    (``marts.kpi_official_indicators``): the district row, or the sums of the chosen streets."""
    return query(HAZARD_KPI_SQL, _hazard_params(year_from, year_to, _district_or(streets)))


def load_major_hazards(year_from: int, year_to: int, streets: list[str] | None) -> pd.DataFrame:
    """The 重大 hazards found in the years, not-supervised first (``marts.fct_hazards``)."""
    return query(MAJOR_HAZARDS_SQL, _hazard_params(year_from, year_to, streets))


# --- queries of the 执法与信用 page (inspections, blacklist, insurance) --------------------------
#
# fct_inspections carries the street of the inspected unit (street_code, decided in dbt from
# the enterprise registry; UNKNOWN when the unit is not in it). The blacklist and the insurance by
# street are the registry's current state.

INSPECTION_RESULTS = list(feed("emb", "inspections").column("result").choices)  # the registry's, in order

INSPECTION_YEARS_SQL = """
SELECT min(year) AS first_year, max(year) AS last_year, count(*) AS inspections
FROM marts.fct_inspections
"""

# One row per period (year, or month 'YYYY-MM' when $grain = 'month'), street and result: the
# sums of the months of marts.rpt_enforcement_inspections.
INSPECTIONS_SQL = """
SELECT CASE WHEN $grain = 'month' THEN i.inspected_month ELSE i.year::VARCHAR END AS period,
       i.street_code, i.street_name,
       i.result_category AS result,
       sum(i.inspections)::BIGINT AS inspections,
       sum(i.findings)::BIGINT AS findings,
       sum(i.penalty_10k_yuan)::DOUBLE AS penalty_10k_yuan,
       sum(i.penalised)::BIGINT AS penalised,
       sum(i.blacklistings)::BIGINT AS blacklistings
FROM marts.rpt_enforcement_inspections AS i
WHERE i.year BETWEEN $year_from AND $year_to
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], i.street_code))
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 4
"""

BLACKLIST_SQL = """
SELECT e.enterprise_key, e.unit_name, e.uscc, e.street_code,
       e.street_name,
       e.industry, e.blacklisted_since, e.blacklisted_until, e.is_active
FROM marts.dim_enterprises AS e
WHERE e.blacklisted
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], e.street_code))
ORDER BY e.blacklisted_since DESC NULLS LAST, e.unit_name, e.enterprise_key
"""

# One row per street (the key of marts.rpt_enforcement_insurance; summed, like every count the
# pages read, so the page gets one row per street whatever it is given).
INSURANCE_BY_STREET_SQL = """
SELECT street_code, street_name,
       sum(units)::BIGINT AS units,
       sum(insured)::BIGINT AS insured,
       max(snapshot_date) AS snapshot_date
FROM marts.rpt_enforcement_insurance
WHERE len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], street_code)
GROUP BY street_code, street_name
ORDER BY street_code
"""

# The district row and the rows of the chosen streets ($streets holds ALL besides them).
INSURANCE_TREND_SQL = """
SELECT year, street_code, street_name, insurance_coverage
FROM marts.kpi_official_indicators
WHERE year BETWEEN $year_from AND $year_to
  AND list_contains($streets::VARCHAR[], street_code)
ORDER BY year, street_code
"""


def load_inspection_years() -> tuple[int | None, int | None]:
    """First and last year with inspections, or (None, None) when there are none."""
    return _year_span(INSPECTION_YEARS_SQL)


def load_inspections(
    year_from: int, year_to: int, streets: list[str] | None, grain: str = "year"
) -> pd.DataFrame:
    """Inspections per period, street (of the unit) and result, with penalties (万元)."""
    return query(
        INSPECTIONS_SQL,
        {
            "year_from": int(year_from),
            "year_to": int(year_to),
            "streets": _streets_param(streets),
            "grain": "month" if grain == "month" else "year",
        },
    )


def load_blacklist(streets: list[str] | None) -> pd.DataFrame:
    """Units on the safety blacklist now (``marts.dim_enterprises``), latest listing first."""
    return query(BLACKLIST_SQL, {"streets": _streets_param(streets)})


def load_insurance_by_street(streets: list[str] | None) -> pd.DataFrame:
    """Active units and those with current 安责险 per street (``marts.rpt_enforcement_insurance``)."""
    return query(INSURANCE_BY_STREET_SQL, {"streets": _streets_param(streets)})


def load_insurance_trend(year_from: int, year_to: int, streets: list[str] | None) -> pd.DataFrame:
    """安责险覆盖率 per year, district and chosen streets (``marts.kpi_official_indicators``)."""
    return query(
        INSURANCE_TREND_SQL,
        {"year_from": int(year_from), "year_to": int(year_to),
         "streets": [DISTRICT, *_streets_param(streets)]},
    )


# --- 下月检查建议清单 (the 执法与信用 page): the inspection ranking, its model card, the follow-up ---
#
# The ranking, which units are on the list, the reasons, the backtest, which ranker is published
# and why are dbt's (fct_inspection_priorities, inspection_model_card, rpt_inspection_list_followup,
# described in their YAML); the page selects rows. The list's share of the district is dbt's var,
# read here for the page's caption only.

INSPECTION_LIST_SHARE = float(_PLAN["inspection_list_share"])

# Every fold and ranker of the card: the test years first, then overall; the model first.
INSPECTION_MODEL_CARD_SQL = """
SELECT fold, ranker, ranker_zh, is_published_ranker, train_years, test_year,
       units, positives, events, auc, auc_low, auc_high, top10_capture, top20_capture,
       published_ranker, model_version, decision_zh,
       data_window_start, data_window_end, training_rows, scored_for_start, scored_for_end,
       features_zh, outcome_zh, known_limits_zh, is_best_baseline
FROM marts.inspection_model_card
ORDER BY fold = 'overall', test_year NULLS LAST, fold, ranker <> 'model', ranker
"""

# The units on 下月检查建议清单 of the chosen streets (none chosen: the district), by street (the
# mart's street order) and rank in the street.
INSPECTION_LIST_SQL = """
SELECT p.street_code, coalesce(s.street_name, p.street_name) AS street_name,
       p.street_rank, p.district_rank, p.unit_name, p.uscc, p.risk_score,
       p.reason_1_zh, p.reason_2_zh, p.reason_3_zh,
       p.scored_for_start, p.scored_for_end, p.ranker, p.ranker_zh, p.model_version
FROM marts.fct_inspection_priorities AS p
LEFT JOIN marts.dim_streets AS s ON s.street_code = p.street_code
WHERE p.on_inspection_list
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], p.street_code))
ORDER BY s.street_order NULLS LAST, p.street_code, p.street_rank, p.district_rank, p.uscc
"""

# One row per list month: the sums over the chosen streets' rows, or the district's (ALL) row.
INSPECTION_LIST_FOLLOWUP_SQL = """
SELECT list_month,
       sum(listed_units)::BIGINT AS listed_units,
       sum(inspected_units)::BIGINT AS inspected_units,
       sum(inspections)::BIGINT AS inspections,
       sum(findings)::BIGINT AS findings,
       sum(units_with_findings)::BIGINT AS units_with_findings,
       sum(units_penalised)::BIGINT AS units_penalised
FROM marts.rpt_inspection_list_followup
WHERE list_contains($streets::VARCHAR[], street_code)
GROUP BY list_month
ORDER BY list_month
"""


def load_inspection_model_card() -> pd.DataFrame:
    """The backtest of the inspection ranking by fold and ranker (``marts.inspection_model_card``)."""
    return query(INSPECTION_MODEL_CARD_SQL)


def load_inspection_list(streets: list[str] | None) -> pd.DataFrame:
    """The units on 下月检查建议清单 (``marts.fct_inspection_priorities``), by street and rank."""
    return query(INSPECTION_LIST_SQL, {"streets": _streets_param(streets)})


def load_inspection_list_followup(streets: list[str] | None) -> pd.DataFrame:
    """What became of each month's list (``marts.rpt_inspection_list_followup``), oldest first:
    the chosen streets summed, or the district."""
    return query(INSPECTION_LIST_FOLLOWUP_SQL, {"streets": _district_or(streets)})


# --- queries of the 示范创建 page (demonstration marts) -------------------------------------------
#
# Where each unit stands and what its verdict is are dbt's (fct_demonstration_units: stage as
# counted, is_named, passed, weak_criteria); the counts per street and year are dbt's too
# (agg_demonstration_by_street: the eight streets and UNKNOWN, no district row - the district is
# the sum of the streets). The page selects a year and sums the rows of the chosen streets.

DEMONSTRATION_YEARS_SQL = """
SELECT DISTINCT year
FROM marts.agg_demonstration_by_street
WHERE year IS NOT NULL
ORDER BY year
"""

# One row per street of the year, in the district's street order; UNKNOWN only when a unit falls
# to it (an empty 未知街道 row says nothing).
DEMONSTRATION_BY_STREET_SQL = """
SELECT a.street_code, a.street_name, a.year,
       a.units_listed, a.units_planned, a.units_planned_named, a.units_not_started,
       a.units_in_progress, a.units_named, a.units_named_in_year,
       a.units_failed_assessment, a.units_failed_reassessment
FROM marts.agg_demonstration_by_street AS a
LEFT JOIN marts.dim_streets AS s ON s.street_code = a.street_code
WHERE a.year = $year
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], a.street_code))
  AND (a.street_code <> 'UNKNOWN'
       OR coalesce(a.units_listed, 0) + coalesce(a.units_failed_assessment, 0)
          + coalesce(a.units_failed_reassessment, 0) > 0)
ORDER BY s.street_order NULLS LAST, a.street_code
"""

# The units of the latest snapshot, most weak criteria first.
DEMONSTRATION_UNITS_SQL = """
SELECT u.unit_id, u.unit_name, u.unit_tier, u.creation_type, u.street_code, u.street_name,
       u.target_year, u.snapshot_quarter, u.stage, u.stage_order, u.stage_date, u.is_named,
       u.self_share, u.assessed_share, u.passed, u.weak_criteria_count, u.weak_criteria
FROM marts.fct_demonstration_units AS u
LEFT JOIN marts.dim_streets AS s ON s.street_code = u.street_code
WHERE u.is_latest_snapshot
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], u.street_code))
ORDER BY u.weak_criteria_count DESC NULLS LAST, s.street_order NULLS LAST, u.street_code, u.unit_id
"""


def _years(sql: str) -> list[int]:
    return [int(y) for y in query(sql)["year"].dropna()]


def load_demonstration_years() -> list[int]:
    """The years of the creation sheets (``marts.agg_demonstration_by_street``), oldest first."""
    return _years(DEMONSTRATION_YEARS_SQL)


def load_demonstration_by_street(year: int, streets: list[str] | None) -> pd.DataFrame:
    """The demonstration units of each chosen street (every street when none is chosen) in a
    year: listed, planned, named, in progress, failed (``marts.agg_demonstration_by_street``)."""
    return query(DEMONSTRATION_BY_STREET_SQL, {"year": int(year), "streets": _streets_param(streets)})


def load_demonstration_units(streets: list[str] | None) -> pd.DataFrame:
    """Each creating unit at the latest snapshot with its stage, shares, verdict and weak
    criteria (``marts.fct_demonstration_units`` where ``is_latest_snapshot``)."""
    return query(DEMONSTRATION_UNITS_SQL, {"streets": _streets_param(streets)})


# --- queries of the 宣传教育 page (education marts) -----------------------------------------------
#
# Attendances, residents, online views and the enterprise coverage per street and year are dbt's
# (agg_education_by_street). Its ALL row is the whole district (district-wide and online
# activities included), not the sum of the street rows: the page reads it when no street is
# chosen. An activity's street, its people reached (0 for an online course) and an enterprise's
# training status are dbt's too (fct_training_activities, fct_enterprise_training_status).

EDUCATION_YEARS_SQL = """
SELECT DISTINCT year
FROM marts.agg_education_by_street
WHERE year IS NOT NULL
ORDER BY year
"""

# The rows of the chosen streets (every street when none is chosen) and the district row ALL
# (when the file holds it), the district first, then the district's street order.
EDUCATION_BY_STREET_SQL = """
SELECT e.street_code, e.street_name, e.year,
       e.offline_activities, e.attendances, e.attendances_approximate, e.residents_10k,
       e.attendances_per_1000_residents, e.online_courses, e.online_views, e.activities_reported_twice,
       e.active_enterprises, e.enterprises_principal_assessed, e.enterprises_manager_assessed,
       e.enterprises_covered, e.enterprise_training_coverage, e.coverage_reference_date
FROM marts.agg_education_by_street AS e
LEFT JOIN marts.dim_streets AS s ON s.street_code = e.street_code
WHERE e.year = $year
  AND (e.street_code = 'ALL' OR len($streets::VARCHAR[]) = 0
       OR list_contains($streets::VARCHAR[], e.street_code))
ORDER BY (e.street_code = 'ALL') DESC, s.street_order NULLS LAST, e.street_code
"""

# Activities of the year per type, over the chosen streets' activities (every activity, the
# district-wide and online ones included, when none is chosen).
EDUCATION_ACTIVITY_TYPES_SQL = """
SELECT activity_type,
       count(*)::BIGINT AS activities,
       count(*) FILTER (WHERE is_online)::BIGINT AS online_courses,
       coalesce(sum(people_reached), 0)::BIGINT AS people_reached,
       coalesce(sum(attendances) FILTER (WHERE is_online), 0)::BIGINT AS online_views,
       coalesce(sum(passed), 0)::BIGINT AS passed
FROM marts.fct_training_activities
WHERE activity_year = $year
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], street_code))
GROUP BY activity_type
ORDER BY bool_or(is_online) NULLS LAST, activities DESC, activity_type
"""

# $online: '' every activity, 'online' the online courses only, 'offline' the others.
EDUCATION_ACTIVITIES_SQL = """
SELECT a.activity_id, a.activity_date, a.activity_year, a.activity_type, a.is_online, a.topic,
       a.organiser, a.street_code, a.street_name, a.audience, a.attendances, a.attendances_approximate,
       a.people_reached, a.passed, a.hours, a.reports, a.reported_ids
FROM marts.fct_training_activities AS a
WHERE a.activity_year = $year
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], a.street_code))
  AND ($online = '' OR ($online = 'online') = a.is_online)
ORDER BY a.activity_date DESC, a.activity_id
"""

# The enterprises not yet covered (is_covered false: the mart's rule), street by street.
EDUCATION_TODO_SQL = """
SELECT t.street_code, t.street_name, t.enterprise_key, t.uscc, t.unit_name, t.roles_missing,
       t.principal_passed_on, t.manager_passed_on, t.as_of_date
FROM marts.fct_enterprise_training_status AS t
LEFT JOIN marts.dim_streets AS s ON s.street_code = t.street_code
WHERE NOT t.is_covered
  AND (len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], t.street_code))
ORDER BY s.street_order NULLS LAST, t.street_code, t.unit_name, t.enterprise_key
"""

# Active enterprises, covered and not, per street at the as-of date.
EDUCATION_TODO_BY_STREET_SQL = """
SELECT t.street_code, t.street_name,
       count(*)::BIGINT AS active_enterprises,
       count(*) FILTER (WHERE t.is_covered)::BIGINT AS covered,
       count(*) FILTER (WHERE NOT t.is_covered)::BIGINT AS not_covered,
       max(t.as_of_date) AS as_of_date
FROM marts.fct_enterprise_training_status AS t
LEFT JOIN marts.dim_streets AS s ON s.street_code = t.street_code
WHERE len($streets::VARCHAR[]) = 0 OR list_contains($streets::VARCHAR[], t.street_code)
GROUP BY t.street_code, t.street_name, s.street_order
ORDER BY s.street_order NULLS LAST, t.street_code
"""


def load_education_years() -> list[int]:
    """The years of the training lists (``marts.agg_education_by_street``), oldest first."""
    return _years(EDUCATION_YEARS_SQL)


def load_education_by_street(year: int, streets: list[str] | None) -> pd.DataFrame:
    """A year's education figures of the chosen streets (every street when none is chosen) and
    the district row ALL where the file holds it (``marts.agg_education_by_street``)."""
    return query(EDUCATION_BY_STREET_SQL, {"year": int(year), "streets": _streets_param(streets)})


def load_education_activity_types(year: int, streets: list[str] | None) -> pd.DataFrame:
    """A year's activities per type: activities, online courses, people reached, online views
    and passed (sums of ``marts.fct_training_activities``)."""
    return query(EDUCATION_ACTIVITY_TYPES_SQL, {"year": int(year), "streets": _streets_param(streets)})


def load_education_activities(year: int, streets: list[str] | None, online: str = "") -> pd.DataFrame:
    """A year's activities, newest first (``marts.fct_training_activities``); ``online``:
    ``'online'`` the online courses only, ``'offline'`` the others, ``''`` every activity."""
    return query(
        EDUCATION_ACTIVITIES_SQL,
        {"year": int(year), "streets": _streets_param(streets),
         "online": online if online in ("online", "offline") else ""},
    )


def load_education_todo(streets: list[str] | None) -> pd.DataFrame:
    """The active enterprises whose principal or safety manager has not passed an assessment in
    the last 12 months, by street (``marts.fct_enterprise_training_status``, not ``is_covered``)."""
    return query(EDUCATION_TODO_SQL, {"streets": _streets_param(streets)})


def load_education_todo_by_street(streets: list[str] | None) -> pd.DataFrame:
    """Active enterprises, covered and not covered, per street at the as-of date
    (``marts.fct_enterprise_training_status``)."""
    return query(EDUCATION_TODO_BY_STREET_SQL, {"streets": _streets_param(streets)})
