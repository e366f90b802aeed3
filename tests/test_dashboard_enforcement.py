"""Tests of the 执法与信用 dashboard page against a hand-written fixture of the published mart.

The fixture warehouse ($CITYSAFETY_HOME/warehouse/citysafety.duckdb) holds the mart tables the
page reads (marts.dim_streets, marts.fct_inspections, marts.dim_enterprises,
marts.kpi_official_indicators, with the contracts' columns): nine units, nine inspections in
2023-2024 and two years of 安责险 indicators; and for 下月检查建议清单 the inspection ranking
(marts.fct_inspection_priorities: six units in two streets, two of them listed), its model card
(marts.inspection_model_card: two folds and overall for the model and three baselines) and the
follow-up of two list months (marts.rpt_inspection_list_followup). Expected figures are computed
by hand in the tests.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
import streamlit
from streamlit.testing.v1 import AppTest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

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
    tables,
    wait_text,
    warehouse_fixture,
)
from dashboard_harness import run_page as _run_page
from dashboards.views import enforcement

PAGE = "enforcement"

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
STREET_NAMES = {code: name for code, name, _, _ in STREETS}

# key, uscc, valid, name, street, insurance_current, blacklisted, since, until, active
UNITS = [
    ("U1", "U1", True, "甲机械厂", "WL", True, False, None, None, True),
    ("U2", "U2", True, "乙化工仓储公司", "WL", False, True, "2023-05-10", "2026-05-09", True),
    ("U3", "U3", True, "丙建筑公司", "TS", True, False, None, None, True),
    ("U4", "U4", True, "丁物流公司", "TS", False, False, None, None, True),
    ("U5", "U5", True, "戊商场", "CH", True, False, None, None, True),
    # Closed, still within its blacklist listing.
    ("U6", "U6", True, "己印刷厂", "SQ", False, True, "2022-01-01", "2025-01-01", False),
    # An invalid code still joins (as the other pages' unit_streets does).
    ("X-0000000000000007", "U7", False, "庚餐饮店", "CM", True, False, None, None, True),
    ("X-0000000000000008", None, False, "辛维修部", "CM", False, False, None, None, True),
    ("U9", "U9", True, "壬贸易公司", "UNKNOWN", True, False, None, None, True),
]

# id, uscc, inspected_on, result, findings, penalty (yuan), blacklisted
# The street of each inspection is the mart's (dbt: the unit's street by its credit code).
INSPECTIONS = [
    ("I01", "U1", "2023-02-10", "合格", 0, 0.0, False, "WL"),
    ("I02", "U2", "2023-05-10", "停产整顿", 5, 100000.0, True, "WL"),
    ("I03", "U3", "2023-06-15", "责令整改", 2, 0.0, False, "TS"),
    ("I04", "u4 ", "2023-09-01", "行政处罚", 3, 20000.0, False, "TS"),  # U4 once normalised
    ("I05", None, "2024-01-20", "行政处罚", 2, 5000.0, False, "UNKNOWN"),  # unlicensed: 未知街道
    ("I06", "U7", "2024-03-05", "合格", 0, None, False, "CM"),
    ("I07", "U5", "2024-03-18", "责令整改", 1, 0.0, False, "CH"),
    ("I08", "UX", "2024-07-01", "行政处罚", 4, 30000.0, True, "UNKNOWN"),  # not in the registry
    ("I09", "U2", "2024-08-08", "行政处罚", 2, 15000.0, False, "WL"),
]

# year -> street -> insurance_coverage
COVERAGE = {
    2023: {"ALL": 0.55, "WL": 0.5, "TS": 1.0},
    2024: {"ALL": 0.625, "WL": 0.5, "TS": 0.5, "CH": 1.0},
}

# 下月检查建议清单 -------------------------------------------------------------------------------
# uscc, name, street, risk_score, district_rank, street_rank, listed, reasons
PRIORITIES = [
    ("U3", "丙建筑公司", "TS", 0.62, 1, 1, True,
     ("近3年发生生产安全事故 1 起", "现存重大隐患 2 项", "从业人数 120 人")),
    ("U1", "甲机械厂", "WL", 0.48, 2, 1, True, ("负责的风险点最高为红色", None, None)),
    ("U2", "乙化工仓储公司", "WL", 0.30, 3, 2, False, ("列入安全生产黑名单", None, None)),
    ("U4", "丁物流公司", "TS", 0.21, 4, 2, False, (None, None, None)),
    ("U10", "癸五金店", "WL", 0.12, 5, 3, False, (None, None, None)),
    ("U11", "子文具店", "TS", 0.05, 6, 3, False, (None, None, None)),
]
SCORED_FOR = ("2025-01-01", "2025-12-31")
RANKERS = {
    "model": "风险模型（逻辑回归）",
    "baseline_past_incidents": "基线：既往事故与规模",
    "baseline_risk_colour": "基线：风险点等级",
    "baseline_random": "基线：随机",
}
FOLDS = {"2023": ("2020-2022", 2023), "2024": ("2020-2023", 2024), "overall": ("2020-2023", None)}
# ranker -> fold -> (auc, auc_low, auc_high, top10_capture, top20_capture)
CARD = {
    "model": {"2023": (0.84, 0.78, 0.90, 0.40, 0.65), "2024": (0.88, 0.82, 0.93, 0.50, 0.71),
              "overall": (0.86, 0.83, 0.89, 0.45, 0.68)},
    "baseline_past_incidents": {"2023": (0.69, 0.60, 0.77, 0.25, 0.40), "2024": (0.71, 0.62, 0.79, 0.27, 0.42),
                                "overall": (0.70, 0.64, 0.76, 0.26, 0.41)},
    # too little history for the first fold: no metrics
    "baseline_risk_colour": {"2023": (None, None, None, None, None), "2024": (0.66, 0.57, 0.74, 0.20, 0.36),
                             "overall": (0.64, 0.57, 0.71, 0.19, 0.35)},
    "baseline_random": {"2023": (0.49, 0.40, 0.58, 0.10, 0.20), "2024": (0.51, 0.42, 0.60, 0.10, 0.21),
                        "overall": (0.50, 0.44, 0.56, 0.10, 0.20)},
}
# The model of a card whose published ranker is a baseline: it did not beat the baselines.
MODEL_BEATEN = {"2023": (0.64, 0.55, 0.73, 0.20, 0.35), "2024": (0.68, 0.60, 0.76, 0.22, 0.38),
                "overall": (0.66, 0.60, 0.72, 0.21, 0.37)}
DECISIONS = {
    "model": "模型回测 2 年，整体区分度 0.86、前 20% 单位覆盖 68% 的事件，均优于各基线，本期采用模型排序",
    "baseline_past_incidents": "模型回测未优于基线（基线：既往事故与规模），本期采用基线排序（基线：既往事故与规模）",
}
MODEL_VERSION = "lr-3f9a2c1d"
# list_month -> street -> (listed, inspected, share, inspections, findings, with_findings, penalised)
FOLLOWUP = {
    "2024-11": {"WL": (1, 0, 0.0, 0, 0, 0, 0), "TS": (1, 1, 1.0, 1, 2, 1, 0), "ALL": (2, 1, 0.5, 1, 2, 1, 0)},
    "2024-12": {"WL": (1, 1, 1.0, 2, 3, 1, 1), "TS": (1, 0, 0.0, 0, 0, 0, 0), "ALL": (2, 1, 0.5, 2, 3, 1, 1)},
}
PRIORITY_TABLES = ("marts.fct_inspection_priorities", "marts.inspection_model_card",
                   "marts.rpt_inspection_list_followup")


def build_priorities(con, published: str = "model", *, empty: bool = False) -> None:
    """The three tables of 下月检查建议清单 (empty: the tables without rows)."""
    if empty:
        for relation in PRIORITY_TABLES:
            create_mart(con, relation)
        return
    version = MODEL_VERSION if published == "model" else published
    create_mart(con, "marts.fct_inspection_priorities", [
        (uscc, name, street, STREET_NAMES[street], score, district, in_street, listed, *reasons,
         *SCORED_FOR, published, RANKERS[published], version)
        for uscc, name, street, score, district, in_street, listed, reasons in PRIORITIES
    ])
    card = {**CARD, "model": MODEL_BEATEN} if published != "model" else CARD
    create_mart(con, "marts.inspection_model_card", [
        (fold, ranker, label, ranker == published, train_years, test_year, 6, 2, 3,
         *card[ranker][fold], published, version, DECISIONS[published], "2020-01-01", "2024-12-31",
         288, *SCORED_FOR, "既往事故、重大隐患、风险点等级、从业人数",
         "评估日起12个月内发生至少一起生产安全事故、有人员伤亡的火灾或重大隐患",
         "排序反映历史数据中的相关性，不是因果判断；年度回测样本较小。", ranker == "baseline_past_incidents")
        for fold, (train_years, test_year) in FOLDS.items() for ranker, label in RANKERS.items()
    ])
    create_mart(con, "marts.rpt_inspection_list_followup", [
        (f"{street}:{month}", month, street, *counts)
        for month, by_street in FOLLOWUP.items() for street, counts in by_street.items()
    ])


def build_warehouse(
    db_path: Path, *, tables: tuple[str, ...] = ("streets", "inspections", "enterprises", "kpi", "priorities"),
    published: str = "model",
) -> None:
    with open_warehouse(db_path) as con:
        if "streets" in tables:
            create_dim_streets(con, [s[0] for s in STREETS])  # dbt's model over the seed's rows
        if "inspections" in tables:
            create_mart(con, "marts.fct_inspections", [
                (iid, uscc, day, int(day[:4]), "执法一中队", findings, result, penalty,
                 None if penalty is None else penalty / 10000.0, black, f"{day} 10:00:00", 1,
                 "inspections_pull.jsonl", street,
                 # result_category, penalised: as dbt computes them (fct_inspections.sql)
                 result if result is not None else "未填写", (penalty or 0) > 0)
                for iid, uscc, day, result, findings, penalty, black, street in INSPECTIONS
            ])
            if "streets" in tables:
                derive_mart(con, "rpt_enforcement_inspections")
        if "enterprises" in tables:
            rows = []
            for i, (key, uscc, valid, name, street, current, black, since, until, active) in enumerate(UNITS, 3):
                rows.append(
                    (key, uscc, uscc, valid, None if valid else "check character", name, street,
                     STREET_NAMES[street], STREET_NAMES[street], "C 制造业", 50, False, "三级",
                     current, "2025-12-31" if current else None, current, False, black, since,
                     until, active, "2024-12-31" if active else "2024-06-30", "2019-01-31",
                     None if active else "2024-07-31", 1, "enterprises_20241231.xlsx", i)
                )
            create_mart(con, "marts.dim_enterprises", rows)
            if "streets" in tables:
                derive_mart(con, "rpt_enforcement_insurance")
        if "kpi" in tables:
            rows = []
            for year, by_street in COVERAGE.items():
                for street in ["ALL", *(s[0] for s in STREETS)]:
                    rows.append(
                        (f"{year}:{street}", year, street, street == "ALL", 0, None, 0, None, None,
                         None, None, None, None, None, None, 0, 0, None, 0, 0, None, None,
                         by_street.get(street), None, "全区" if street == "ALL" else STREET_NAMES[street],
                         None, None)  # the education indicators
                    )
            create_mart(con, "marts.kpi_official_indicators", rows)
        if "priorities" in tables or "priorities_empty" in tables:
            build_priorities(con, published, empty="priorities_empty" in tables)


warehouse_home = warehouse_fixture(build_warehouse)


def run_page(query_params: dict[str, str] | None = None) -> AppTest:
    return _run_page(PAGE, query_params)


def chart_frames(at: AppTest, title: str) -> list[pd.DataFrame]:
    """The data frames of the chart with that title (streamlit sends them as Arrow datasets)."""
    for chart in at.get("vega_lite_chart"):
        if title in json.dumps(json.loads(chart.proto.spec), ensure_ascii=False):
            frames = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets]
            if chart.proto.HasField("data"):
                frames.append(convert_arrow_bytes_to_pandas_df(chart.proto.data.data))
            return frames
    raise AssertionError(f"no chart titled {title!r}")


def all_text(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.success, *at.title,
                               *at.subheader)]
    return "\n".join(str(p) for p in parts)


# --- helpers ----------------------------------------------------------------------------------


def test_trend_table_fills_periods_and_orders_results():
    raw = pd.DataFrame({
        "period": ["2024-01", "2024-03", "2024-03"],
        "street_code": ["WL", "WL", "TS"],
        "result": ["合格", "复查", "行政处罚"],
        "inspections": [1, 1, 2], "findings": [0, 1, 3], "penalty_10k_yuan": [0.0, 0.0, 1.25],
        "penalised": [0, 0, 2], "blacklistings": [0, 0, 1],
    })
    assert enforcement.result_order(raw["result"]) == ["合格", "责令整改", "行政处罚", "停产整顿", "复查"]
    table = enforcement.trend_table(raw, "month", 2024, 2024)
    assert list(table["period_label"]) == ["2024年1月", "2024年2月", "2024年3月"]
    assert list(table["inspections"]) == [1, 0, 3]
    assert list(table["行政处罚"]) == [0, 0, 2]
    assert list(table["复查"]) == [0, 0, 1]
    assert list(table["penalty_10k_yuan"]) == [0.0, 0.0, 1.25]
    yearly = enforcement.trend_table(raw.assign(period="2024"), "year", 2023, 2024)
    assert list(yearly["period_label"]) == ["2023年", "2024年"]
    assert list(yearly["inspections"]) == [0, 4]


# --- AppTest ----------------------------------------------------------------------------------


def test_default_view_all_streets_all_years(home):
    at = run_page()
    m = metrics(at)
    assert m["执法检查"] == "9 次"
    assert m["合格"] == "2 次"  # I01, I06
    assert m["责令整改"] == "2 次"  # I03, I07
    assert m["行政处罚"] == "4 次"  # I04, I05, I08, I09
    assert m["停产整顿"] == "1 次"  # I02
    assert m["发现问题"] == "19 项"
    assert m["罚款金额"] == "17.0 万元"  # 10 + 2 + 0.5 + 3 + 1.5
    assert m["罚款案件"] == "5 起"
    assert m["检查中列入黑名单"] == "2 次"  # I02, I08
    text = all_text(at)
    assert "其中 2 次检查的单位在名录中查不到（含无证经营），计入未知街道" in text  # I05, I08
    trend = table_with(at, "期间").set_index("期间")
    assert list(trend.index) == ["2023年", "2024年"]
    assert trend.loc["2023年", "执法检查（次）"] == 4
    assert trend.loc["2023年", "停产整顿（次）"] == 1
    assert trend.loc["2023年", "罚款金额（万元）"] == 12.0
    assert trend.loc["2024年", "行政处罚（次）"] == 3
    assert trend.loc["2024年", "罚款金额（万元）"] == 5.0
    by_street = next(d for d in tables(at) if "街道" in d.columns and "执法检查（次）" in d.columns)
    by_street = by_street.set_index("街道")
    assert by_street.loc["武林街道", "执法检查（次）"] == 3  # I01, I02, I09
    assert by_street.loc["武林街道", "罚款金额（万元）"] == 11.5
    assert by_street.loc["天水街道", "执法检查（次）"] == 2  # I03, I04 (code normalised)
    assert by_street.loc["天水街道", "行政处罚（次）"] == 1
    assert by_street.loc["潮鸣街道", "合格（次）"] == 1  # I06
    assert by_street.loc["未知街道", "执法检查（次）"] == 2
    assert by_street.loc["未知街道", "罚款金额（万元）"] == 3.5
    assert by_street.loc["长庆街道", "执法检查（次）"] == 0
    # Blacklist now: U2 (WL) and the closed U6 (SQ), latest listing first.
    assert m["黑名单单位"] == "2 家"
    blacklist = table_with(at, "单位名称")
    assert list(blacklist["单位名称"]) == ["乙化工仓储公司", "己印刷厂"]
    assert list(blacklist["经营状态"]) == ["在册", "已关闭/注销"]
    assert str(blacklist.iloc[0]["期满日期"])[:10] == "2026-05-09"
    # Insurance now: 8 active units, 5 with current insurance (U1 U3 U5 U7 U9).
    assert m["安责险覆盖率（当前）"] == "62.5%"
    coverage = table_with(at, "安责险覆盖率（%）").set_index("街道")
    assert coverage.loc["武林街道", "在册单位（家）"] == 2
    assert coverage.loc["武林街道", "安责险覆盖率（%）"] == 50.0
    assert coverage.loc["潮鸣街道", "安责险在保（家）"] == 1
    assert coverage.loc["石桥街道", "在册单位（家）"] == 0  # U6 closed
    assert pd.isna(coverage.loc["石桥街道", "安责险覆盖率（%）"])
    assert coverage.loc["未知街道", "安责险覆盖率（%）"] == 100.0
    assert at.query_params == {}
    assert len(chart_specs(at)) == 4


def test_street_and_period_from_query_params(home):
    at = run_page({"streets": "WL,TS", "from": "2024", "to": "2024"})
    m = metrics(at)
    assert m["执法检查"] == "1 次"  # I09
    assert m["行政处罚"] == "1 次"
    assert m["罚款金额"] == "1.5 万元"
    assert m["黑名单单位"] == "1 家"  # U2
    assert m["安责险覆盖率（当前）"] == "50.0%"  # WL 1/2 + TS 1/2
    assert list(table_with(at, "单位名称")["单位名称"]) == ["乙化工仓储公司"]
    # Coverage trend: the district and the two streets, 2024 only.
    frames = chart_frames(at, "安责险覆盖率（%），按年")
    values = pd.concat([f for f in frames if "coverage_pct" in f.columns])
    assert sorted(zip(values["street_name"], values["coverage_pct"])) == [
        ("全区", 62.5), ("天水街道", 50.0), ("武林街道", 50.0)
    ]
    assert at.query_params == {"streets": "WL,TS", "from": "2024", "to": "2024"}


def test_filters_through_widgets(home):
    at = run_page()
    at.slider(key="enforcement_years").set_range(2023, 2023).run()
    m = metrics(at)
    assert m["执法检查"] == "4 次" and m["罚款金额"] == "12.0 万元"
    assert at.query_params == {"from": "2023", "to": "2023"}

    at.multiselect(key="enforcement_streets").select("UNKNOWN").run()
    assert metrics(at)["执法检查"] == "0 次"
    at.slider(key="enforcement_years").set_range(2023, 2024).run()
    m = metrics(at)
    assert m["执法检查"] == "2 次" and m["罚款金额"] == "3.5 万元"  # I05, I08
    assert at.query_params == {"streets": "UNKNOWN"}

    at.selectbox(key="enforcement_grain").set_value("month").run()
    trend = table_with(at, "期间").set_index("期间")
    # 2023-01 to the last month with inspections of the selection (2024-07).
    assert len(trend) == 19
    assert trend.loc["2024年1月", "行政处罚（次）"] == 1
    assert trend.loc["2024年7月", "罚款金额（万元）"] == 3.0
    assert at.query_params == {"streets": "UNKNOWN", "grain": "month"}


def test_bad_query_params_fall_back(home):
    at = run_page({"streets": "wl,ZZ", "from": "1990", "to": "x", "grain": "day"})
    assert at.multiselect(key="enforcement_streets").value == ["WL"]
    assert at.slider(key="enforcement_years").value == (2023, 2024)
    assert at.selectbox(key="enforcement_grain").value == ""
    assert metrics(at)["执法检查"] == "3 次"


def test_download_buttons(home):
    at = run_page()
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("下载 CSV") == 5 and labels.count("下载 Excel") == 5


def test_missing_mart_table_shows_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb", tables=("streets", "inspections"))
    at = run_page()
    assert any("缺少所需的数据表" in w.value for w in at.warning)


def test_missing_warehouse_shows_friendly_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    at = run_page()
    assert any("数据仓库尚未发布" in i.value for i in at.info)


# --- 下月检查建议清单 ---------------------------------------------------------------------------


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """file name -> bytes of every download button the page draws (the real button still drawn)."""
    captured: dict[str, bytes] = {}
    original = streamlit.download_button

    def spy(label, data, *args, **kwargs):
        captured[kwargs.get("file_name")] = data() if callable(data) else data
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", spy)
    return captured


def priority_list(at: AppTest) -> pd.DataFrame:
    return table_with(at, "主要原因")


def test_priorities_district_summary_list_and_followup(home):
    at = run_page()
    text = all_text(at)
    assert "下月检查建议清单（全部街道）" in text
    # The model is published: what the card's overall rows say, with the best baseline by AUC.
    assert ("本期排序采用风险模型（逻辑回归）。按年滚动回测（检验 2023–2024年）：区分度 0.86（95% 区间 0.83–0.89），"
            "排名前 20% 的单位集中了下一年 68% 的事件；各基线中最佳的是“基线：既往事故与规模”，区分度 0.70、前 20% 为 41%。"
            ) in text
    assert f"采用原因：{DECISIONS['model']}。" in text
    assert not any("未采用风险模型" in w.value for w in at.warning)
    # The card by fold, in the expander: AUC with its interval, captures in percent, none where null.
    card = table_with(at, "区分度（95% 区间）")
    assert len(card) == 12 and list(card["回测折"].unique()) == ["2023年", "2024年", "合计（各年合并）"]
    assert list(card["排序方法"][:4]) == ["风险模型（逻辑回归）", "基线：既往事故与规模", "基线：随机", "基线：风险点等级"]
    overall = card[card["回测折"] == "合计（各年合并）"].set_index("排序方法")
    assert overall.loc["风险模型（逻辑回归）", "区分度（95% 区间）"] == "0.86（0.83–0.89）"
    assert overall.loc["风险模型（逻辑回归）", "前20%单位所占事件（%）"] == 68.0
    assert overall.loc["风险模型（逻辑回归）", "本期采用"] == "是"
    assert overall.loc["基线：随机", "前10%单位所占事件（%）"] == 10.0
    colour_2023 = card[(card["回测折"] == "2023年") & (card["排序方法"] == "基线：风险点等级")].iloc[0]
    assert colour_2023["区分度（95% 区间）"] == "—" and pd.isna(colour_2023["前20%单位所占事件（%）"])
    assert "**使用的特征**：既往事故、重大隐患、风险点等级、从业人数" in text
    assert "年度回测样本较小" in text
    assert f"模型版本：{MODEL_VERSION}" in text and "评估日 2020-01-01 起，结果期至 2024-12-31，共 288 行" in text
    # The list: the two listed units, by street (武林 before 天水 in the streets' order).
    assert metrics(at)["列入清单单位"] == "2 家"
    assert "预测期：2025-01-01 至 2025-12-31；排序方法：风险模型（逻辑回归）" in text
    listed = priority_list(at)
    # On the page the unit's name leads (a part split off for the reasons keeps it).
    assert list(listed.columns) == ["单位名称", "街道", "街道内排名", "全区排名", "统一社会信用代码", "风险评分（%）",
                                    "主要原因"]
    assert listed.values.tolist() == [
        ["甲机械厂", "武林街道", 1, 2, "U1", 48.0, "负责的风险点最高为红色"],
        ["丙建筑公司", "天水街道", 1, 1, "U3", 62.0, "近3年发生生产安全事故 1 起；现存重大隐患 2 项；从业人数 120 人"],
    ]
    assert all("主要原因" not in part.columns or part.columns[0] == "单位名称"
               for part in (e.value for e in at.dataframe))
    # Follow-up: the district's (ALL) latest month, and the months latest first.
    m = metrics(at)
    assert "上月清单落实情况（2024年12月，全部街道）" in text
    assert m["清单单位"] == "2 家"
    assert m["当月已检查"] == "1 家（50.0%）"
    assert m["清单单位发现问题"] == "3 项"
    assert m["发现问题的清单单位"] == "1 家"
    assert m["受处罚的清单单位"] == "1 家"
    followup = table_with(at, "清单月份")
    assert list(followup.columns) == ["清单月份", "清单单位（家）", "已检查（家）", "检查率（%）", "发现问题（项）",
                                      "问题单位（家）", "受处罚单位（家）"]
    assert followup.values.tolist() == [["2024年12月", 2, 1, 50.0, 3, 1, 1], ["2024年11月", 2, 1, 50.0, 2, 1, 0]]
    assert len([d for d in at.dataframe if "清单月份" in d.value.columns]) == 1  # one table, not split


def test_priorities_one_street(home):
    at = run_page({"streets": "TS"})
    assert "下月检查建议清单（天水街道）" in all_text(at)
    assert priority_list(at).values.tolist() == [
        ["丙建筑公司", "天水街道", 1, 1, "U3", 62.0, "近3年发生生产安全事故 1 起；现存重大隐患 2 项；从业人数 120 人"],
    ]
    m = metrics(at)
    assert m["列入清单单位"] == "1 家"
    assert m["清单单位"] == "1 家" and m["当月已检查"] == "0 家（0.0%）" and m["受处罚的清单单位"] == "0 家"
    assert table_with(at, "清单月份")["已检查（家）"].tolist() == [0, 1]

    # Two streets through the widget: their rows summed; a street without listed units says so.
    at.multiselect(key="enforcement_streets").select("WL").run()
    assert priority_list(at)["单位名称"].tolist() == ["甲机械厂", "丙建筑公司"]
    assert metrics(at)["当月已检查"] == "1 家（50.0%）"
    at.multiselect(key="enforcement_streets").unselect("WL").unselect("TS").select("CH").run()
    assert any("所选街道没有列入下月检查建议清单的单位" in i.value for i in at.info)
    assert metrics(at)["列入清单单位"] == "0 家"


def test_priorities_download_is_the_list_in_scope(home, downloads):
    run_page()
    stem = "执法_下月检查建议清单_2025-01"
    raw = downloads[f"{stem}.csv"]
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    csv = pd.read_csv(io.StringIO(raw.decode("utf-8-sig")), dtype=str)
    assert list(csv.columns) == ["街道", "街道内排名", "全区排名", "单位名称", "统一社会信用代码", "风险评分（%）", "主要原因"]
    assert csv["统一社会信用代码"].tolist() == ["U1", "U3"]  # the listed units only
    assert csv["风险评分（%）"].tolist() == ["48.0", "62.0"]
    assert downloads[f"{stem}.xlsx"][:2] == b"PK"

    downloads.clear()
    run_page({"streets": "WL"})
    csv = pd.read_csv(io.StringIO(downloads[f"{stem}.csv"].decode("utf-8-sig")), dtype=str)
    assert csv["单位名称"].tolist() == ["甲机械厂"]


def test_priorities_baseline_in_use_is_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb", published="baseline_past_incidents")
    at = run_page()
    warning = next(w.value for w in at.warning if "未采用风险模型" in w.value)
    assert warning == ("本期未采用风险模型，排序采用“基线：既往事故与规模”。"
                       f"{DECISIONS['baseline_past_incidents']}。")
    text = all_text(at)
    assert ("按年滚动回测（检验 2023–2024年）：本期采用的“基线：既往事故与规模” 区分度 0.70（95% 区间 0.64–0.76），"
            "排名前 20% 的单位集中了下一年 41% 的事件；风险模型（逻辑回归） 区分度 0.66、前 20% 为 37%。") in text
    assert "本期排序采用风险模型" not in text
    assert "风险评分为排名百分位" in text and "排序方法：基线：既往事故与规模" in text
    assert metrics(at)["列入清单单位"] == "2 家"


@pytest.mark.parametrize("tables, message", [
    (("streets", "inspections", "enterprises", "kpi"), "数据集市中暂无下月检查建议清单"),  # an older warehouse
    (("streets", "inspections", "enterprises", "kpi", "priorities_empty"), "检查排序模型尚未产生结果"),
])
def test_priorities_absent_or_empty_say_so_and_the_page_works(tmp_path, monkeypatch, tables, message):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb", tables=tables)
    at = run_page()
    assert [i.value for i in at.info if "下月检查建议清单" in i.value or "检查排序模型" in i.value] == [
        next(i.value for i in at.info if message in i.value)
    ]
    assert not [w for w in at.warning if w.icon != ":material/lock_open:"]  # only the app's sign-in-off banner
    m = metrics(at)
    assert m["执法检查"] == "9 次" and m["黑名单单位"] == "2 家" and m["安责险覆盖率（当前）"] == "62.5%"
    assert "列入清单单位" not in m and "清单单位" not in m
    assert [b.proto.label for b in at.get("download_button")].count("下载 CSV") == 4


# --- real server + browser --------------------------------------------------------------------


def test_served_page_renders_in_chromium(warehouse_home, tmp_path):
    with browser_page(warehouse_home, tmp_path / "streamlit.log", height=2400) as (page, base):
        page.goto(f"{base}/{PAGE}")
        wait_text(page, "执法检查概况", exact=False)
        wait_text(page, "安全生产黑名单", exact=False, timeout=10_000)
        page.locator(".vega-embed").nth(3).wait_for(timeout=20_000)
        page.wait_for_timeout(1500)
        body = page.inner_text("body")
        assert "17.0 万元" in body
        assert "62.5%" in body
        wait_text(page, "上月清单落实情况", exact=False, timeout=10_000)
        assert "本期排序采用风险模型（逻辑回归）" in page.inner_text("body")
        screenshot(page, PAGE, grow_viewport=True)
