"""Tests of the 总览 dashboard page against a small hand-written fixture of the published mart.

The fixture warehouse ($CITYSAFETY_HOME/warehouse/citysafety.duckdb) holds the three mart tables
the page reads, with a handful of rows whose expected figures are computed by hand below.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
from streamlit.testing.v1 import AppTest

from dashboard_harness import (  # noqa: F401 (home: a fixture)
    browser_page,
    create_mart,
    derive_mart,
    home,
    open_warehouse,
    run_page,
    screenshot,
    table_with,
    wait_text,
    warehouse_fixture,
)
from test_dashboard_emergency import contract_definition, create_emergency_marts, create_official_indicators
from test_dashboard_monitoring import STREETS, create_sensor_marts, create_streets, projection_row

MISSING_MESSAGE = "数据仓库尚未发布，请先运行数据管道 make pipeline"

# --- fixture of the published mart -----------------------------------------------------------

# The streets, the sensor marts and the emergency marts come from the fixtures of the 监测 and
# 应急 pages (their hand-computed figures are in those files); the top alerts count them.

# The mart's sentence for 2021's missing GDP (kpi_safety_targets.gdp_missing_reason, as dbt writes
# it before the due date).
GDP_2021_MISSING = "2021年地区生产总值（区统计局初步核算）尚未报送，约定2022年3月31日前报送；报送前亿元GDP死亡率无法计算"
# year, workplace, fire, road, total, gdp, gdp_status, rate, d_chg, r_chg, d_tgt, r_tgt, d_met, r_met,
# GDP due date, why the GDP is missing.
# 2016: 40 deaths / 800 亿元 = 0.05; targets 40 × 0.6 = 24 and 0.05 × 0.45 = 0.0225.
KPI_ROWS = [
    (2016, 10, 5, 25, 40, 40, 800.0, "最终核实", 0.05, 0.0, 0.0, 24.0, 0.0225, False, False, "2017-03-31", None),
    (2017, 8, 4, 22, 34, 34, 850.0, "最终核实", 0.04, -0.15, -0.2, 24.0, 0.0225, False, False, "2018-03-31", None),
    (2018, 6, 3, 20, 29, 29, 1000.0, "最终核实", 0.029, -0.275, -0.42, 24.0, 0.0225, False, False, "2019-03-31", None),
    (2019, 5, 2, 18, 25, 25, 1000.0, "最终核实", 0.025, -0.375, -0.5, 24.0, 0.0225, False, False, "2020-03-31", None),
    # 2020: 21 deaths (-47.5 %), 21 / 1050 = 0.02 (-60 %): both targets met.
    (2020, 4, 2, 15, 21, 21, 1050.0, "初步核算", 0.02, -0.475, -0.6, 24.0, 0.0225, True, True, "2021-03-31", None),
    # 2021: GDP not published yet -> rate NULL; 19 deaths (-52.5 %).
    (2021, 3, 2, 14, 19, 19, None, None, None, -0.525, None, 24.0, 0.0225, True, None, "2022-03-31",
     GDP_2021_MISSING),
]

# event_id, department, street_code, year, deaths, injuries, loss (万元)
EVENTS = [
    ("E1", "emb", "WL", 2020, 1, 0, 50.0),
    ("E2", "fire", "WL", 2020, 0, 2, 10.0),
    ("E3", "traffic", "TS", 2020, 2, 1, 5.0),
    ("E4", "traffic", "WL", 2019, 1, 3, 2.0),
    ("E5", "fire", "CH", 2020, 1, 0, 30.0),
    ("E6", "emb", "UNKNOWN", 2018, 1, 1, 20.0),
    ("E7", "traffic", "CM", 2021, 1, 0, 1.0),
    ("E8", "emb", "TS", 2017, 0, 4, 8.0),
]
DEPT_NAMES = {"emb": "工矿商贸", "fire": "火灾", "traffic": "道路交通"}

# Official indicators (district rows; the 武林 row must not be read).
OFFICIAL_ROWS = [
    {"year": 2020, "street_code": "ALL", "accidents": 8, "accidents_yoy_change": 1 / 7,
     "deaths": 21, "deaths_yoy_change": -0.16, "deaths_per_100m_gdp": 0.02,
     "workplace_deaths_per_100k_employees": 4.0, "fire_deaths_per_100k_residents": 0.4,
     "road_deaths_per_10k_vehicles": 0.75, "hazard_rectification_rate": 0.9,
     "major_hazard_supervised_rate": 1.0, "monitoring_coverage": None,
     "insurance_coverage": 0.85, "drill_coverage": 0.35},
    {"year": 2021, "street_code": "ALL", "accidents": 7, "accidents_yoy_change": -0.125,
     "deaths": 19, "deaths_yoy_change": -2 / 21, "deaths_per_100m_gdp": None,
     "workplace_deaths_per_100k_employees": 3.0, "fire_deaths_per_100k_residents": 0.2,
     "road_deaths_per_10k_vehicles": 0.7, "hazard_rectification_rate": 0.8,
     "major_hazard_supervised_rate": 0.5, "monitoring_coverage": 0.6875,
     "insurance_coverage": 0.9, "drill_coverage": 0.4},
    {"year": 2021, "street_code": "WL", "accidents": 99, "hazard_rectification_rate": 0.01},
]

# Hidden hazards: report_id, street, 重大, open, overdue, supervised.
# All streets: 重大 open and overdue H1 H2 = 2; 重大 open not supervised H1 H3 = 2 (H1 overdue).
# 武林: overdue 2 (H1 H2), not supervised 1 (H1).
HAZARDS = [
    ("H1", "WL", True, True, True, False),
    ("H2", "WL", True, True, True, True),
    ("H3", "TS", True, True, False, False),
    ("H4", "CH", True, False, False, False),  # rectified: not an alert any more
    ("H5", "TS", False, True, True, False),   # 一般
]


# marts.rpt_alerts_today_hazards of those hazards, per street: major overdue open, major not
# supervised open, of them overdue, overdue open, open. 武林: H1 H2; 天水: H3, H5 (一般, overdue).
HAZARD_ALERTS = {"WL": (2, 1, 1, 2, 2), "TS": (0, 1, 0, 1, 2)}

# marts.rpt_targets_projection of KPI_ROWS, by hand (value_2020 = v_last × (v_last / v2016) ^
# ((2020 − last) / (last − 2016)); annual = (v_last / v2016) ^ (1 / (last − 2016)) − 1;
# required = (target / v_last) ^ (1 / (2020 − last)) − 1). From 2020 on: the actual 2020 value.
_FIRST = "至少需要2016年之后一年的数据才能推算趋势"
PROJECTION_ROWS = [
    projection_row("deaths_total", 2016, "unavailable", 24.0, None, 40.0, None, None, None, None, None, None,
                   _FIRST),
    # 34 × 0.85^3 = 20.88025
    projection_row("deaths_total", 2017, "projected", 24.0, 20.88025, 40.0, 20.88025 / 40 - 1, 2017, 34.0,
                   -0.15, (24 / 34) ** (1 / 3) - 1, True),
    # 29 × 0.725 = 21.025 (-47.4 % on 40)
    projection_row("deaths_total", 2018, "projected", 24.0, 21.025, 40.0, 21.025 / 40 - 1, 2018, 29.0,
                   0.725 ** 0.5 - 1, (24 / 29) ** 0.5 - 1, True),
    projection_row("deaths_total", 2019, "projected", 24.0, 25 * 0.625 ** (1 / 3), 40.0,
                   25 * 0.625 ** (1 / 3) / 40 - 1, 2019, 25.0, 0.625 ** (1 / 3) - 1, 24 / 25 - 1, True),
    projection_row("deaths_total", 2020, "actual", 24.0, 21.0, 40.0, -0.475, 2020, 21.0, None, None, True),
    projection_row("deaths_total", 2021, "actual", 24.0, 21.0, 40.0, -0.475, 2020, 21.0, None, None, True),
    projection_row("deaths_per_100m_gdp", 2016, "unavailable", 0.0225, None, 0.05, None, None, None, None, None,
                   None, _FIRST),
    projection_row("deaths_per_100m_gdp", 2017, "projected", 0.0225, 0.04 * 0.8 ** 3, 0.05,
                   0.04 * 0.8 ** 3 / 0.05 - 1, 2017, 0.04, 0.8 - 1, (0.0225 / 0.04) ** (1 / 3) - 1, True),
    # 0.029 × 0.58 = 0.01682 (-66.4 % on 0.05)
    projection_row("deaths_per_100m_gdp", 2018, "projected", 0.0225, 0.01682, 0.05, 0.01682 / 0.05 - 1, 2018,
                   0.029, 0.58 ** 0.5 - 1, (0.0225 / 0.029) ** 0.5 - 1, True),
    projection_row("deaths_per_100m_gdp", 2019, "projected", 0.0225, 0.025 * 0.5 ** (1 / 3), 0.05,
                   0.5 ** (1 / 3) / 2 - 1, 2019, 0.025, 0.5 ** (1 / 3) - 1, 0.0225 / 0.025 - 1, True),
    projection_row("deaths_per_100m_gdp", 2020, "actual", 0.0225, 0.02, 0.05, -0.6, 2020, 0.02, None, None, True),
    projection_row("deaths_per_100m_gdp", 2021, "actual", 0.0225, 0.02, 0.05, -0.6, 2020, 0.02, None, None, True),
]


def create_hazards(con: duckdb.DuckDBPyConnection) -> None:
    create_mart(con, "marts.fct_hazards", [
            (rid, street, "重大" if major else "一般", major, None if open_ else "2024-05-10",
             "整改中" if open_ else "已整改", not open_, open_, overdue, supervised,
             major and not supervised)
            for rid, street, major, open_, overdue, supervised in HAZARDS
        ],
        values="(?, '2024-05-01', 2024, ?, NULL, NULL, NULL, ?, ?, "
        "'2024-05-20', ?, ?, ?, ?, ?, NULL, ?, ?, '2024-05-01 10:00', 'grid.jsonl')",
    )
    create_mart(con, "marts.rpt_alerts_today_hazards", [
        (code, *HAZARD_ALERTS.get(code, (0, 0, 0, 0, 0)), "2024-05-31") for code, _, _ in STREETS])


def build_warehouse(
    db_path: Path, *, tables: tuple[str, ...] = ("kpi", "events", "streets", "alerts")
) -> None:
    with open_warehouse(db_path) as con:
        if "streets" in tables:
            create_streets(con)
        if "alerts" in tables:
            create_hazards(con)
            create_sensor_marts(con)
            create_emergency_marts(con)
            create_official_indicators(con, OFFICIAL_ROWS)
        if "kpi" in tables:
            create_mart(con, "marts.kpi_safety_targets", KPI_ROWS)
            create_mart(con, "marts.rpt_targets_projection", PROJECTION_ROWS)
        if "events" in tables:
            names = {code: name for code, name, _ in STREETS}
            rows = []
            for i, (eid, dept, street, year, deaths, injuries, loss) in enumerate(EVENTS, start=1):
                occurred = f"{year}-06-{i:02d} 10:00:00"
                rows.append(
                    (eid, dept, DEPT_NAMES[dept], f"{dept}-{i}", occurred, occurred[:10], year,
                     street, names[street], deaths, injuries, loss, "测试类别", None, occurred,
                     f"{dept}.csv", i)
                )
            create_mart(con, "marts.fct_casualty_events", rows)
            derive_mart(con, "rpt_overview_casualties")


warehouse_home = warehouse_fixture(build_warehouse)


def run_app(query_params: dict[str, str] | None = None) -> AppTest:
    return run_page(None, query_params)


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


dataframe_with = table_with


def all_text(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.title, *at.subheader)]
    return "\n".join(str(p) for p in parts)


# --- AppTest ----------------------------------------------------------------------------------


def test_overview_headline_and_breakdown_default_view(home):
    at = run_app()
    m = metrics(at)
    # The page opens on the action plan's verdict: the target year's two targets come first
    # (issue 13), before the selected (latest) year.
    assert [x.label for x in at.metric][:3] == [
        "2020年各类生产安全事故死亡人数", "2020年亿元GDP生产安全事故死亡率", "2020年地区生产总值（GDP）"]
    assert at.subheader[0].value == "2020年 三年行动计划目标完成情况（全区）"
    assert m["2020年各类生产安全事故死亡人数"] == ("21 人", "-47.5%")
    assert m["2020年亿元GDP生产安全事故死亡率"] == ("0.0200 人/亿元", "-60.0%")
    # Default period = every year (2016–2021); the year's headline = 2021, GDP not yet delivered:
    # what is missing and when it is due (the mart's sentence and date), never a bare "—".
    assert m["2021年各类生产安全事故死亡人数"] == ("19 人", "-52.5%")
    assert m["2021年亿元GDP生产安全事故死亡率"][0] == "待GDP报送后计算"
    assert m["2021年地区生产总值（GDP）"][0] == "尚未报送"
    text = all_text(at)
    assert "2021年 三年行动计划核心指标（全区）" in text
    assert "2020年目标：≤ 24 人（2016年 40 人 × 60%）" in text
    assert "2020年目标：≤ 0.0225 人/亿元（2016年 0.0500 × 45%）" in text
    assert GDP_2021_MISSING + "。" in text
    assert "约定报送日期：2022年3月31日前（区统计局，初步核算）" in text
    # The verdict comes before the 2021 section, and the 2021 section before the alerts.
    order = [x.value for x in at.subheader]
    assert order.index("2020年 三年行动计划目标完成情况（全区）") < order.index("2021年 三年行动计划核心指标（全区）")
    assert order.index("2021年 三年行动计划核心指标（全区）") < order.index("今日重点提醒（全区）")
    # Breakdown over every street, 2016–2021: all 8 events.
    assert m["死亡人数（所选范围）"][0] == "7 人"
    assert m["受伤人数（所选范围）"][0] == "11 人"
    assert m["伤亡事件（所选范围）"][0] == "8 起"
    assert m["直接经济损失（所选范围）"][0] == "126.0 万元"
    by_dept = dataframe_with(at, "登记部门").set_index("登记部门")["死亡（人）"].to_dict()
    assert by_dept == {"工矿商贸": 2, "火灾": 1, "道路交通": 4}
    by_street = dataframe_with(at, "街道").set_index("街道")["死亡合计（人）"].to_dict()
    assert by_street["武林街道"] == 2 and by_street["天水街道"] == 2
    assert by_street["未知街道"] == 1 and by_street["石桥街道"] == 0
    # The yearly KPI table with Chinese headers, one row per year.
    kpi = dataframe_with(at, "GDP口径")
    assert list(kpi["年份"]) == [2016, 2017, 2018, 2019, 2020, 2021]
    assert "亿元GDP死亡率（人/亿元）" in kpi.columns
    # 2021 without GDP: when it is due, and why its rate has no verdict (never a bare "—").
    last = kpi.set_index("年份").loc[2021]
    assert last["GDP口径"] == "尚未报送（2022年3月31日前）" and last["死亡率目标"] == "待GDP报送"
    assert kpi.set_index("年份").loc[2020, "GDP口径"] == "初步核算"
    assert at.query_params == {}
    # The street filter lists the district's streets in their usual order, unknown last.
    assert at.multiselect(key="overview_streets").options == [name for _, name, _ in STREETS]
    # Altair charts are embedded (vega-lite specs, no CDN).
    assert len(at.get("vega_lite_chart")) == 4


def test_overview_period_and_street_from_query_params(home):
    at = run_app({"streets": "WL", "from": "2016", "to": "2020"})
    m = metrics(at)
    # Headline = 2020, district-wide regardless of the street filter: the verdict only (the
    # selected year is the target year).
    assert m["2020年各类生产安全事故死亡人数"] == ("21 人", "-47.5%")
    assert m["2020年亿元GDP生产安全事故死亡率"] == ("0.0200 人/亿元", "-60.0%")
    assert m["2020年地区生产总值（GDP）"][0] == "1,050.0 亿元"
    assert not any(label.startswith("2021年") for label in m)
    text = all_text(at)
    assert text.count("已达到2020年目标") == 2
    assert "考核目标按全区" in text and "已按街道筛选" in text
    # Breakdown for 武林街道, 2016–2020: E1, E2, E4.
    assert m["死亡人数（所选范围）"][0] == "2 人"
    assert m["受伤人数（所选范围）"][0] == "5 人"
    assert m["伤亡事件（所选范围）"][0] == "3 起"
    assert m["直接经济损失（所选范围）"][0] == "62.0 万元"
    by_dept = dataframe_with(at, "登记部门").set_index("登记部门")["死亡（人）"].to_dict()
    assert by_dept == {"工矿商贸": 1, "火灾": 0, "道路交通": 1}
    by_street = dataframe_with(at, "街道")
    assert list(by_street["街道"]) == ["武林街道"]
    assert at.multiselect(key="overview_streets").value == ["WL"]
    assert at.slider(key="overview_years").value == (2016, 2020)
    assert at.query_params == {"streets": "WL", "from": "2016", "to": "2020"}


def test_overview_street_filter_through_widget_updates_breakdown_and_url(home):
    at = run_app()
    at.multiselect(key="overview_streets").select("WL").select("TS").run()
    assert not at.exception
    m = metrics(at)
    # Headline unchanged (district KPI).
    assert m["2020年各类生产安全事故死亡人数"] == ("21 人", "-47.5%")
    assert m["2021年各类生产安全事故死亡人数"] == ("19 人", "-52.5%")
    # 武林 + 天水, 2016–2021: E1, E2, E3, E4, E8.
    assert m["死亡人数（所选范围）"][0] == "4 人"
    assert m["受伤人数（所选范围）"][0] == "10 人"
    assert m["伤亡事件（所选范围）"][0] == "5 起"
    by_dept = dataframe_with(at, "登记部门").set_index("登记部门")["死亡（人）"].to_dict()
    assert by_dept == {"工矿商贸": 1, "火灾": 0, "道路交通": 3}
    by_street = dataframe_with(at, "街道").set_index("街道")["死亡合计（人）"].to_dict()
    assert by_street == {"武林街道": 2, "天水街道": 2}
    assert at.query_params == {"streets": "WL,TS"}

    at.slider(key="overview_years").set_range(2020, 2020).run()
    assert not at.exception
    m = metrics(at)
    assert m["2020年各类生产安全事故死亡人数"] == ("21 人", "-47.5%")
    assert not any(label.startswith("2021年") for label in m)
    assert m["死亡人数（所选范围）"][0] == "3 人"  # E1 (WL) + E3 (TS)
    assert at.query_params == {"streets": "WL,TS", "from": "2020", "to": "2020"}


def test_overview_ignores_bad_query_params(home):
    at = run_app({"streets": "XX,wl", "from": "abc", "to": "2099"})
    assert at.multiselect(key="overview_streets").value == ["WL"]
    assert at.slider(key="overview_years").value == (2016, 2021)


def test_missing_warehouse_shows_friendly_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    at = run_app()
    assert any(MISSING_MESSAGE in i.value for i in at.info)
    assert not at.metric


def test_missing_mart_table_shows_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb", tables=("streets",))
    at = run_app()
    assert any("缺少所需的数据表" in w.value for w in at.warning)


def test_lock_conflict_shows_message(tmp_path, monkeypatch):
    db = tmp_path / "warehouse" / "citysafety.duckdb"
    build_warehouse(db)
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(db)!r})  # read-write: holds the exclusive lock
            print("locked", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        at = run_app()
        assert any("文件锁冲突" in w.value for w in at.warning)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def test_new_publication_is_picked_up(tmp_path, monkeypatch):
    """An atomic swap of the warehouse file (as the publisher does) shows the new data at once."""
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    live = tmp_path / "warehouse" / "citysafety.duckdb"
    build_warehouse(live)
    at = run_app()
    assert metrics(at)["死亡人数（所选范围）"][0] == "7 人"
    new = tmp_path / "build" / "citysafety.duckdb"
    build_warehouse(new)
    con = duckdb.connect(str(new))
    con.execute("UPDATE marts.fct_casualty_events SET deaths = deaths + 1 WHERE event_id = 'E2'")
    # a publish carries the whole build: the reporting table as dbt rebuilds it from the facts
    con.execute("DROP TABLE marts.rpt_overview_casualties")
    derive_mart(con, "rpt_overview_casualties")
    con.close()
    os.replace(new, live)
    at.run()
    assert metrics(at)["死亡人数（所选范围）"][0] == "8 人"


def alerts(at: AppTest) -> dict[str, str]:
    m = metrics(at)
    return {label: m[label][0] for label in (
        "重大隐患逾期未整改", "重大隐患未挂牌督办", "监测覆盖不足危险源", "近24小时报警",
        "未衔接区级的预案",
    )}


def page_links(at: AppTest) -> list[tuple[str, str, str]]:
    return [(link.proto.label, link.proto.page, link.proto.query_string) for link in at.get("page_link")]


def test_top_alerts_district_and_street(home):
    at = run_app()
    assert alerts(at) == {
        "重大隐患逾期未整改": "2 项",            # H1, H2
        "重大隐患未挂牌督办": "2 项",            # H1, H3 (H4 is rectified)
        "监测覆盖不足危险源": "3 个",    # H2, H3, H5 (监测 fixture)
        "近24小时报警": "3 起",                  # ended after 2024-05-30 12:00 (监测 fixture)
        "未衔接区级的预案": "6 个",        # 应急 fixture
    }
    text = all_text(at)
    assert "其中已逾期 1 项" in text  # H1
    # 隐患 counts every unlisted 重大 hazard of its period; this card only the open ones: its
    # definition (the contract's text) says so beside it (issue 13).
    definition = contract_definition("rpt_alerts_today_hazards", "major_not_supervised_open")
    assert "不论发现年份" in definition and "口径：" + definition in [c.value for c in at.caption]
    assert "高高报 1 起；截至 05-31 12:00" in text
    links = page_links(at)
    assert ("查看隐患", "hazards", "") in links
    assert ("查看监测", "monitoring", "") in links
    assert ("查看预案", "emergency", "") in links

    at = run_app({"streets": "WL"})
    assert alerts(at) == {
        "重大隐患逾期未整改": "2 项",
        "重大隐患未挂牌督办": "1 项",
        "监测覆盖不足危险源": "1 个",  # H3
        "近24小时报警": "1 起",                # H1-P2 on 05-31
        "未衔接区级的预案": "0 个",
    }
    # The links carry the street filter to the page.
    assert ("查看监测", "monitoring", "streets=WL") in page_links(at)
    assert "今日重点提醒（武林街道）" in all_text(at)


def test_open_alarms_card_counts_the_live_alarms_of_the_streets(home, tmp_path, monkeypatch):
    """未结告警 reads the operations database as 告警处置 does (live, not the last publish): the
    alarms not archived yet, of the chosen streets; how many were escalated."""
    from datetime import timedelta

    from citysafety.act import escalation, store

    url = f"sqlite:///{tmp_path / 'ops' / 'operations.db'}"
    monkeypatch.setenv("CITYSAFETY_OPERATIONS_DB_URL", url)
    store.upgrade(url)
    now = store.utcnow()
    try:
        with store.session(url) as s:
            made = [store.record_alarm(s, point_id=p, hazard_source_id=h, street_code=street, grade="Ⅲ",
                                       started_at=now - timedelta(minutes=50), now=now - timedelta(minutes=45))
                    for p, h, street in (("H1-P1", "H1", "WL"), ("H1-P2", "H1", "WL"), ("H2-P1", "H2", "TS"))]
            store.act(s, made[2].id, "签收", actor="street_ts", scope_streets=["TS"], now=now - timedelta(minutes=40))
            assert len(escalation.escalate_due(s, now)) == 2  # 黄色: 30 minutes to acknowledge
        at = run_app()
        assert metrics(at)["未结告警"][0] == "3 起"
        assert "其中已升级 2 起；最久 50 分钟" in all_text(at)
        assert ("去处置", "alarms", "") in page_links(at)
        assert metrics(run_app({"streets": "TS"}))["未结告警"][0] == "1 起"
    finally:
        store.dispose(url)


def test_official_indicators_of_the_selected_year(home):
    at = run_app()
    m = metrics(at)
    # 2021, district row (the 武林 row is not read).
    assert m["事故起数"] == ("7 起", "-12.5%")
    assert m["死亡人数"] == ("19 人", "-9.5%")
    assert m["亿元GDP死亡率（人/亿元）"][0] in ("", "—", None)  # GDP not yet published
    assert m["工矿商贸十万人死亡率（人/10万人）"][0] == "3.00"
    assert m["火灾十万人口死亡率（人/10万人）"][0] == "0.20"
    assert m["道路交通万车死亡率（人/万车）"][0] == "0.70"
    assert m["隐患整改率"][0] == "80.0%"
    assert m["重大隐患挂牌督办率"][0] == "50.0%"
    assert m["监测覆盖率"][0] == "68.8%"
    assert m["安责险覆盖率"][0] == "90.0%"
    assert m["演练覆盖率"][0] == "40.0%"
    # Its definition is the contract's (one text with 应急's, which shows a look-alike rate).
    drill = next(x for x in at.metric if x.label == "演练覆盖率")
    assert drill.proto.help == contract_definition("kpi_official_indicators", "drill_coverage")
    table = dataframe_with(at, "演练覆盖率（%）")
    assert list(table["年份"]) == [2020, 2021]
    assert list(table["事故起数同比（%）"]) == [14.3, -12.5]

    at = run_app({"from": "2016", "to": "2020"})
    m = metrics(at)
    assert m["事故起数"] == ("8 起", "+14.3%")
    assert m["亿元GDP死亡率（人/亿元）"][0] == "0.0200"
    assert m["监测覆盖率"][0] in ("", "—", None)
    assert m["演练覆盖率"][0] == "35.0%"


def test_2020_outcome_from_2020_on(home):
    # From 2020 on the outcome is the verdict at the top (marts.kpi_safety_targets' 2020 row),
    # not repeated as a projection.
    at = run_app()
    m = metrics(at)
    assert m["2020年各类生产安全事故死亡人数"] == ("21 人", "-47.5%")
    assert m["2020年亿元GDP生产安全事故死亡率"] == ("0.0200 人/亿元", "-60.0%")
    text = all_text(at)
    assert "2020年 三年行动计划目标完成情况（全区）" in text
    # Both 2020 targets met; 2021's deaths too (its rate waits for the GDP).
    assert text.count("已达到2020年目标") == 3 and text.count("暂无法评估") == 1
    assert "按当前速度" not in text and not any("（实际）" in label for label in m)


def test_2020_projection_before_2020(home):
    at = run_app({"from": "2016", "to": "2018"})
    m = metrics(at)
    # Deaths 40 (2016) -> 29 (2018): 29 × (29/40)^((2020-2018)/(2018-2016)) = 21.025 ≤ 24.
    assert m["按当前速度预计2020年各类生产安全事故死亡人数"] == ("21.0 人", "-47.4%")
    # Rate 0.05 -> 0.029: 0.029 × 0.58 = 0.01682 ≤ 0.0225.
    assert m["按当前速度预计2020年亿元GDP生产安全事故死亡率"] == ("0.0168 人/亿元", "-66.4%")
    text = all_text(at)
    assert "按当前速度研判2020年目标（2018年视角，全区）" in text
    # sqrt(29/40) - 1 = -14.9 %; sqrt(24/29) - 1 = -9.0 %.
    assert "2016–2018年年均变化 -14.9%；达到目标所需年均变化 -9.0%（2018–2020年）。" in text
    # sqrt(0.58) - 1 = -23.8 %; sqrt(0.0225/0.029) - 1 = -11.9 %.
    assert "2016–2018年年均变化 -23.8%；达到目标所需年均变化 -11.9%（2018–2020年）。" in text
    assert text.count("按当前速度可达到目标") == 2
    # Two projection charts besides the four others.
    assert len(at.get("vega_lite_chart")) == 6


# The rule itself (the projection, its method and hand numbers) is dbt's: its assertions are in
# tests/test_reporting.py (test_project_2020_rules, on the model's SQL) and the dbt unit test
# test_targets_projection_by_hand (dbt_project/models/marts/rpt_targets_projection.yml).


def test_alerts_without_their_marts_show_no_data(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb", tables=("kpi", "events", "streets"))
    at = run_app()
    assert set(alerts(at).values()) == {"—"}
    assert metrics(at)["2021年各类生产安全事故死亡人数"] == ("19 人", "-52.5%")
    assert any("缺少所需的数据表" in w.value for w in at.warning)  # the official indicators


# --- real server + browser --------------------------------------------------------------------


def test_served_page_renders_in_chromium(warehouse_home, tmp_path):
    with browser_page(warehouse_home, tmp_path / "streamlit.log", height=4200) as (page, base):
        page.goto(f"{base}/?streets=WL&from=2016&to=2020")
        wait_text(page, "2020年各类生产安全事故死亡人数", exact=True)
        wait_text(page, "21 人", timeout=10_000)
        # Let vega draw the charts before the screenshot.
        page.locator(".vega-embed").nth(3).wait_for(timeout=20_000)
        page.wait_for_timeout(500)
        body = page.inner_text("body")
        assert "下城区城市安全总览" in body
        assert "0.0200 人/亿元" in body
        assert "武林街道" in body
        assert "今日重点提醒（武林街道）" in body
        assert "事故起数" in body and "演练覆盖率" in body
        assert page.title() == "下城区城市安全管理平台"
        screenshot(page, "overview")


def test_leader_reads_the_2020_verdict_without_scrolling(warehouse_home, tmp_path):
    """Issue 13: at 1366×768 the first screen of 总览 holds both 2020 targets with their figures
    and verdicts, above the fold, before any scrolling."""
    with browser_page(warehouse_home, tmp_path / "streamlit.log", height=768) as (page, base):
        page.set_viewport_size({"width": 1366, "height": 768})
        page.goto(f"{base}/")
        wait_text(page, "2020年 三年行动计划目标完成情况（全区）", exact=True)
        wait_text(page, "2020年亿元GDP生产安全事故死亡率", exact=True)
        page.wait_for_timeout(1000)
        shown = [
            page.get_by_text("2020年各类生产安全事故死亡人数", exact=True).first,
            page.get_by_text("21 人", exact=True).first,
            page.get_by_text("0.0200 人/亿元", exact=True).first,
            *page.get_by_text("已达到2020年目标").all()[:2],
            page.get_by_text("2020年目标：≤ 0.0225 人/亿元", exact=False).first,
        ]
        assert len(shown) == 6
        for locator in shown:
            box = locator.bounding_box()
            assert box is not None and box["width"] > 0
            assert 0 <= box["y"] and box["y"] + box["height"] <= 768, (locator.inner_text(), box)
        screenshot(page, "overview_verdict_1366x768")
