"""Tests of the 监测 dashboard page against a small hand-written fixture of the published mart.

The fixture warehouse ($CITYSAFETY_HOME/warehouse/citysafety.duckdb) holds the sensor marts the
page reads (agg_monitoring_coverage, agg_sensor_alarms_daily, fct_sensor_alarm_episodes), the
enterprise registry that gives a hazard source its street (dim_enterprises) and dim_streets, with
a handful of rows whose expected figures are computed by hand below; plus a minimal 总览 mart (the
app's default page). The builders are reused by tests/test_dashboard_overview.py (top alerts).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard_harness import (  # noqa: F401 (home: a fixture)
    create_dim_streets,
    browser_page,
    chart_titles,
    create_mart,
    derive_mart,
    goto_via_app,
    home,
    metrics,
    open_warehouse,
    screenshot,
    table_with,
    texts,
    wait_text,
    warehouse_fixture,
)
from dashboard_harness import run_page as _run_page

PAGE = "monitoring"

# --- fixture of the published mart -----------------------------------------------------------

STREETS = [
    ("WL", "武林街道", "武林"),
    ("TS", "天水街道", "天水"),
    ("CH", "朝晖街道", "朝晖"),
    ("CM", "潮鸣街道", "潮鸣"),
    ("CQ", "长庆街道", "长庆"),
    ("SQ", "石桥街道", "石桥"),
    ("DX", "东新街道", "东新"),
    ("WH", "文晖街道", "文晖"),
    ("UNKNOWN", "未知街道", None),
]

# Units of the registry: uscc, unit name, street, is_active, snapshot date. U3 moved from 武林 (an
# older, closed row) to 朝晖: the active row wins. U9 (operating H5) is not in the registry.
ENTERPRISES = [
    ("U1", "杭州下城化工一厂", "WL", True, "2024-05-01"),
    ("U2", "天水燃气储配站", "TS", True, "2024-05-01"),
    ("U3", "朝晖石化仓储公司", "CH", True, "2024-05-01"),
    ("U3", "朝晖石化仓储公司（旧址）", "WL", False, "2023-01-01"),
]

# The street each sensor mart publishes for a unit (dbt's rule: the active row of the registry;
# a unit not in it, U9, is UNKNOWN).
UNIT_STREETS = {"U1": "WL", "U2": "TS", "U3": "CH"}


def unit_street(uscc: str) -> str:
    return UNIT_STREETS.get(uscc, "UNKNOWN")


# The unit's name each sensor mart publishes (unit_name, the same rule as the street: the active
# row of the registry; U9 is in none, so no name).
UNIT_NAMES = {"U1": "杭州下城化工一厂", "U2": "天水燃气储配站", "U3": "朝晖石化仓储公司"}


AS_OF = dt.datetime(2024, 5, 31, 12, 0)
# hazard_source_id, name, uscc, level, points, points reporting in the last 24 h, last reading
# District: 16 points, 11 reporting -> 68.8 %; below 100 %: H2, H3, H5.
# 武林 (U1: H1, H3): 6 points, 5 reporting -> 83.3 %; below 100 %: H3.
COVERAGE = [
    ("H1", "液氨储罐区", "U1", "三级", 4, 4, AS_OF),
    ("H2", "LNG储罐区", "U2", "二级", 5, 3, AS_OF - dt.timedelta(minutes=5)),
    ("H3", "甲醇储罐区", "U1", "四级", 2, 1, AS_OF - dt.timedelta(hours=1)),
    ("H4", "成品油仓库", "U3", "三级", 3, 3, AS_OF),
    ("H5", "氯气钢瓶库", "U9", "一级", 2, 0, None),
]

# point_id -> (hazard_source_id, uscc, metric, unit, high, high-high)
POINTS = {
    "H1-P1": ("H1", "U1", "temperature", "℃", 50.0, 60.0),
    "H1-P2": ("H1", "U1", "pressure", "MPa", 1.0, 1.5),
    "H2-P1": ("H2", "U2", "gas", "%LEL", 20.0, 50.0),
    "H3-P1": ("H3", "U1", "level", "m", 8.0, 9.0),
    "H5-P1": ("H5", "U9", "gas", "%LEL", 20.0, 50.0),
}
# point, started, ended, cleared, readings, peak
EPISODES = [
    ("H1-P1", "2024-05-01 08:00", "2024-05-01 08:10", "2024-05-01 08:11", 11, 62.0),   # 高高报
    ("H1-P2", "2024-05-01 09:00", "2024-05-01 09:00", "2024-05-01 09:01", 1, 1.2),
    ("H2-P1", "2024-05-10 10:00", "2024-05-10 10:05", "2024-05-10 10:06", 6, 25.0),
    ("H1-P1", "2024-05-25 14:00", "2024-05-25 14:30", "2024-05-25 14:31", 31, 55.0),
    ("H3-P1", "2024-05-26 01:00", "2024-05-26 01:20", "2024-05-26 01:21", 21, 9.5),    # 高高报
    ("H3-P1", "2024-05-26 05:00", "2024-05-26 05:00", "2024-05-26 05:01", 1, 8.5),
    ("H3-P1", "2024-05-26 23:50", "2024-05-27 00:10", "2024-05-27 00:11", 21, 8.7),
    ("H2-P1", "2024-05-30 11:00", "2024-05-30 11:30", "2024-05-30 11:31", 31, 30.0),
    # The last 24 h of data (ended after 2024-05-30 12:00): these three.
    ("H2-P1", "2024-05-30 13:00", "2024-05-30 13:05", "2024-05-30 13:06", 6, 22.0),
    ("H1-P2", "2024-05-31 08:00", "2024-05-31 08:20", "2024-05-31 08:21", 21, 1.6),    # 高高报
    ("H5-P1", "2024-05-31 11:50", "2024-05-31 11:58", None, 9, 21.0),                  # still open
]
# The 总览 alerts as marts.rpt_alerts_today_monitoring publishes them, per street: hazard sources,
# below 100 % coverage (H2 TS, H3 WL, H5 UNKNOWN), episodes ending after 2024-05-30 12:00 (H2-P1
# 13:05 TS; H1-P2 08:20 WL, 高高报; H5-P1 11:58 UNKNOWN), of them 高高报, sources alarming.
MONITORING_ALERTS = {
    "WL": (2, 1, 1, 1, 1),
    "TS": (1, 1, 1, 0, 1),
    "CH": (1, 0, 0, 0, 0),
    "UNKNOWN": (1, 1, 1, 0, 1),
}
# Days with readings but no episode (the daily mart has one row per day and source with data).
QUIET_DAYS = [("2024-04-01", "H4"), ("2024-05-15", "H4")]


def episode_rows() -> list[tuple]:
    rows = []
    for point, started, ended, cleared, readings, peak in EPISODES:
        source, uscc, metric, unit, high, high_high = POINTS[point]
        start = dt.datetime.fromisoformat(started)
        end = dt.datetime.fromisoformat(ended)
        rows.append((
            f"{point}:{start.isoformat()}", point, source, uscc, metric, unit, start, end,
            None if cleared is None else dt.datetime.fromisoformat(cleared), readings, peak, high,
            high_high, peak >= high_high, (end - start).total_seconds() / 60.0, start.date(),
            unit_street(uscc), UNIT_NAMES.get(uscc), f"危险源{source}", "二级",
        ))
    return rows


def daily_rows() -> list[tuple]:
    """agg_sensor_alarms_daily as the model builds it from the episodes (plus quiet days)."""
    names = {c[0]: c for c in COVERAGE}
    cells: dict[tuple[dt.date, str], dict] = {}
    for row in episode_rows():
        cell = cells.setdefault((row[15], row[2]), {"episodes": 0, "hh": 0, "longest": 0.0, "alarm": 0})
        cell["episodes"] += 1
        cell["hh"] += int(row[13])
        cell["longest"] = max(cell["longest"], row[14])
        cell["alarm"] += row[9]
    for day, source in QUIET_DAYS:
        cells.setdefault(
            (dt.date.fromisoformat(day), source), {"episodes": 0, "hh": 0, "longest": None, "alarm": 0}
        )
    rows = []
    for (day, source), cell in sorted(cells.items()):
        _, name, uscc, level, points, *_ = names[source]
        rows.append((
            day, source, name, uscc, level, points, 1440 * points, cell["alarm"],
            1 if cell["alarm"] else 0, cell["episodes"], cell["hh"], cell["longest"] or None,
            unit_street(uscc),
        ))
    return rows


def create_streets(con: duckdb.DuckDBPyConnection) -> None:
    create_dim_streets(con, [s[0] for s in STREETS])  # dbt's model over the seed's rows


def create_overview_minimal(con: duckdb.DuckDBPyConnection) -> None:
    """The 总览 marts (the app's default page runs first), with two years and no events."""
    create_mart(con, "marts.kpi_safety_targets", [
        (2016, 10, 5, 25, 40, 40, 800.0, "最终核实", 0.05, 0.0, 0.0, 24.0, 0.0225, False, False, "2017-03-31", None),
        (2020, 4, 2, 15, 21, 21, 1050.0, "初步核算", 0.02, -0.475, -0.6, 24.0, 0.0225, True, True, "2021-03-31", None),
    ])
    # marts.rpt_targets_projection of those two years: nothing to project from 2016; 2020 actual.
    create_mart(con, "marts.rpt_targets_projection", [
        projection_row("deaths_total", 2016, "unavailable", 24.0, None, 40.0, None, None, None, None, None,
                       None, "至少需要2016年之后一年的数据才能推算趋势"),
        projection_row("deaths_total", 2020, "actual", 24.0, 21.0, 40.0, -0.475, 2020, 21.0, None, None, True),
        projection_row("deaths_per_100m_gdp", 2016, "unavailable", 0.0225, None, 0.05, None, None, None, None,
                       None, None, "至少需要2016年之后一年的数据才能推算趋势"),
        projection_row("deaths_per_100m_gdp", 2020, "actual", 0.0225, 0.02, 0.05, -0.6, 2020, 0.02, None, None,
                       True),
    ])
    create_mart(con, "marts.fct_casualty_events")
    create_mart(con, "marts.rpt_overview_casualties")


INDICATORS = {"deaths_total": ("各类生产安全事故死亡人数", "人"),
              "deaths_per_100m_gdp": ("亿元GDP生产安全事故死亡率", "人/亿元")}


def projection_row(indicator, year, mode, target, value, base, change, last_year, last_value, annual,
                   required, met, reason=None) -> tuple:
    """A row of marts.rpt_targets_projection (the contract's columns in order)."""
    name, unit = INDICATORS[indicator]
    method = {"actual": "2020年实际值", "projected": "按2016年至末年的年均变化率外推"}.get(mode)
    return (f"{indicator}:{year}", "ALL", indicator, name, unit, year, mode, method, target, value, 2016,
            base, change, last_year, last_value, annual, required, met, reason)


def create_sensor_marts(con: duckdb.DuckDBPyConnection) -> None:
    """dim_enterprises and the three sensor marts, with the contract's columns and types."""
    names = {code: name for code, name, _ in STREETS}
    create_mart(con, "marts.dim_enterprises", [
            (f"{uscc}-{i}" if not active else uscc, uscc, uscc, name, street, names[street],
             names[street], active, snapshot, i)
            for i, (uscc, name, street, active, snapshot) in enumerate(ENTERPRISES, start=3)
        ],
        values="(?, ?, ?, TRUE, NULL, ?, ?, ?, ?, 'C 制造业', 100, "
        "TRUE, '二级', TRUE, '2025-01-01', TRUE, TRUE, FALSE, NULL, NULL, ?, ?, '2020-01-01', "
        "NULL, 1, 'enterprises.xlsx', ?)",
    )
    create_mart(con, "marts.agg_monitoring_coverage", [(hid, name, uscc, level, points, rep, rep / points, last, AS_OF,
                                                         unit_street(uscc), UNIT_NAMES.get(uscc),
                                                         rep == points)  # fully_covered, as dbt
                  for hid, name, uscc, level, points, rep, last in COVERAGE])
    create_mart(con, "marts.agg_sensor_alarms_daily", daily_rows())
    create_mart(con, "marts.fct_sensor_alarm_episodes", episode_rows())
    derive_mart(con, "rpt_monitoring_alarm_windows")  # dbt's window counts over the rows above
    create_mart(con, "marts.rpt_alerts_today_monitoring", [
        (code, *MONITORING_ALERTS.get(code, (0, 0, 0, 0, 0)), AS_OF - dt.timedelta(hours=24), AS_OF)
        for code, _, _ in STREETS])


# marts.agg_alarm_response_by_month (its contract, dbt_project/models/marts/*.yml): per month,
# grade and street (the eight and UNKNOWN, zeros included) plus the district row ALL, whose counts
# are the sum of its streets' and whose p50/p95 minutes are over all its alarms (not a sum).
# (month, grade, street) -> alarms, notified, acknowledged, on site, closed, archived, escalated,
# still open, p50/p95 minutes to acknowledge, p50/p95 minutes to close.
RESPONSES = {
    ("2024-05", "Ⅰ", "WL"): (2, 2, 2, 2, 1, 1, 1, 1, 3.0, 4.8, 40.0, 58.0),
    ("2024-05", "Ⅰ", "TS"): (1, 1, 1, 1, 1, 1, 0, 0, 6.0, 6.0, 30.0, 30.0),
    ("2024-05", "Ⅰ", "ALL"): (3, 3, 3, 3, 2, 2, 1, 1, 4.0, 5.8, 35.0, 57.0),
    ("2024-05", "Ⅲ", "WL"): (1, 1, 0, 0, 0, 0, 1, 1, None, None, None, None),
    ("2024-05", "Ⅲ", "ALL"): (1, 1, 0, 0, 0, 0, 1, 1, None, None, None, None),
    ("2024-04", "Ⅱ", "TS"): (1, 1, 1, 1, 1, 1, 0, 0, 10.0, 10.0, 90.0, 90.0),
    ("2024-04", "Ⅱ", "ALL"): (1, 1, 1, 1, 1, 1, 0, 0, 10.0, 10.0, 90.0, 90.0),
}
RESPONSE_ZERO = (0, 0, 0, 0, 0, 0, 0, 0, None, None, None, None)


def response_rows() -> list[tuple]:
    names = {code: name for code, name, _ in STREETS} | {"ALL": "全区"}
    cells = sorted({(month, grade) for month, grade, _ in RESPONSES})
    return [(f"{month}:{grade}:{code}", month, grade, code, names[code],
             *RESPONSES.get((month, grade, code), RESPONSE_ZERO))
            for month, grade in cells for code in [*names]]


def build_warehouse(db_path: Path, *, sensors: bool = True, responses: bool = True) -> None:
    with open_warehouse(db_path) as con:
        create_streets(con)
        create_overview_minimal(con)
        if sensors:
            create_sensor_marts(con)
        if responses:
            create_mart(con, "marts.agg_alarm_response_by_month", response_rows())


warehouse_home = warehouse_fixture(build_warehouse)


def run_page(query_params: dict[str, str] | None = None) -> AppTest:
    return _run_page(PAGE, query_params)


# --- AppTest ----------------------------------------------------------------------------------


def test_default_view_coverage_and_recent_alarms(home):
    at = run_page()
    m = metrics(at)
    assert m["重大危险源"] == "5 个"
    assert m["监测点（近24小时在线）"] == "11 / 16 个"
    assert m["在线监测覆盖率"] == "68.8%"  # 11 / 16
    assert m["覆盖率低于100%的危险源"] == "3 个"  # H2, H3, H5
    # Last 7 days of data: 2024-05-25..31 -> episodes 4..11 = 8, 高高报 #5 and #10.
    assert m["报警（近7天）"] == "8 起"
    assert m["高高报（近7天）"] == "2 起"
    assert m["报警危险源（近7天）"] == "4 个"  # H1, H2, H3, H5
    assert "数据截至 2024-05-31 12:00（最新读数时间）" in texts(at)
    # Trend over the whole period (2024-04-01..2024-05-31): 11 episodes, 3 高高报, 61 days.
    assert m["报警（所选期间）"] == "11 起"
    assert m["高高报（所选期间）"] == "3 起"
    assert m["日均报警（所选期间）"] == "0.2 起"  # 11 / 61
    # Hazard sources: lowest coverage first, streets through the unit registry.
    sources = table_with(at, "危险源编号")
    assert list(sources["危险源编号"]) == ["H5", "H3", "H2", "H1", "H4"]
    by_id = sources.set_index("危险源编号")
    assert by_id.loc["H5", "街道"] == "未知街道"
    assert by_id.loc["H5", "所属单位"] == "（不在企业名录）"
    assert by_id.loc["H4", "街道"] == "朝晖街道"  # the active registry row wins
    assert by_id.loc["H2", "监测覆盖率（%）"] == 60.0
    assert by_id.loc["H1", "状态"] == "✅ 全部在线"
    assert by_id.loc["H3", "状态"] == "❌ 低于100%"
    # The red call-out names the sources below 100 %.
    assert "以下重大危险源监测覆盖率低于100%" in texts(at)
    assert "LNG储罐区（天水街道，3/5 个点在线）" in texts(at)
    # Recent episodes: newest first, Chinese labels.
    episodes = table_with(at, "报警开始时间")
    assert len(episodes) == 8
    assert episodes.iloc[0]["危险源"] == "氯气钢瓶库"
    assert episodes.iloc[0]["解除时间"] == "—"  # still open: "—", never "None"
    assert episodes.iloc[0]["状态"] == "未解除"
    assert episodes.iloc[1]["报警级别"] == "高高报"
    assert episodes.iloc[1]["监测指标"] == "压力"
    assert at.query_params == {}
    # Charts: coverage and daily trend (vega-lite specs embedded, no CDN).
    assert chart_titles(at) == ["各重大危险源在线监测覆盖率（%）", "每日报警次数（起）"]


def test_street_filter_from_query_params(home):
    at = run_page({"streets": "WL"})
    m = metrics(at)
    # 武林: H1 (4/4) and H3 (1/2).
    assert m["重大危险源"] == "2 个"
    assert m["监测点（近24小时在线）"] == "5 / 6 个"
    assert m["在线监测覆盖率"] == "83.3%"
    assert m["覆盖率低于100%的危险源"] == "1 个"
    # Last 7 days: #4 (H1), #5 #6 #7 (H3), #10 (H1) = 5; 高高报 #5, #10.
    assert m["报警（近7天）"] == "5 起"
    assert m["高高报（近7天）"] == "2 起"
    # Whole period: #1 #2 #4 #5 #6 #7 #10 = 7.
    assert m["报警（所选期间）"] == "7 起"
    assert set(table_with(at, "危险源编号")["危险源编号"]) == {"H1", "H3"}
    # The hazard source filter lists only 武林's sources.
    assert at.selectbox(key="monitoring_source").options == ["全部危险源", "液氨储罐区（H1）", "甲醇储罐区（H3）"]
    assert at.query_params == {"streets": "WL"}


def test_source_window_and_period_through_widgets(home):
    at = run_page()
    at.selectbox(key="monitoring_source").set_value("H2").run()
    assert not at.exception
    m = metrics(at)
    assert m["重大危险源"] == "1 个"
    assert m["在线监测覆盖率"] == "60.0%"
    assert m["报警（近7天）"] == "2 起"  # #8, #9
    assert at.query_params == {"source": "H2"}

    at.radio(key="monitoring_window").set_value(30).run()
    assert not at.exception
    m = metrics(at)
    assert m["报警（近30天）"] == "3 起"  # 2024-05-02..31: #3, #8, #9
    assert len(table_with(at, "报警开始时间")) == 3
    assert at.query_params == {"source": "H2", "days": "30"}

    at.date_input(key="monitoring_period").set_value((dt.date(2024, 5, 30), dt.date(2024, 5, 31))).run()
    assert not at.exception
    m = metrics(at)
    assert m["报警（所选期间）"] == "2 起"  # #8, #9
    assert m["日均报警（所选期间）"] == "1.0 起"
    assert at.query_params == {"source": "H2", "days": "30", "from": "2024-05-30", "to": "2024-05-31"}


def test_period_and_window_from_query_params(home):
    at = run_page({"days": "30", "from": "2024-05-26", "to": "2024-05-31"})
    m = metrics(at)
    # 2024-05-02..31: episodes #3..#11 = 9; 高高报 #5, #10.
    assert m["报警（近30天）"] == "9 起"
    assert m["高高报（近30天）"] == "2 起"
    # Trend 2024-05-26..31: #5 #6 #7 (05-26), #8 #9 (05-30), #10 #11 (05-31) = 7.
    assert m["报警（所选期间）"] == "7 起"
    assert at.date_input(key="monitoring_period").value == (dt.date(2024, 5, 26), dt.date(2024, 5, 31))


def test_bad_query_params_fall_back(home):
    at = run_page({"streets": "XX", "source": "H9", "days": "5", "from": "bad"})
    m = metrics(at)
    assert m["重大危险源"] == "5 个"
    assert m["报警（近7天）"] == "8 起"
    assert at.radio(key="monitoring_window").value == 7


def test_download_buttons_exist(home):
    at = run_page()
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("下载 CSV") >= 3 and labels.count("下载 Excel") >= 3


def test_missing_sensor_marts_show_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb", sensors=False)
    at = run_page()
    assert any("缺少所需的数据表" in w.value for w in at.warning)
    assert not at.metric


def test_alarm_windows_end_on_the_as_of_day_and_count_it(home, monkeypatch):
    """The windows are dbt's (rpt_monitoring_alarm_windows): the last 7 and 30 days of data, the
    as-of day (the date of the latest reading) included."""
    from dashboards import data

    monkeypatch.setattr(data, "_scope", lambda: home / "warehouse" / "citysafety.duckdb")
    assert data.load_alarm_windows() == {
        7: (dt.date(2024, 5, 25), dt.date(2024, 5, 31)),
        30: (dt.date(2024, 5, 2), dt.date(2024, 5, 31)),
    }
    # every source has a row in each window; the alarming ones count once however many episodes
    counts = data.load_alarm_window_counts(7, [])
    assert counts == {"episodes": 8, "high_high_episodes": 2, "hazard_sources_alarming": 4}


# --- 告警响应 (marts.agg_alarm_response_by_month) ------------------------------------------------


def test_response_section_shows_the_district_rows(home):
    at = run_page()
    assert "告警响应（2024-04 至 2024-05，全区）" in [s.value for s in at.subheader]
    m = metrics(at)
    # The district rows (ALL) of 2024-04..05: 3 + 1 + 1 alarms, never the streets' rows again.
    assert m["告警（所选期间）"] == "5 起"
    assert m["已签收"] == "4 起" and m["已处置完毕"] == "3 起" and m["尚未结案"] == "2 起"
    grades = table_with(at, "曾升级（起）")
    assert list(grades["预警等级"]) == ["Ⅰ级（红色）", "Ⅱ级（橙色）", "Ⅲ级（黄色）"]
    assert list(grades["告警（起）"]) == [3, 1, 1] and list(grades["曾升级（起）"]) == [1, 0, 1]
    assert list(grades["已到场（起）"]) == [3, 1, 0] and list(grades["尚未结案（起）"]) == [1, 0, 1]
    rows = table_with(at, "签收用时中位数（分钟）")
    assert "街道" not in rows.columns  # one district row per month and grade
    assert list(rows["报警月份"]) == ["2024-05", "2024-05", "2024-04"]
    first = rows.iloc[0]
    # the district's published percentiles, not a sum or mean of the streets'
    assert (first["签收用时中位数（分钟）"], first["签收用时P95（分钟）"]) == (4.0, 5.8)
    assert (first["处置用时中位数（分钟）"], first["处置用时P95（分钟）"]) == (35.0, 57.0)
    assert rows.iloc[1]["签收用时中位数（分钟）"] is None or pd.isna(rows.iloc[1]["签收用时中位数（分钟）"])


def test_response_section_shows_the_chosen_streets_row_by_row(home):
    at = run_page({"streets": "WL,TS", "from": "2024-05-01", "to": "2024-05-31"})
    assert "告警响应（2024-05，武林街道、天水街道）" in [s.value for s in at.subheader]
    m = metrics(at)
    assert m["告警（所选期间）"] == "4 起"  # WL 2 + 1, TS 1 in 2024-05
    assert m["已处置完毕"] == "2 起" and m["尚未结案"] == "2 起"
    rows = table_with(at, "签收用时P95（分钟）")
    assert list(zip(rows["预警等级"], rows["街道"])) == [
        ("Ⅰ级（红色）", "武林街道"), ("Ⅰ级（红色）", "天水街道"), ("Ⅲ级（黄色）", "武林街道")]
    assert list(rows["签收用时P95（分钟）"])[:2] == [4.8, 6.0]  # each street's own, side by side
    assert list(rows["处置用时中位数（分钟）"])[:2] == [40.0, 30.0]


def test_response_section_with_a_source_says_it_counts_every_source(home):
    at = run_page({"source": "H1"})
    assert "告警响应按街道和等级统计，不区分危险源：此处为所选街道的全部告警。" in texts(at)
    assert metrics(at)["告警（所选期间）"] == "5 起"


def test_missing_response_table_shows_the_missing_table_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb", responses=False)
    at = run_page()
    assert any("缺少所需的数据表" in w.value for w in at.warning)
    assert metrics(at)["重大危险源"] == "5 个"  # the rest of the page is there
    assert "告警（所选期间）" not in metrics(at)


# --- real server + browser --------------------------------------------------------------------


def test_served_page_renders_in_chromium(warehouse_home, tmp_path):
    with browser_page(warehouse_home, tmp_path / "streamlit.log", height=2400) as (page, base):
        goto_via_app(page, base, f"{PAGE}?days=30")
        wait_text(page, "重大危险源监测", exact=True)
        wait_text(page, "9 起", timeout=10_000)
        # Let vega draw both charts before the screenshot.
        page.locator(".vega-embed").nth(1).wait_for(timeout=20_000)
        wait_text(page, "下载 Excel", timeout=10_000)
        page.wait_for_timeout(1000)
        body = page.inner_text("body")
        assert "68.8%" in body
        assert "氯气钢瓶库" in body
        assert "days=30" in page.url
        screenshot(page, PAGE)
