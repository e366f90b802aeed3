"""Tests of the 宣传教育 dashboard page against a small hand-written fixture of the published mart.

The fixture warehouse ($CITYSAFETY_HOME/warehouse/citysafety.duckdb) holds the education marts the
page reads (agg_education_by_street, fct_training_activities, fct_enterprise_training_status) and
dim_streets, with a handful of rows whose expected figures are computed by hand below; plus a
minimal 总览 mart (the app's default page). A street office is signed in on its analyst file as in
tests/test_dashboard_demonstration.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
from streamlit.testing.v1 import AppTest

from dashboard_harness import (  # noqa: F401 (home: a fixture)
    chart_titles,
    home,
    metrics,
    open_warehouse,
    page_text,
    table_with,
    tables,
    texts,
    warehouse_fixture,
)
from dashboard_harness import run_page as _run_page
from test_dashboard_demonstration import (
    OTHER_STREETS,
    chart_data,
    create_contract_mart,
    download_texts,
    street_office_app,
)
from test_dashboard_monitoring import STREETS, create_overview_minimal, create_streets

PAGE = "education"
NAMES = {code: name for code, name, _ in STREETS}

# --- fixture of the published mart -----------------------------------------------------------

# Activities: id, date, type, online, topic, street, audience, attendances, passed, reports.
# 2020 offline: 武林 A1 A2 A3 (3 activities, 500 people), 天水 A4 A5 (2, 200), the district-wide A6
# (300): the district 6 activities, 1000 people. Online: A7 A8, 5000 views, 0 people.
# 2019: 武林 B1 (100), the district-wide B2 (50); online B3 (800 views).
ACTIVITIES = [
    ("A1", "2020-03-01", "安全培训", False, "危化品企业主要负责人培训", "WL", "企业主要负责人", 200, 180, 1),
    ("A2", "2020-05-10", "宣传活动", False, "安全生产月咨询日", "WL", "居民", 250, None, 2),
    ("A3", "2020-06-20", "安全培训", False, "安全管理人员培训", "WL", "安全管理人员", 50, 50, 1),
    ("A4", "2020-04-02", "应急演练进社区", False, "社区消防疏散演练", "TS", "居民", 120, None, 1),
    ("A5", "2020-09-09", "安全教育基地参观", False, "学生参观安全教育基地", "TS", "学生", 80, None, 1),
    ("A6", "2020-06-16", "宣传活动", False, "全区安全生产月启动仪式", "ALL", "居民", 300, None, 1),
    ("A7", "2020-07-01", "线上课程", True, "有限空间作业安全", "ALL", "从业人员", 3000, None, 1),
    ("A8", "2020-08-01", "线上课程", True, "居家用电安全", "ALL", "居民", 2000, None, 1),
    ("B1", "2019-05-01", "安全培训", False, "企业负责人年度培训", "WL", "企业主要负责人", 100, 90, 1),
    ("B2", "2019-06-01", "宣传活动", False, "全区安全宣传咨询日", "ALL", "居民", 50, None, 1),
    ("B3", "2019-10-01", "线上课程", True, "安全生产法解读", "ALL", "从业人员", 800, None, 1),
]

# Enterprises at the as-of date 2020-12-31: key, name, street, principal passed on, manager
# passed on. Covered: E1 E3 E4 (3 of 7); to train: E2 (武林), E5 (天水), E6 (朝晖), E7 (未知街道).
AS_OF = "2020-12-31"
ENTERPRISES = [
    ("E1", "杭州下城化工一厂", "WL", "2020-03-01", "2020-06-20"),
    ("E2", "武林某商贸公司", "WL", "2020-03-01", None),
    ("E3", "武林某物流公司", "WL", "2020-03-01", "2020-06-20"),
    ("E4", "天水燃气储配站", "TS", "2020-05-01", "2020-05-02"),
    ("E5", "天水某餐饮公司", "TS", None, None),
    ("E6", "朝晖石化仓储公司", "CH", None, "2020-06-20"),
    ("E7", "某未知公司", "UNKNOWN", None, None),
]

# agg_education_by_street: (street, year) -> offline activities, attendances, residents (10k),
# per 1,000 residents, online courses, online views, active enterprises, principal assessed,
# manager assessed, covered. Every other street and year: no activity, 5.0 (10k) residents, no
# enterprise. The district (ALL) is the whole district, not the sum of the streets.
EDUCATION = {
    ("ALL", 2020): (6, 1000, 50.0, 2.0, 2, 5000, 7, 4, 4, 3),
    ("WL", 2020): (3, 500, 10.0, 5.0, 0, 0, 3, 3, 2, 2),
    ("TS", 2020): (2, 200, 8.0, 2.5, 0, 0, 2, 1, 1, 1),
    ("CH", 2020): (0, 0, 6.0, 0.0, 0, 0, 1, 0, 1, 0),
    ("UNKNOWN", 2020): (0, 0, None, None, 0, 0, 1, 0, 0, 0),
    ("ALL", 2019): (2, 150, 49.0, 0.31, 1, 800, 5, 2, 1, 1),
    ("WL", 2019): (1, 100, 9.8, 1.02, 0, 0, 3, 2, 1, 1),
}
EDUCATION_COLUMNS = ["offline_activities", "attendances", "residents_10k", "attendances_per_1000_residents",
                     "online_courses", "online_views", "active_enterprises", "enterprises_principal_assessed",
                     "enterprises_manager_assessed", "enterprises_covered"]


def create_education_marts(con: duckdb.DuckDBPyConnection) -> None:
    create_contract_mart(con, "marts.fct_training_activities", [
        {"activity_id": aid, "activity_date": day, "activity_year": int(day[:4]), "activity_type": kind,
         "is_online": online, "topic": topic, "organiser": "区应急管理局宣教科", "street_code": street,
         "street_name": "全区" if street == "ALL" else NAMES[street], "audience": audience,
         "attendances": people, "attendances_delivered": str(people), "attendances_approximate": False,
         "people_reached": 0 if online else people, "passed": passed, "reports": reports,
         "reported_ids": "A2、A9" if reports > 1 else None, "hours": 2.0, "source_file": "trainings.xlsx",
         "source_row_number": i}
        for i, (aid, day, kind, online, topic, street, audience, people, passed, reports) in enumerate(ACTIVITIES, 2)
    ])
    create_contract_mart(con, "marts.fct_enterprise_training_status", [
        {"enterprise_key": key, "uscc": f"9133010{key}", "unit_name": name, "street_code": street,
         "street_name": NAMES[street], "principal_passed_on": principal, "manager_passed_on": manager,
         "is_principal_assessed": principal is not None, "is_manager_assessed": manager is not None,
         "is_covered": principal is not None and manager is not None,
         "roles_missing": "、".join(r for r, on in (("主要负责人", principal), ("安全管理人员", manager)) if on is None)
         or None,
         "as_of_date": AS_OF}
        for key, name, street, principal, manager in ENTERPRISES
    ])
    rows = []
    for code in [c for c, _, _ in STREETS] + ["ALL"]:
        for year in (2019, 2020):
            values = EDUCATION.get((code, year), (0, 0, 5.0, 0.0, 0, 0, 0, 0, 0, 0))
            row = dict(zip(EDUCATION_COLUMNS, values))
            row.update({
                "street_year_id": f"{code}:{year}", "street_code": code, "year": year,
                "street_name": "全区" if code == "ALL" else NAMES[code],
                "enterprise_training_coverage": (round(row["enterprises_covered"] / row["active_enterprises"], 4)
                                                 if row["active_enterprises"] else None),
                "coverage_reference_date": AS_OF if year == 2020 else "2019-12-31",
            })
            rows.append(row)
    create_contract_mart(con, "marts.agg_education_by_street", rows)


def build_warehouse(db_path: Path, *, education: bool = True) -> None:
    with open_warehouse(db_path) as con:
        create_streets(con)
        create_overview_minimal(con)
        if education:
            create_education_marts(con)


warehouse_home = warehouse_fixture(build_warehouse)


def run_page(query_params: dict[str, str] | None = None) -> AppTest:
    return _run_page(PAGE, query_params)


# --- AppTest ----------------------------------------------------------------------------------


def test_default_view_reads_the_district_row_and_lists_what_to_do(home):
    at = run_page()
    m = metrics(at)
    # 2020, no street chosen: the district row (district-wide activities included).
    assert m["线下活动"] == "6 次"
    assert m["参加人次"] == "1,000 人次"
    assert m["每千名常住人口参加人次"] == "2.00"
    assert m["企业培训考核覆盖率"] == "42.9%"  # 3 / 7
    # Online courses apart: page views, never people.
    assert m["线上课程"] == "2 门" and m["线上课程浏览量"] == "5,000 次"
    online = table_with(at, "浏览量（次）")
    assert list(online["课程编号"]) == ["A8", "A7"] and online["浏览量（次）"].sum() == 5000

    coverage = table_with(at, "每千名常住人口参加人次").set_index("街道")
    # The district row shown as 全区 first, then every street; 全区 is not the sum of the streets.
    assert list(coverage.index)[:3] == ["全区", "武林街道", "天水街道"]
    assert coverage.loc["全区", "参加人次"] == 1000
    assert coverage.loc["武林街道", "参加人次"] + coverage.loc["天水街道", "参加人次"] == 700
    assert coverage.loc["武林街道", "企业培训考核覆盖率（%）"] == 66.7
    assert coverage.loc["天水街道", "每千名常住人口参加人次"] == 2.5
    assert coverage.loc["全区", "企业培训考核覆盖率（%）"] == 42.9

    # Activities by type: the sums of the year's activity rows (people reached: offline only).
    types = table_with(at, "覆盖人次").set_index("活动类型")
    assert list(types.index) == ["安全培训", "宣传活动", "安全教育基地参观", "应急演练进社区", "线上课程"]
    assert types["覆盖人次"].sum() == 1000 == coverage.loc["全区", "参加人次"]
    assert types.loc["宣传活动", "活动（次）"] == 2 and types.loc["宣传活动", "覆盖人次"] == 550
    assert types.loc["安全培训", "考核合格（人）"] == 230
    assert types.loc["线上课程", "覆盖人次"] == 0 and types.loc["线上课程", "线上浏览量（次）"] == 5000
    activities = table_with(at, "活动编号")
    assert len(activities) == 8 and activities.set_index("活动编号").loc["A6", "街道"] == "全区"

    # The to-do list: the enterprises not covered, street by street, as of the as-of date.
    assert m["在册企业"] == "7 家" and m["均已考核合格"] == "3 家" and m["待培训考核"] == "4 家"
    todo = [df for df in tables(at) if "尚未考核合格" in df.columns]
    assert [list(df["单位名称"]) for df in todo] == [["武林某商贸公司"], ["天水某餐饮公司"], ["朝晖石化仓储公司"],
                                                  ["某未知公司"]]
    assert todo[1].iloc[0]["尚未考核合格"] == "主要负责人、安全管理人员"
    expanders = [e.label for e in at.expander]
    assert "武林街道：待培训考核 1 家" in expanders and "未知街道：待培训考核 1 家" in expanders
    summary = table_with(at, "待培训考核（家）").set_index("街道")
    assert summary["待培训考核（家）"].to_dict() == {"武林街道": 1, "天水街道": 1, "朝晖街道": 1, "未知街道": 1}
    assert any(s.value == "待培训考核企业（截至2020-12-31，全区）" for s in at.subheader)
    # Three charts: the street rows as published (no 全区 bar: it is not a street), and the types.
    assert chart_titles(at) == ["各街道每千名常住人口参加人次", "各街道企业培训考核覆盖率（%）", "各类活动覆盖人次"]
    street_order = [n for c, n, _ in STREETS]
    spec, drawn = chart_data(at, "各街道每千名常住人口参加人次")
    assert spec["encoding"]["y"]["sort"] == street_order
    assert spec["title"]["subtitle"] == ["2020年，全区；", "不含全区性活动和线上课程"]
    per_1000 = drawn.set_index("street_name")["attendances_per_1000_residents"]
    assert per_1000["武林街道"] == 5.0 and per_1000["天水街道"] == 2.5 and per_1000["朝晖街道"] == 0.0
    assert "全区" not in per_1000.index and per_1000.isna()["未知街道"]  # no residents: no bar
    _spec, drawn = chart_data(at, "各街道企业培训考核覆盖率（%）")
    covered = drawn.set_index("street_name")["coverage_pct"]
    assert covered["武林街道"] == 66.7 and covered["天水街道"] == 50.0 and covered["朝晖街道"] == 0.0
    assert covered["未知街道"] == 0.0 and covered.isna()["石桥街道"]  # no enterprise: no bar
    spec, drawn = chart_data(at, "各类活动覆盖人次")
    assert spec["encoding"]["y"]["sort"] == list(types.index)
    assert dict(zip(drawn["activity_type"], drawn["people_reached"])) == types["覆盖人次"].to_dict()
    assert at.query_params == {}


def test_chosen_streets_are_summed_and_the_district_row_stays_apart(home):
    at = run_page({"streets": "WL,TS"})
    m = metrics(at)
    # 武林 + 天水: no district-wide activity; rates are sums over sums.
    assert m["线下活动"] == "5 次"
    assert m["参加人次"] == "700 人次"
    assert m["每千名常住人口参加人次"] == "3.89"  # 700 / (18.0 万 × 10)
    assert m["企业培训考核覆盖率"] == "60.0%"  # (2 + 1) / (3 + 2)
    assert m["线上课程浏览量"] == "5,000 次"  # district-wide, whatever the streets
    coverage = table_with(at, "每千名常住人口参加人次")
    assert list(coverage["街道"]) == ["全区", "武林街道", "天水街道"]
    types = table_with(at, "覆盖人次").set_index("活动类型")
    assert types["覆盖人次"].sum() == 700 and "线上课程" not in types.index
    _spec, drawn = chart_data(at, "各街道每千名常住人口参加人次")
    assert list(drawn["street_name"]) == ["武林街道", "天水街道"]  # the chosen streets, each its own value
    _spec, drawn = chart_data(at, "各类活动覆盖人次")
    assert drawn["people_reached"].sum() == 700
    assert m["待培训考核"] == "2 家"
    assert at.query_params == {"streets": "WL,TS"}


def test_year_through_the_widget(home):
    at = run_page()
    at.radio(key="education_year").set_value(2019).run()
    assert not at.exception
    m = metrics(at)
    assert m["线下活动"] == "2 次" and m["参加人次"] == "150 人次"
    assert m["每千名常住人口参加人次"] == "0.31"
    assert m["线上课程"] == "1 门" and m["线上课程浏览量"] == "800 次"
    assert list(table_with(at, "活动编号")["活动编号"]) == ["B3", "B2", "B1"]
    assert at.query_params == {"year": "2019"}


def test_download_buttons_exist(home):
    at = run_page()
    labels = [b.proto.label for b in at.get("download_button")]
    # coverage, online courses, types, activities, enterprises per street, to-do list
    assert labels.count("下载 CSV") == 6 and labels.count("下载 Excel") == 6


def test_missing_education_marts_show_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb", education=False)
    at = run_page()
    assert any("缺少所需的数据表" in w.value for w in at.warning)
    assert not at.metric


def test_a_street_office_sees_only_its_own_street_and_enterprises(tmp_path, monkeypatch):
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb")
    with street_office_app(tmp_path, monkeypatch) as (at, captured):
        captured.clear()
        at.switch_page(f"views/{PAGE}.py").run()
        assert not at.exception, [e.message for e in at.exception]
        m = metrics(at)
        # Its own street's row: no district row, no district-wide or online activity.
        assert m["线下活动"] == "3 次" and m["参加人次"] == "500 人次"
        assert m["每千名常住人口参加人次"] == "5.00"
        assert m["企业培训考核覆盖率"] == "66.7%"
        assert "线上课程" not in m
        assert "线上课程面向全区，不在您的数据范围内。" in texts(at)
        assert list(table_with(at, "每千名常住人口参加人次")["街道"]) == ["武林街道"]
        _spec, drawn = chart_data(at, "各街道企业培训考核覆盖率（%）")
        assert list(drawn["street_name"]) == ["武林街道"] and list(drawn["coverage_pct"]) == [66.7]
        assert sorted(table_with(at, "活动编号")["活动编号"]) == ["A1", "A2", "A3"]
        todo = table_with(at, "尚未考核合格")
        assert list(todo["单位名称"]) == ["武林某商贸公司"]
        assert m["在册企业"] == "3 家" and m["待培训考核"] == "1 家"
        downloaded = download_texts(captured)
        assert "武林某商贸公司" in downloaded
        text = page_text(at) + "\n" + downloaded
        # Codes and numbers as whole words: the page's sign-in cookie script holds a random token.
        for other in ("天水某餐饮公司", "朝晖石化仓储公司", "某未知公司", "A6", "A7", "5000", "5,000"):
            assert not re.search(rf"(?a)(?<![\w-])(?<!\d[,.]){re.escape(other)}(?![\w-]|,\d)", text), other
        assert not [n for n in OTHER_STREETS + ["未知街道"] if n in text]


def test_the_page_reads_in_chinese_only(home):
    """No table or column name on the page (issue 13)."""
    at = run_page()
    shown = [str(c) for df in tables(at) for c in df.columns] + list(metrics(at)) + [texts(at)]
    assert not [t for t in shown if re.search(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b|marts\.", t)]
