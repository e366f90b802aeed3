"""Tests of the 隐患 dashboard page against a hand-written fixture of the published mart.

The fixture warehouse ($CITYSAFETY_HOME/warehouse/citysafety.duckdb) holds the mart tables the
page reads (marts.dim_streets, marts.fct_hazards, marts.kpi_official_indicators, with the
contracts' columns): twelve hazards found in 2023-2024, and the official indicators computed
from them as the dbt model does; marts.rpt_hazards_by_month is dbt's model run over those hand
rows (dashboard_harness.derive_mart). Expected figures are computed by hand in the tests.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard_harness import (  # noqa: F401 (home: a fixture)
    create_dim_streets,
    browser_page,
    chart_specs,
    create_mart,
    derive_mart,
    home,
    metrics,
    open_warehouse,
    screenshot,
    table_with,
    wait_text,
    warehouse_fixture,
)
from dashboard_harness import run_page as _run_page
from dashboards import components
from dashboards.views import hazards
from test_dashboard_emergency import contract_definition

PAGE = "hazards"

# --- fixture of the published mart -----------------------------------------------------------

STREETS = [
    ("WL", "武林街道", "武林", False),
    ("TS", "天水街道", "天水", False),
    ("CH", "朝晖街道", "朝晖", False),
    ("CM", "潮鸣街道", "潮鸣", False),
    ("CQ", "长庆街道", "长庆", False),
    ("SQ", "石桥街道", "石桥", False),
    ("DX", "东新街道", "东新", False),
    ("WH", "文晖街道", "文晖", False),
    ("UNKNOWN", "未知街道", None, True),
]

# report_id, found_on, street, level, deadline, rectified_on, status, supervised,
# is_rectified, is_open, is_overdue (as of the build, after 2024-06-30)
HAZARDS = [
    ("H01", "2023-03-05", "WL", "一般", "2023-03-20", "2023-03-18", "已销号", False, True, False, False),
    ("H02", "2023-03-10", "WL", "一般", "2023-03-25", "2023-04-02", "已整改", False, True, False, True),
    ("H03", "2023-07-01", "TS", "重大", "2023-09-30", "2023-09-01", "已销号", True, True, False, False),
    ("H04", "2023-11-20", "CH", "一般", "2023-12-20", None, "整改中", False, False, True, True),
    ("H05", "2023-12-01", "UNKNOWN", "一般", "2023-12-31", "2023-12-15", "已整改", False, True, False, False),
    ("H06", "2024-01-15", "WL", "重大", "2024-04-15", None, "整改中", False, False, True, True),
    ("H07", "2024-02-01", "TS", "一般", "2024-02-20", "2024-02-10", "已销号", False, True, False, False),
    ("H08", "2024-02-20", "TS", "一般", "2024-03-05", None, "待整改", False, False, True, True),
    ("H09", "2024-03-03", "CM", "重大", "2024-06-30", "2024-05-01", "已整改", True, True, False, False),
    ("H10", "2024-03-15", "WL", "一般", "2099-12-31", None, "待整改", False, False, True, False),
    # 已销号 without a rectification date: rectified, not overdue; 重大, supervision unknown.
    ("H11", "2024-03-20", "CH", "重大", "2024-04-20", None, "已销号", None, True, False, False),
    ("H12", "2024-03-28", "WL", "一般", None, None, "待整改", False, False, True, False),
]
NAMES = {code: name for code, name, *_ in STREETS}
KPI_YEARS = (2022, 2023, 2024)  # 2022: no hazards (rates null)


def hazard_rows() -> list[tuple]:
    rows = []
    for rid, found, street, level, deadline, rect, status, sup, is_rect, is_open, overdue in HAZARDS:
        major = level == "重大"
        days = None if rect is None else (dt.date.fromisoformat(rect) - dt.date.fromisoformat(found)).days
        rows.append(
            # A community's name is Chinese, as the grid system delivers it (武林社区), not a code.
            (rid, found, int(found[:4]), street, f"{NAMES.get(street, '未知街道')[:2]}社区", f"{street}-G01", None, level, major,
             deadline, rect, status, is_rect, is_open, overdue, days, sup, major and not bool(sup),
             f"{found} 09:00:00", "hazards_2024-06-30.sqlite")
        )
    return rows


def kpi_rows() -> list[tuple]:
    """marts.kpi_official_indicators: hazard columns as the dbt model computes them."""
    rows = []
    for year in KPI_YEARS:
        for street in ["ALL", *(s[0] for s in STREETS)]:
            mine = [h for h in HAZARDS if int(h[1][:4]) == year and (street == "ALL" or h[2] == street)]
            found = len(mine)
            rectified = sum(h[8] for h in mine)
            major = sum(h[3] == "重大" for h in mine)
            supervised = sum(h[3] == "重大" and bool(h[7]) for h in mine)
            rows.append(
                (f"{year}:{street}", year, street, street == "ALL", 0, None, 0, None, None, None,
                 None, None, None, None, None, found, rectified,
                 rectified / found if found else None, major, supervised,
                 supervised / major if major else None, None, None, None,
                 "全区" if street == "ALL" else NAMES[street], None, None)  # education indicators
            )
    return rows


def build_warehouse(db_path: Path, *, tables: tuple[str, ...] = ("streets", "hazards", "kpi")) -> None:
    with open_warehouse(db_path) as con:
        if "streets" in tables:
            create_dim_streets(con, [s[0] for s in STREETS])  # dbt's model over the seed's rows
        if "hazards" in tables:
            create_mart(con, "marts.fct_hazards", hazard_rows())
        if "hazards" in tables and "streets" in tables:
            # the page's counts: dbt's model over the hand rows above
            derive_mart(con, "rpt_hazards_by_month")
        if "kpi" in tables:
            create_mart(con, "marts.kpi_official_indicators", kpi_rows())


warehouse_home = warehouse_fixture(build_warehouse)


def run_page(query_params: dict[str, str] | None = None) -> AppTest:
    return _run_page(PAGE, query_params)


def all_text(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.title,
                               *at.subheader)]
    return "\n".join(str(p) for p in parts)


# --- helpers ----------------------------------------------------------------------------------


def test_pct_and_trend_table_fill_months():
    assert components.rate_pct(7, 12) == 58.3
    assert components.rate_pct(1, 0) is None and components.rate_pct(0, None) is None
    monthly = pd.DataFrame({"period": ["2024-01", "2024-03"], "found": [2, 1], "rectified": [1, 1],
                            "major": [1, 0], "major_supervised": [0, 0]})
    table = hazards.trend_table(monthly, "month", 2024, 2024)
    # Every month up to the last month with hazards, zeros in between.
    assert list(table["period"]) == ["2024-01", "2024-02", "2024-03"]
    assert list(table["found"]) == [2, 0, 1]
    assert table["rate_pct"].tolist()[::2] == [50.0, 100.0] and pd.isna(table["rate_pct"][1])
    assert table["supervised_pct"].tolist()[0] == 0.0 and table["supervised_pct"][1:].isna().all()
    assert list(table["period_label"]) == ["2024年1月", "2024年2月", "2024年3月"]


# --- AppTest ----------------------------------------------------------------------------------


def test_default_view_all_streets_all_years(home):
    at = run_page()
    m = metrics(at)
    # 12 hazards 2023-2024; rectified H01 H02 H03 H05 H07 H09 H11 = 7; open H04 H06 H08 H10 H12.
    assert m["排查隐患"] == "12 项"
    assert m["已整改"] == "7 项"
    assert m["隐患整改率"] == "58.3%"
    assert m["未整改"] == "5 项"
    assert m["逾期未整改"] == "3 项"  # H04, H06, H08
    assert m["重大隐患"] == "4 项"  # H03, H06, H09, H11
    assert m["重大隐患挂牌督办率"] == "50.0%"  # H03, H09
    assert m["未挂牌督办的重大隐患"] == "2 项"  # H06, H11
    # All 重大 hazards against the unlisted ones: each with the contract's definition beside it.
    captions = [c.value for c in at.caption]
    for column in ("major", "major_not_supervised"):
        assert "口径：" + contract_definition("rpt_hazards_by_month", column) in captions
    text = all_text(at)
    assert "有 3 项隐患已过整改期限仍未整改" in text
    assert "有 2 项重大隐患未挂牌督办（其中 1 项尚未整改）" in text
    by_street = table_with(at, "其中逾期未整改（项）").set_index("街道")
    assert by_street.loc["武林街道", "排查隐患（项）"] == 5
    assert by_street.loc["武林街道", "未整改（项）"] == 3
    assert by_street.loc["武林街道", "其中逾期未整改（项）"] == 1
    assert by_street.loc["武林街道", "逾期后整改（项）"] == 1  # H02
    assert by_street.loc["武林街道", "隐患整改率（%）"] == 40.0
    assert by_street.loc["天水街道", "其中逾期未整改（项）"] == 1
    assert by_street.loc["朝晖街道", "重大隐患未挂牌督办（项）"] == 1
    assert by_street.loc["长庆街道", "排查隐患（项）"] == 0
    assert by_street.loc["未知街道", "已整改（项）"] == 1
    # Yearly trend from the official indicators: 2023 4/5 = 80 %, 1/1 supervised; 2024 3/7, 1/3.
    trend = table_with(at, "期间").set_index("期间")
    assert list(trend.index) == ["2023年", "2024年"]
    assert trend.loc["2023年", "隐患整改率（%）"] == 80.0
    assert trend.loc["2023年", "重大隐患挂牌督办率（%）"] == 100.0
    assert trend.loc["2024年", "排查隐患（项）"] == 7
    assert trend.loc["2024年", "隐患整改率（%）"] == 42.9
    assert trend.loc["2024年", "重大隐患挂牌督办率（%）"] == 33.3
    # 重大 hazards, not supervised first (H06 open before H11), then the newest.
    majors = table_with(at, "督办核查")
    assert list(majors["隐患编号"]) == ["H06", "H11", "H09", "H03"]
    assert list(majors["督办核查"]) == ["⚠ 未挂牌督办", "⚠ 未挂牌督办", "已挂牌督办", "已挂牌督办"]
    assert list(majors["挂牌督办"]) == ["否", "未填写", "是", "是"]
    assert at.query_params == {}
    specs = chart_specs(at)
    assert len(specs) == 4
    # The 100 % reference line of the rates chart.
    rates = next(s for s in specs if "隐患整改率" in json.dumps(s["title"], ensure_ascii=False))
    assert any(l.get("mark", {}).get("type") == "rule" for l in rates["layer"])


def test_street_and_period_from_query_params(home):
    at = run_page({"streets": "WL,TS", "from": "2024", "to": "2024"})
    m = metrics(at)
    # 2024, 武林 + 天水: H06 H07 H08 H10 H12; rectified H07.
    assert m["排查隐患"] == "5 项"
    assert m["已整改"] == "1 项"
    assert m["隐患整改率"] == "20.0%"
    assert m["未整改"] == "4 项"
    assert m["逾期未整改"] == "2 项"  # H06, H08
    assert m["重大隐患"] == "1 项"
    assert m["重大隐患挂牌督办率"] == "0.0%"
    assert m["未挂牌督办的重大隐患"] == "1 项"
    assert list(table_with(at, "其中逾期未整改（项）")["街道"]) == ["武林街道", "天水街道"]
    # The official indicators of the two streets summed: 2024 WL 0/4, TS 1/2 -> 1/6... rates
    # from the summed counts.
    trend = table_with(at, "期间").set_index("期间")
    assert list(trend.index) == ["2024年"]
    assert trend.loc["2024年", "排查隐患（项）"] == 5
    assert trend.loc["2024年", "隐患整改率（%）"] == 20.0
    assert list(table_with(at, "督办核查")["隐患编号"]) == ["H06"]
    assert at.slider(key="hazards_years").value == (2024, 2024)
    assert at.query_params == {"streets": "WL,TS", "from": "2024", "to": "2024"}


def test_single_street_uses_the_marts_own_rates(home):
    at = run_page({"streets": "CH"})
    trend = table_with(at, "期间").set_index("期间")
    # 朝晖: 2023 H04 open (0 %); 2024 H11 rectified, 重大 without supervision (100 %, 0 %).
    assert trend.loc["2023年", "隐患整改率（%）"] == 0.0
    assert trend.loc["2024年", "隐患整改率（%）"] == 100.0
    assert trend.loc["2024年", "重大隐患挂牌督办率（%）"] == 0.0
    assert pd.isna(trend.loc["2023年", "重大隐患挂牌督办率（%）"])


def test_monthly_trend_through_widgets(home):
    at = run_page()
    at.selectbox(key="hazards_grain").set_value("month").run()
    assert not at.exception
    trend = table_with(at, "期间").set_index("期间")
    # Every month from 2023-01 to the last month with hazards (2024-03).
    assert len(trend) == 15
    assert trend.loc["2023年3月", "排查隐患（项）"] == 2
    assert trend.loc["2023年3月", "已整改（项）"] == 2
    assert trend.loc["2023年5月", "排查隐患（项）"] == 0
    assert pd.isna(trend.loc["2023年5月", "隐患整改率（%）"])
    assert trend.loc["2024年3月", "排查隐患（项）"] == 4  # H09 H10 H11 H12
    assert trend.loc["2024年3月", "隐患整改率（%）"] == 50.0
    assert at.query_params == {"grain": "month"}

    at.multiselect(key="hazards_streets").select("WL").run()
    m = metrics(at)
    assert m["排查隐患"] == "5 项" and m["已整改"] == "2 项" and m["隐患整改率"] == "40.0%"
    trend = table_with(at, "期间").set_index("期间")
    assert trend.loc["2024年3月", "排查隐患（项）"] == 2  # H10, H12
    assert at.query_params == {"grain": "month", "streets": "WL"}

    at.slider(key="hazards_years").set_range(2023, 2023).run()
    assert metrics(at)["排查隐患"] == "2 项"  # H01, H02
    assert at.query_params == {"grain": "month", "streets": "WL", "from": "2023", "to": "2023"}
    assert "没有重大隐患" in all_text(at)


def test_bad_query_params_fall_back(home):
    at = run_page({"streets": "XX", "from": "abc", "to": "2099", "grain": "week"})
    assert at.multiselect(key="hazards_streets").value == []
    assert at.slider(key="hazards_years").value == (2023, 2024)
    assert at.selectbox(key="hazards_grain").value == ""
    assert metrics(at)["排查隐患"] == "12 项"


def test_download_buttons(home):
    at = run_page()
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("下载 CSV") == 3 and labels.count("下载 Excel") == 3


def test_missing_mart_table_shows_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb", tables=("streets",))
    at = run_page()
    assert any("缺少所需的数据表" in w.value for w in at.warning)
    assert not at.metric


def test_missing_warehouse_shows_friendly_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    at = run_page()
    assert any("数据仓库尚未发布" in i.value for i in at.info)


# --- real server + browser --------------------------------------------------------------------


def test_served_page_renders_in_chromium(warehouse_home, tmp_path):
    with browser_page(warehouse_home, tmp_path / "streamlit.log", height=2400) as (page, base):
        page.goto(f"{base}/{PAGE}?grain=month")
        wait_text(page, "隐患排查治理", exact=True)
        wait_text(page, "重大隐患清单", exact=False, timeout=10_000)
        page.locator(".vega-embed").nth(3).wait_for(timeout=20_000)
        page.wait_for_timeout(1500)
        body = page.inner_text("body")
        assert "58.3%" in body
        assert "未挂牌督办的重大隐患" in body
        assert "整改趋势（按月）" in body
        assert "grain=month" in page.url
        screenshot(page, PAGE, grow_viewport=True)
