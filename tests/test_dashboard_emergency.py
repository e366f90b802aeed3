"""Tests of the 应急 dashboard page against a small hand-written fixture of the published mart.

The fixture warehouse ($CITYSAFETY_HOME/warehouse/citysafety.duckdb) holds the emergency marts the
page reads (fct_emergency_plans, fct_drills, agg_resources_by_street, kpi_official_indicators) and
dim_streets, with a handful of rows whose expected figures are computed by hand below; plus a
minimal 总览 mart (the app's default page). The builders are reused by
tests/test_dashboard_overview.py (top alerts).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard_harness import (  # noqa: F401 (home: a fixture)
    browser_page,
    chart_titles,
    contract_columns,
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
from test_dashboard_monitoring import STREETS, create_overview_minimal, create_streets


def contract_definition(relation: str, column: str) -> str:
    """A published column's description in its contract (the dbt YAML): the text the page must
    show beside the figure (issue 13)."""
    from citysafety.share import contracts

    return next(c.description for c in contracts.relation_contracts()[relation] if c.name == column)

PAGE = "emergency"

# --- fixture of the published mart -----------------------------------------------------------

# plan_id, name, tier, owner, parent, reaches, link_issue, depth, chain, drills in 12 months,
# last drilled. As of 2024-05-31.
# 15 plans; 9 reach the district plan, 6 do not; drilled in the last 12 months: QJ-001, BM-003,
# JD-WL, SQ-WL-01, QY-0001, SQ-DX-04 = 6 of 15 (40.0 %).
# Streets (nearest owner on the chain naming a street): 武林 JD-WL, SQ-WL-01, QY-0001; 天水 JD-TS,
# SQ-TS-03 (天水街道武林门社区: the full name 天水街道 wins over 武林); 东新 SQ-DX-04, QY-0021;
# ALL for the district and department plans; UNKNOWN for QY-0002 (under a department) and the
# broken enterprise chains. (The street is the mart's: decided in dbt, published as street_code.)
PLAN_STREETS = {"QJ-001": "ALL", "BM-001": "ALL", "BM-003": "ALL", "JD-WL": "WL", "JD-TS": "TS",
                "SQ-WL-01": "WL", "SQ-TS-03": "TS", "QY-0001": "WL", "SQ-DX-04": "DX", "QY-0021": "DX"}
PLANS = [
    ("QJ-001", "下城区突发事件总体应急预案", "区级", "下城区人民政府", None, True, None, 0,
     "QJ-001", 1, "2024-03-01"),
    ("BM-001", "生产安全事故应急预案", "部门", "区应急管理局", "QJ-001", True, None, 1,
     "QJ-001 > BM-001", 0, None),
    ("BM-003", "火灾事故应急预案", "部门", "区消防救援大队", "QJ-001", True, None, 1,
     "QJ-001 > BM-003", 2, "2024-04-10"),
    ("JD-WL", "武林街道突发事件应急预案", "街道", "武林街道办事处", "QJ-001", True, None, 1,
     "QJ-001 > JD-WL", 1, "2024-02-20"),
    ("JD-TS", "天水街道突发事件应急预案", "街道", "天水街道办事处", "QJ-001", True, None, 1,
     "QJ-001 > JD-TS", 0, "2022-06-01"),
    ("SQ-WL-01", "竹竿巷社区突发事件应急预案", "社区", "武林街道竹竿巷社区居委会", "JD-WL", True, None, 2,
     "QJ-001 > JD-WL > SQ-WL-01", 1, "2023-09-15"),
    ("SQ-TS-03", "武林门社区突发事件应急预案", "社区", "天水街道武林门社区居委会", "JD-TS", True, None, 2,
     "QJ-001 > JD-TS > SQ-TS-03", 0, None),
    ("QY-0001", "杭州下城化工一厂生产安全事故应急预案", "企业", "杭州下城化工一厂", "SQ-WL-01", True, None, 3,
     "QJ-001 > JD-WL > SQ-WL-01 > QY-0001", 1, "2024-05-05"),
    ("QY-0002", "某建筑公司生产安全事故应急预案", "企业", "某建筑公司", "BM-001", True, None, 2,
     "QJ-001 > BM-001 > QY-0002", 0, None),
    ("QY-0006", "某商贸公司应急预案", "企业", "某商贸公司", None, False, "未衔接到区级预案", None,
     "QY-0006", 0, None),
    ("QY-0013", "某物流公司应急预案", "企业", "某物流公司", "SQ-WL-09", False, "上级预案不存在", None,
     "SQ-WL-09 > QY-0013", 0, None),
    ("SQ-DX-04", "打索桥社区突发事件应急预案", "社区", "东新街道打索桥社区居委会", None, False,
     "未衔接到区级预案", None, "SQ-DX-04", 1, "2023-12-01"),
    ("QY-0021", "某餐饮公司应急预案", "企业", "某餐饮公司", "SQ-DX-04", False, "未衔接到区级预案", None,
     "SQ-DX-04 > QY-0021", 0, None),
    ("QY-0031", "甲公司应急预案", "企业", "甲公司", "QY-0032", False, "循环引用", None,
     "QY-0031 > QY-0032 > QY-0031", 0, None),
    ("QY-0032", "乙公司应急预案", "企业", "乙公司", "QY-0031", False, "循环引用", None,
     "QY-0032 > QY-0031 > QY-0032", 0, None),
]

# drill_id, day, form, participants, plan_id (the drill's street is its plan's, PLAN_STREETS)
# All years (2022-2024): 9 drills, 645 participants. 2024: D1 D2 D4 D6 = 4 drills, 505 people.
# 武林: D4 D5 D6 = 3 drills (185 people); 武林 in 2024: D4 D6.
DRILLS = [
    ("D1", "2024-03-01", "综合", 300, "QJ-001"),
    ("D2", "2024-04-10", "实战", 60, "BM-003"),
    ("D3", "2023-11-05", "桌面", 30, "BM-003"),
    ("D4", "2024-02-20", "实战", 120, "JD-WL"),
    ("D5", "2023-09-15", "实战", 40, "SQ-WL-01"),
    ("D6", "2024-05-05", "实战", 25, "QY-0001"),
    ("D7", "2023-12-01", "实战", 35, "SQ-DX-04"),
    ("D8", "2022-06-01", "桌面", 20, "JD-TS"),
    ("D9", "2023-07-01", "实战", 15, "QY0012"),  # names no plan on any list: UNKNOWN
]

# street, type, resources, quantity_total, quantity_unit, units, quantity_by_unit
# District: 10 resources (救援队伍 3, 应急物资 3, 应急装备 4); 武林: 6.
RESOURCES = {
    ("WL", "救援队伍"): (2, None, None, 2, "30 人；2 支"),
    ("WL", "应急物资"): (3, 1500.0, "袋", 1, "1500 袋"),
    ("WL", "应急装备"): (1, 2.0, "台", 1, "2 台"),
    ("TS", "救援队伍"): (1, 20.0, "人", 1, "20 人"),
    ("TS", "应急装备"): (2, 3.0, "台", 1, "3 台"),
    ("UNKNOWN", "应急装备"): (1, 1.0, "艘", 1, "1 艘"),
}
RESOURCE_TYPES = ["救援队伍", "应急物资", "应急装备"]

# The district rows of kpi_official_indicators the page reads (drill_coverage), and one street row.
OFFICIAL_COLUMNS = [c.split(" ")[0] for c in contract_columns("marts.kpi_official_indicators").split(", ")]
# year -> district drill coverage (2024: 35 %, 2023: 30 %); a 武林 row that must not be read.
OFFICIAL_ROWS = [
    {"year": 2023, "street_code": "ALL", "drill_coverage": 0.30},
    {"year": 2024, "street_code": "ALL", "drill_coverage": 0.35},
    {"year": 2024, "street_code": "WL", "drill_coverage": 0.99},
]


def create_official_indicators(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """marts.kpi_official_indicators with the given cells (the others null)."""
    cells = []
    for row in rows:
        values = {c: None for c in OFFICIAL_COLUMNS}
        values.update(row)
        values["indicator_id"] = f"{row['year']}:{row['street_code']}"
        values["is_district"] = row["street_code"] == "ALL"
        cells.append([values[c] for c in OFFICIAL_COLUMNS])
    create_mart(con, "marts.kpi_official_indicators", cells)


def create_emergency_marts(con: duckdb.DuckDBPyConnection) -> None:
    """fct_emergency_plans, fct_drills and agg_resources_by_street (contract columns and types)."""
    create_mart(con, "marts.fct_emergency_plans",
                [(pid, name, tier, owner, parent, reaches, issue, depth, chain, drills, last, drills > 0,
                  PLAN_STREETS.get(pid, "UNKNOWN"))
                 for pid, name, tier, owner, parent, reaches, issue, depth, chain, drills, last in PLANS],
                values="(?, ?, ?, ?, ?, ?, ?, ?, ?, '2018-01-01', NULL, ?, ?, ?, ?)")
    plans = {p[0]: p for p in PLANS}
    create_mart(con, "marts.fct_drills", [
        (did, day, int(day[:4]), form, people, pid, pid in plans, pid in plans,
         plans[pid][1] if pid in plans else None, plans[pid][2] if pid in plans else None,
         PLAN_STREETS.get(pid, "UNKNOWN"), i, plans[pid][2] if pid in plans else "不在现行清单")
        for i, (did, day, form, people, pid) in enumerate(DRILLS, start=2)
    ], values="(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 'drills.csv', ?, ?)")
    rows = []
    for code, name, _ in STREETS:
        for rtype in RESOURCE_TYPES:
            count, total, unit, units, by_unit = RESOURCES.get((code, rtype), (0, 0.0, None, 0, None))
            rows.append((code, name, rtype, count, total, unit, units, by_unit,
                         "2024-05-01" if count else None))
    create_mart(con, "marts.agg_resources_by_street", rows)
    # the counts per tier: dbt's model over the plans above
    derive_mart(con, "rpt_emergency_plans_by_tier")
    # the drills per year and tier: dbt's model over the drills above
    derive_mart(con, "rpt_emergency_drills_by_year")
    # marts.rpt_alerts_today_plans: plans and those not reaching the district plan, per street of
    # the plans. Not reaching: SQ-DX-04, QY-0021 (DX); QY-0006, QY-0013, QY-0031, QY-0032
    # (UNKNOWN, with QY-0002 that reaches it) = 6.
    plan_alerts = {"ALL": (3, 0), "WL": (3, 0), "TS": (2, 0), "DX": (2, 2), "UNKNOWN": (5, 4)}
    create_mart(con, "marts.rpt_alerts_today_plans", [
        (code, *plan_alerts.get(code, (0, 0))) for code in [c for c, _, _ in STREETS] + ["ALL"]])


def build_warehouse(db_path: Path, *, emergency: bool = True) -> None:
    with open_warehouse(db_path) as con:
        create_streets(con)
        create_overview_minimal(con)
        if emergency:
            create_emergency_marts(con)
            create_official_indicators(con, OFFICIAL_ROWS)


warehouse_home = warehouse_fixture(build_warehouse)


def run_page(query_params: dict[str, str] | None = None) -> AppTest:
    return _run_page(PAGE, query_params)


def graphs(at: AppTest) -> list[str]:
    return [chart.proto.spec for chart in at.get("graphviz_chart")]


# --- AppTest ----------------------------------------------------------------------------------


def test_default_view_linkage_drills_and_resources(home):
    at = run_page()
    m = metrics(at)
    assert m["现行预案（全区）"] == "15 个"
    assert m["已衔接到区级预案"] == "9 个"
    assert m["未衔接到区级预案"] == "6 个"
    assert m["近12个月演练覆盖率"] == "40.0%"  # 6 / 15
    # Drills of every year (2022-2024) and the official coverage of the last year (district row).
    assert m["演练（2022–2024年）"] == "9 次"
    assert m["参演人数（2022–2024年）"] == "645 人"
    assert m["预案演练覆盖率（2024年，全区）"] == "35.0%"
    # The two drill rates, each with its definition beside it: the contract's text, not a copy.
    captions = [c.value for c in at.caption]
    rolling = contract_definition("rpt_emergency_plans_by_tier", "drill_coverage_12_months")
    yearly = contract_definition("kpi_official_indicators", "drill_coverage")
    assert rolling.startswith("近12个月演练覆盖率：") and yearly.startswith("预案演练覆盖率（官方指标）：")
    assert "口径：" + rolling in captions and "口径：" + yearly in captions
    # Resources.
    assert m["应急资源合计"] == "10 项"
    assert m["救援队伍"] == "3 项" and m["应急物资"] == "3 项" and m["应急装备"] == "4 项"

    # The red call-out lists every plan not reaching the district plan, with its issue.
    text = texts(at)
    assert "以下预案未衔接到区级总体预案" in text
    assert "某物流公司应急预案（QY-0013，上级预案不存在）" in text
    assert "甲公司应急预案（QY-0031，循环引用）" in text

    # The indented plan list: linked plans in chain order, then the broken chains.
    plans = table_with(at, "预案编号")
    assert list(plans["预案编号"]) == [
        "QJ-001", "BM-001", "QY-0002", "BM-003", "JD-TS", "SQ-TS-03",
        "JD-WL", "SQ-WL-01", "QY-0001",
        "QY-0006", "QY-0031", "QY-0032", "SQ-DX-04", "QY-0021", "QY-0013",
    ]
    by_id = plans.set_index("预案编号")
    assert by_id.loc["QY-0001", "预案（按衔接关系缩进）"] == "　　　└ 杭州下城化工一厂生产安全事故应急预案"
    assert by_id.loc["QJ-001", "预案（按衔接关系缩进）"] == "下城区突发事件总体应急预案"
    assert by_id.loc["QY-0013", "衔接状态"] == "❌ 未衔接"
    assert by_id.loc["QY-0013", "未衔接原因"] == "上级预案不存在"
    assert by_id.loc["SQ-TS-03", "街道"] == "天水街道"  # 天水街道武林门社区: the full name wins
    assert by_id.loc["QY-0001", "街道"] == "武林街道"  # through its chain
    # An enterprise plan under a department plan names no street on its chain: UNKNOWN in the mart.
    assert by_id.loc["QY-0002", "街道"] == "未知街道"
    assert by_id.loc["BM-001", "街道"] == "（全区/部门）"  # ALL: the district's

    # Drill coverage per tier.
    tiers = table_with(at, "现行预案（个）").set_index("层级")
    assert tiers["现行预案（个）"].to_dict() == {"区级": 1, "部门": 2, "街道": 2, "社区": 3, "企业": 7}
    assert tiers["近12个月已演练（个）"].to_dict() == {"区级": 1, "部门": 1, "街道": 1, "社区": 2, "企业": 1}
    assert tiers.loc["社区", "演练覆盖率（%）"] == 66.7
    assert tiers.loc["企业", "演练覆盖率（%）"] == 14.3

    # The graphs: the district plan with streets and departments (communities and enterprises
    # counted on them), and the broken plans in red, with a dashed node for the missing parent.
    linked, broken = graphs(at)
    assert '"QJ-001" -> "JD-WL"' in linked
    assert "社区预案 1 个  企业预案 1 个" in linked
    assert '"SQ-WL-01"' not in linked and '"QY-0013"' not in linked
    assert '"SQ-WL-09"' in broken and "不在现行预案清单" in broken
    assert '"SQ-DX-04" -> "QY-0021"' in broken
    assert '"QY-0032" -> "QY-0031"' in broken and '"QY-0031" -> "QY-0032"' in broken
    assert '"QJ-001"' not in broken

    resources = table_with(at, "资源类型")
    assert list(resources["街道"].drop_duplicates())[:2] == ["武林街道", "天水街道"]
    assert resources["资源（项）"].sum() == 10
    wl = resources[(resources["街道"] == "武林街道") & (resources["资源类型"] == "救援队伍")].iloc[0]
    assert wl["数量（按计量单位）"] == "30 人；2 支"
    assert chart_titles(at) == [
        "各层级预案近12个月演练覆盖率（%）", "各年度应急演练次数（次）", "各街道应急资源（项）",
    ]
    assert at.query_params == {}


def test_street_filter_from_query_params(home):
    at = run_page({"streets": "WL"})
    m = metrics(at)
    # 武林: JD-WL, SQ-WL-01, QY-0001, all linked and drilled.
    assert m["现行预案（武林街道）"] == "3 个"
    assert m["已衔接到区级预案"] == "3 个"
    assert m["未衔接到区级预案"] == "0 个"
    assert m["近12个月演练覆盖率"] == "100.0%"
    assert m["演练（2022–2024年）"] == "3 次"  # D4, D5, D6
    assert m["参演人数（2022–2024年）"] == "185 人"
    assert m["预案演练覆盖率（2024年，全区）"] == "35.0%"  # district-wide, whatever the street
    assert m["应急资源合计"] == "6 项"
    # The plan list keeps the district plan above them, marked as context.
    plans = table_with(at, "预案编号").set_index("预案编号")
    assert list(plans.index) == ["QJ-001", "JD-WL", "SQ-WL-01", "QY-0001"]
    assert plans.loc["QJ-001", "说明"].startswith("上级预案")
    assert plans.loc["JD-WL", "说明"] == ""
    (dot,) = graphs(at)  # no broken plan in 武林: one graph
    assert '"SQ-WL-01"' in dot  # communities are drawn once a street is chosen
    assert at.query_params == {"streets": "WL"}


def test_broken_street_and_period_through_widgets(home):
    at = run_page()
    at.multiselect(key="emergency_streets").select("DX").run()
    assert not at.exception
    m = metrics(at)
    # 东新: SQ-DX-04 (drilled) and QY-0021 under it, neither linked.
    assert m["现行预案（东新街道）"] == "2 个"
    assert m["未衔接到区级预案"] == "2 个"
    assert m["近12个月演练覆盖率"] == "50.0%"
    assert m["演练（2022–2024年）"] == "1 次"  # D7
    (broken,) = graphs(at)  # nothing of 东新 reaches the district plan
    assert '"SQ-DX-04" -> "QY-0021"' in broken
    assert "所选街道没有衔接到区级预案的预案。" in texts(at)
    assert at.query_params == {"streets": "DX"}

    at.multiselect(key="emergency_streets").unselect("DX").run()
    at.slider(key="emergency_years").set_range(2024, 2024).run()
    assert not at.exception
    m = metrics(at)
    assert m["演练（2024年）"] == "4 次"  # D1, D2, D4, D6
    assert m["参演人数（2024年）"] == "505 人"
    drills = table_with(at, "演练编号")
    assert list(drills["演练编号"]) == ["D6", "D2", "D1", "D4"]  # newest first
    assert at.query_params == {"from": "2024", "to": "2024"}


def test_period_from_query_params_official_year(home):
    at = run_page({"streets": "WL", "from": "2023", "to": "2023"})
    m = metrics(at)
    assert m["演练（2023年）"] == "1 次"  # D5
    assert m["预案演练覆盖率（2023年，全区）"] == "30.0%"
    drills = table_with(at, "演练编号")
    assert drills.iloc[0]["预案层级"] == "社区"


def test_unknown_plan_drill_is_labelled(home):
    at = run_page({"from": "2023", "to": "2023"})
    drills = table_with(at, "演练编号").set_index("演练编号")
    assert drills.loc["D9", "预案层级"] == "不在现行清单"
    assert drills.loc["D3", "街道"] == "（全区/部门）"


def test_download_buttons_exist(home):
    at = run_page()
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("下载 CSV") == 4 and labels.count("下载 Excel") == 4


def test_missing_emergency_marts_show_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb", emergency=False)
    at = run_page()
    assert any("缺少所需的数据表" in w.value for w in at.warning)
    assert not at.metric


def test_plan_graph_collapses_and_escapes():
    from dashboards.charts import emergency_broken_graph as broken_graph, emergency_plan_graph as plan_graph
    from dashboards.views.emergency import plans_for_tree

    plans = pd.DataFrame(
        [
            ("QJ-001", '总体"预案', "区级", None, True, None, 0, "QJ-001", True, None),
            ("JD-WL", "武林街道预案", "街道", "QJ-001", True, None, 1, "QJ-001 > JD-WL", False, "WL"),
            ("SQ-WL-01", "社区预案", "社区", "JD-WL", True, None, 2, "QJ-001 > JD-WL > SQ-WL-01", True, "WL"),
            ("QY-1", "企业预案", "企业", "SQ-WL-01", True, None, 3,
             "QJ-001 > JD-WL > SQ-WL-01 > QY-1", False, "WL"),
        ],
        columns=["plan_id", "plan_name", "tier", "parent_plan_id", "reaches_district_plan",
                 "link_issue", "depth", "chain", "drilled_in_last_12_months", "street_code"],
    )
    collapsed = plan_graph(plans_for_tree(plans, []), collapse_communities=True)
    assert '总体\\"预案' in collapsed
    assert '"SQ-WL-01"' not in collapsed
    assert "社区预案 1 个  企业预案 1 个" in collapsed
    expanded = plan_graph(plans_for_tree(plans, ["WL"]), collapse_communities=False)
    assert '"JD-WL" -> "SQ-WL-01"' in expanded
    assert "企业预案 1 个" in expanded
    assert broken_graph(plans_for_tree(plans, [])) is None


# --- real server + browser --------------------------------------------------------------------


def test_served_page_renders_in_chromium(warehouse_home, tmp_path):
    with browser_page(warehouse_home, tmp_path / "streamlit.log", height=3400) as (page, base):
        goto_via_app(page, base, PAGE)
        wait_text(page, "应急管理", exact=True)
        wait_text(page, "预案衔接关系（全区）", timeout=10_000)
        # The graphviz graph is drawn in the browser (bundled renderer, no CDN).
        svgs = page.locator('[data-testid="stGraphVizChart"] svg')
        svgs.nth(1).wait_for(timeout=20_000)
        page.locator(".vega-embed").nth(2).wait_for(timeout=20_000)
        page.wait_for_timeout(1000)
        assert "下城区突发事件总体应急预案" in svgs.nth(0).text_content()
        assert "上级预案不存在" in svgs.nth(1).text_content()
        body = page.inner_text("body")
        assert "40.0%" in body
        assert "以下预案未衔接到区级总体预案" in body
        screenshot(page, PAGE)
