"""All data access of the dashboards: read-only queries on the published mart (schema ``marts``).

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
