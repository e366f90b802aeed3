"""Tests of the 数据健康 dashboard page and of the page frame (dashboards.frame: downloads, filters).

The fixture warehouse ($CITYSAFETY_HOME/warehouse/citysafety.duckdb) holds the three audit tables
the page reads, with a handful of hand-written rows whose expected figures are computed by hand
below, plus the mart tables the 总览 page (the app's default page) reads.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from dashboard_harness import (  # noqa: F401 (home: a fixture)
    arrow_columns,
    create_dim_streets,
    browser_page,
    create_mart,
    create_table,
    derive_mart,
    goto_via_app,
    home,
    metrics,
    open_warehouse,
    page_text,
    screenshot,
    sidebar_nav,
    table_with,
    wait_text,
    warehouse_path,
)
from dashboard_harness import run_page as _run_page
from citysafety.mart import freshness
from citysafety.mart import quality as gate
from citysafety.raw import store
from dashboards import data, frame
from dashboards import signin_store as S

PAGE = "data_health"

# --- fixture of the published warehouse -------------------------------------------------------

# When the fixture is built (UTC, naive like loaded_at): recent deliveries are relative to it.
NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)

# Personal data that only ever sits in audit.quarantine.raw_record and
# audit.quality_results.unexpected_sample: it must never reach the page.
SECRETS = ["张三丰", "13812345678", "李四光", "13987654321", "王五郎", "330102199001011234"]

# source, feed, file_name, rows_delivered, rows_loaded, rows_quarantined, status, duplicate_of,
# loaded_at (UTC)
RECONCILIATION = [
    # 火灾 (weekly): an old partial file and a fresh one -> 正常.
    ("fire", "fires", "fires_2020-01.csv", 10, 8, 2, "partial", None, dt.datetime(2020, 1, 10, 2, 0)),
    ("fire", "fires", "fires_latest.csv", 5, 5, 0, "loaded", None, NOW - dt.timedelta(hours=2)),
    # 道路交通事故 (daily): last file 2020-01-02 04:00 UTC -> due 2020-01-03 04:00 -> 逾期.
    ("traffic", "road_accidents", "road_accidents_2020-01-01.jsonl", 4, 1, 3, "partial", None,
     dt.datetime(2020, 1, 1, 4, 0)),
    ("traffic", "road_accidents", "road_accidents_2020-01-01_copy.jsonl", 4, 0, 4, "duplicate",
     "road_accidents_2020-01-01.jsonl", dt.datetime(2020, 1, 2, 4, 0)),
    # 生产安全事故快报 (monthly): 2019-12-31 17:00 UTC is 2020-01-01 01:00 in Beijing.
    ("emb", "accidents", "accidents_2019-12.csv", 3, 3, 0, "loaded", None, dt.datetime(2019, 12, 31, 17, 0)),
    ("emb", "accidents", "accidents_2020-02.csv", 1, 0, 1, "rejected", None, NOW - dt.timedelta(days=1)),
    # 生产经营单位基础信息 (monthly): an empty file three days ago -> 正常.
    ("emb", "enterprises", "enterprises_2020-02.xlsx", 0, 0, 0, "empty", None, NOW - dt.timedelta(days=3)),
]
# File names delivered again with other bytes: their version (the ingest's FileVersion).
RESENT = {"fires_latest.csv": 2}
DUP_REASON = "duplicate delivery: identical content already loaded from road_accidents_2020-01-01.jsonl"
# source, feed, file_name, row_number, reason, raw_record
QUARANTINE = [
    ("fire", "fires", "fires_2020-01.csv", 3, "死亡人数: not a whole number: 'abc'",
     "F-003,2020-01-03 10:00,武林街道,张三丰,13812345678,abc"),
    ("fire", "fires", "fires_2020-01.csv", 7, "死亡人数: not a whole number: '1.5'",
     "F-007,2020-01-04 11:00,天水街道,李四光,13987654321,1.5"),
    ("traffic", "road_accidents", "road_accidents_2020-01-01.jsonl", 2,
     "not valid JSON: Expecting value (column 1)", "{bad 王五郎 330102199001011234"),
    ("traffic", "road_accidents", "road_accidents_2020-01-01.jsonl", 3,
     "not valid JSON: Expecting value (column 1)", "{bad again 张三丰"),
    ("traffic", "road_accidents", "road_accidents_2020-01-01.jsonl", 4,
     "occurred_at: not a valid date-time: '2020-13-01 李四光'", '{"occurred_at": "2020-13-01 李四光"}'),
    ("traffic", "road_accidents", "road_accidents_2020-01-01_copy.jsonl", 1, DUP_REASON, '{"ok": 1}'),
    ("traffic", "road_accidents", "road_accidents_2020-01-01_copy.jsonl", 2,
     f"{DUP_REASON} (there: not valid JSON: Expecting value (column 1))", "{bad 王五郎 330102199001011234"),
    ("traffic", "road_accidents", "road_accidents_2020-01-01_copy.jsonl", 3,
     f"{DUP_REASON} (there: not valid JSON: Expecting value (column 1))", "{bad again 张三丰"),
    ("traffic", "road_accidents", "road_accidents_2020-01-01_copy.jsonl", 4,
     f"{DUP_REASON} (there: occurred_at: not a valid date-time: '2020-13-01 李四光')",
     '{"occurred_at": "2020-13-01 李四光"}'),
    ("emb", "accidents", "accidents_2020-02.csv", 0,
     "file rejected: header row is missing or not valid gb18030", "RAW-FILE-MARKER"),
]
# checked_at (UTC), table_name, expectation, column_name, success, unexpected_count, sample
QUALITY = [
    # An older gate run: not shown.
    (dt.datetime(2024, 5, 1, 2, 30), "raw.fire__fires", "expect_old_run", "fire_id", False, 9, "[\"李四光\"]"),
    (dt.datetime(2024, 5, 2, 1, 0), "raw.fire__fires", "expect_column_values_to_not_be_null", "fire_id", True, 0, None),
    (dt.datetime(2024, 5, 2, 1, 0), "marts.kpi_safety_targets", "expect_column_values_to_be_unique", "year", True, 0, None),
    (dt.datetime(2024, 5, 2, 1, 0), "audit.reconciliation", "expect_column_pair_values_to_be_equal",
     "rows_delivered,rows_loaded", False, 2, "[\"张三丰 13812345678\"]"),
]

STREETS = [("WL", "武林街道", "武林", False), ("TS", "天水街道", "天水", False), ("UNKNOWN", "未知街道", None, True)]
KPI_ROWS = [
    (2016, 10, 5, 25, 40, 40, 800.0, "最终核实", 0.05, 0.0, 0.0, 24.0, 0.0225, False, False, "2017-03-31", None),
    (2020, 4, 2, 15, 21, 21, 1050.0, "初步核算", 0.02, -0.475, -0.6, 24.0, 0.0225, True, True, "2021-03-31", None),
]
EVENTS = [("E1", "emb", "工矿商贸", "WL", "武林街道", 2020, 1, 0, 50.0)]
# dbt source freshness of the last build: fires past error_after, economy past warn_after,
# grid never delivered, accidents fresh.
FRESHNESS = [
    (NOW, "fire", "fire__fires", "error", NOW - dt.timedelta(days=20), 480.0, "8 day", "15 day"),
    (NOW, "stats", "stats__economy", "warn", NOW - dt.timedelta(days=450), 10800.0, "400 day", "800 day"),
    (NOW, "grid", "grid__hazard_reports", "no_data", None, None, "2 day", "7 day"),
    (NOW, "emb", "emb__accidents", "pass", NOW - dt.timedelta(hours=2), 2.0, "35 day", "62 day"),
]
# Street values as delivered and as dbt mapped them: two fell to UNKNOWN.
STREET_VALUES = [
    ("fire", "fires", "城东新城片区", "UNKNOWN", "unmapped", 3, dt.date(2020, 1, 5), dt.date(2020, 3, 1)),
    ("fire", "fires", "武林街道", "WL", "exact", 40, dt.date(2016, 1, 3), dt.date(2020, 3, 1)),
    ("emb", "accidents", "", "UNKNOWN", "unmapped", 1, dt.date(2019, 5, 1), dt.date(2019, 5, 1)),
]


def build_warehouse(db_path: Path, *, audit: tuple[str, ...] = ("reconciliation", "quarantine", "quality",
                                                                 "freshness")) -> None:
    with open_warehouse(db_path, schemas=("marts", "audit")) as con:
        # The mart tables of 总览 (the default page), so that the whole app runs.
        create_dim_streets(con, [s[0] for s in STREETS])  # dbt's model over the seed's rows
        create_mart(con, "marts.kpi_safety_targets", KPI_ROWS)
        create_mart(con, "marts.fct_casualty_events", [(eid, dept, dname, f"{dept}-1", year, code, name, deaths, injuries, loss)
             for eid, dept, dname, code, name, year, deaths, injuries, loss in EVENTS],
            values="(?, ?, ?, ?, '2020-06-01 10:00', '2020-06-01', ?, ?, ?, ?, ?, ?, '测试类别', NULL, "
            "'2020-06-01 10:00', 'x.csv', 1)",
        )
        derive_mart(con, "rpt_overview_casualties")
        if "reconciliation" in audit:
            create_table(
                con, "audit.reconciliation", arrow_columns(store.RECONCILIATION),  # as the raw layer writes it
                [(s, f, name, f"sha-{name}", d, lo, q, st_, dup, at, RESENT.get(name, 1),
                  f"sha-{name}-v{RESENT[name] - 1}" if name in RESENT else None)
                 for s, f, name, d, lo, q, st_, dup, at in RECONCILIATION],
                values="(?, ?, ?, ?, 100, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
            )
            derive_mart(con, "rpt_data_health_deliveries")  # dbt's counts over the files above
            # one row per feed: names, cadence, latest file, due time, status as of the build
            derive_mart(con, "rpt_data_health_feeds")
        if "quarantine" in audit:
            loaded = {name: at for _, _, name, *_, at in RECONCILIATION}
            create_table(
                con, "audit.quarantine", arrow_columns(store.QUARANTINE),  # as the raw layer writes it
                [(s, f, name, n, reason, raw, f"sha-{name}", loaded[name])
                 for s, f, name, n, reason, raw in QUARANTINE],
            )
            # the masked reasons: dbt's model over the quarantined rows above
            derive_mart(con, "rpt_data_health_quarantine_reasons")
        if "quality" in audit:
            create_table(con, gate.RESULTS_TABLE, gate.RESULTS_COLUMNS, QUALITY)  # as the gate writes it
        create_mart(con, "marts.agg_street_values", STREET_VALUES)
        if "freshness" in audit:
            # as the build writes it, least urgent first: the order shown is the mart's (status_order)
            create_table(con, freshness.TABLE, freshness.COLUMNS, FRESHNESS[::-1])
            derive_mart(con, "rpt_data_health_source_freshness")  # dbt's order and feed names


def data_docs_index(home: Path) -> Path:
    # Same place as citysafety.mart.quality.data_docs_index (checked in a test below).
    return home / "quality" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


@pytest.fixture(scope="module")
def warehouse_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("citysafety_home")
    build_warehouse(warehouse_path(home))
    docs = data_docs_index(home)
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text("<html><body>Data Docs</body></html>", encoding="utf-8")
    return home


def run_page(query_params: dict[str, str] | None = None) -> AppTest:
    return _run_page(PAGE, query_params)


def by_title(df: pd.DataFrame) -> pd.DataFrame:
    return df.set_index("数据项")




def days_late(last_utc: dt.datetime, cadence_days: int) -> int:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return math.ceil((now - last_utc - dt.timedelta(days=cadence_days)) / dt.timedelta(days=1))


# --- AppTest ----------------------------------------------------------------------------------


def test_default_view_all_feeds_freshness_and_counts(home):
    at = run_page()
    assert [t.value for t in at.title] == ["数据健康"]
    m = metrics(at)
    # 15 feeds: 火灾, 生产安全事故快报, 生产经营单位基础信息 正常; 道路交通事故 逾期; 11 未收到.
    assert m["数据项"] == "15 项"
    assert m["按时交付"] == "3 项"
    assert m["逾期"] == "1 项"
    assert m["未收到"] == "11 项"
    # Every delivery: 7 files, 15 + 8 + 4 + 0 = 27 rows delivered, 2 + 7 + 1 = 10 quarantined.
    assert m["交付文件（全部交付）"] == "7 个"
    assert m["交付行数（全部交付）"] == "27 行"
    assert m["隔离行数（全部交付）"] == "10 行"
    assert m["隔离占比（全部交付）"] == "37.04%"

    fresh = table_with(at, "时效状态")
    assert len(fresh) == 15
    # Grouped by department in the registry's order, Chinese names.
    assert list(dict.fromkeys(fresh["部门"])) == [
        "区应急管理局", "区消防救援大队", "交警大队", "区统计局", "网格化治理平台", "区安委办", "区应急指挥中心",
    ]
    rows = by_title(fresh)
    late = days_late(dt.datetime(2020, 1, 2, 4, 0), 1)
    assert rows.loc["道路交通事故", "时效状态"] == "逾期"
    assert rows.loc["道路交通事故", "逾期天数"] == late
    assert rows.loc["道路交通事故", "最近交付文件"] == "road_accidents_2020-01-01_copy.jsonl"
    assert rows.loc["道路交通事故", "最近文件状态"] == "重复交付"
    assert rows.loc["道路交通事故", "约定交付周期"] == "每日（1天）"
    # Times in Beijing: 2020-01-02 04:00 UTC -> 12:00; due one day later.
    assert pd.Timestamp(rows.loc["道路交通事故", "最近交付时间"]) == pd.Timestamp("2020-01-02 12:00")
    assert pd.Timestamp(rows.loc["道路交通事故", "下次交付截止时间"]) == pd.Timestamp("2020-01-03 12:00")
    assert rows.loc["火灾", "时效状态"] == "正常"
    assert pd.isna(rows.loc["火灾", "逾期天数"])
    assert rows.loc["火灾", "最近交付文件"] == "fires_latest.csv"
    assert rows.loc["生产安全事故快报", "时效状态"] == "正常"
    assert rows.loc["生产安全事故快报", "最近文件状态"] == "拒收"
    assert rows.loc["生产经营单位基础信息", "最近文件状态"] == "空文件"
    for title in ("地区生产总值与人口", "应急预案", "重大危险源在线监测", "网格隐患排查"):
        assert rows.loc[title, "时效状态"] == "未收到"
        assert rows.loc[title, "最近交付文件"] == "—"  # a missing cell reads "—", never "None"

    counts = by_title(table_with(at, "隔离占比（%）"))
    assert counts.loc["火灾", ["交付文件数", "交付行数", "加载行数", "隔离行数"]].tolist() == [2, 15, 13, 2]
    assert counts.loc["火灾", "隔离占比（%）"] == pytest.approx(13.33)
    assert counts.loc["火灾", ["已加载", "部分隔离", "拒收", "重复交付", "空文件"]].tolist() == [1, 1, 0, 0, 0]
    # fires_latest.csv is the second version of its name: a re-send, shown as one
    assert counts.loc["火灾", "同名重新交付"] == 1
    assert counts.loc["道路交通事故", "同名重新交付"] == 0
    assert counts.loc["道路交通事故", ["交付文件数", "交付行数", "加载行数", "隔离行数"]].tolist() == [2, 8, 1, 7]
    assert counts.loc["道路交通事故", "隔离占比（%）"] == pytest.approx(87.5)
    assert counts.loc["道路交通事故", ["部分隔离", "重复交付"]].tolist() == [1, 1]
    assert counts.loc["生产经营单位基础信息", ["交付文件数", "交付行数", "空文件"]].tolist() == [1, 0, 1]
    assert pd.isna(counts.loc["生产经营单位基础信息", "隔离占比（%）"])
    assert counts.loc["应急演练", ["交付文件数", "交付行数"]].tolist() == [0, 0]

    warnings = " ".join(w.value for w in at.warning)
    assert f"交警大队·道路交通事故（逾期 {late} 天）" in warnings
    assert "区统计局·地区生产总值与人口" in " ".join(i.value for i in at.info)
    assert at.query_params == {}


def test_quarantine_reasons_grouped_and_masked(home):
    at = run_page()
    reasons = table_with(at, "隔离原因")
    fire = reasons[reasons["数据项"] == "火灾"]
    # The two fire reasons differ only by the delivered value: masked, they group together.
    assert fire[["隔离原因", "隔离行数", "涉及文件数"]].values.tolist() == [
        ["死亡人数：不是整数：…", 2, 1]
    ]
    traffic = reasons[reasons["数据项"] == "道路交通事故"]
    assert traffic[["排名", "隔离原因", "隔离行数"]].values.tolist() == [
        [1, "重复交付：相同内容已从 … 加载（原文件：不是有效的 JSON）", 2],
        [2, "不是有效的 JSON", 2],
        [3, "重复交付：相同内容已从 … 加载", 1],
        [4, "重复交付：相同内容已从 … 加载（原文件：发生时间：不是有效的日期时间：…）", 1],
        [5, "发生时间：不是有效的日期时间：…", 1],
    ]
    assert traffic["涉及文件数"].tolist() == [1, 1, 1, 1, 1]
    emb = reasons[reasons["部门"] == "区应急管理局"]
    assert emb[["数据项", "隔离原因", "隔离行数"]].values.tolist() == [
        ["生产安全事故快报", "文件被拒收：缺少表头行，或表头不是有效的 gb18030 编码", 1]
    ]
    # In Chinese on the page (issue 13); the raw layer's English wording is the code that goes
    # with the downloads, beside the text.
    assert "原因代码" not in reasons.columns and "not valid JSON" not in page_text(at)


def test_raw_records_and_samples_never_shown(home, monkeypatch):
    captured: list[bytes] = []
    original = streamlit.download_button

    def spy(label, data, *args, **kwargs):
        captured.append(data)
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", spy)
    at = run_page()
    text = page_text(at)
    assert "道路交通事故" in text and "死亡人数：不是整数：…" in text
    downloads = b"".join(captured)
    assert "死亡人数: not a whole number: …".encode("utf-8") in downloads  # the code, masked too
    assert len(captured) == 10  # CSV + XLSX of five tables (with the unmapped street values)
    for secret in [*SECRETS, "RAW-FILE-MARKER", "2020-13-01"]:
        assert secret not in text, secret
        assert secret.encode("utf-8") not in downloads, secret
    # XLSX is zipped: check the unzipped cells too.
    for data in captured:
        if data[:2] == b"PK":
            cells = " ".join(
                str(c.value) for ws in openpyxl.load_workbook(io.BytesIO(data)) for r in ws.iter_rows() for c in r
            )
            assert not any(secret in cells for secret in SECRETS)


def test_department_filter_from_query_params(home):
    at = run_page({"dept": "emb"})
    assert at.selectbox(key="data_health_department").value == "emb"
    m = metrics(at)
    # 区应急管理局: 6 feeds; 事故快报 and 基础信息 正常, 4 未收到; 3 files, 4 rows, 1 quarantined.
    assert m["数据项"] == "6 项"
    assert m["按时交付"] == "2 项"
    assert m["逾期"] == "0 项"
    assert m["未收到"] == "4 项"
    assert m["交付文件（全部交付）"] == "3 个"
    assert m["交付行数（全部交付）"] == "4 行"
    assert m["隔离行数（全部交付）"] == "1 行"
    assert m["隔离占比（全部交付）"] == "25.00%"
    counts = table_with(at, "隔离占比（%）")
    assert set(counts["部门"]) == {"区应急管理局"}
    assert counts["数据项"].tolist() == [
        "生产安全事故快报", "生产经营单位基础信息", "重大危险源及监测点", "重大危险源在线监测", "执法检查",
        "安全宣传教育与培训",
    ]
    row = by_title(counts).loc["生产安全事故快报"]
    assert row[["交付文件数", "交付行数", "加载行数", "隔离行数", "已加载", "拒收"]].tolist() == [2, 4, 3, 1, 1, 1]
    assert row["隔离占比（%）"] == pytest.approx(25.0)
    assert set(table_with(at, "时效状态")["部门"]) == {"区应急管理局"}
    reasons = table_with(at, "隔离原因")
    assert reasons["数据项"].tolist() == ["生产安全事故快报"]
    assert at.query_params == {"dept": "emb"}


def test_department_filter_through_widget_updates_url(home):
    at = run_page()
    at.selectbox(key="data_health_department").set_value("traffic").run()
    assert not at.exception
    counts = table_with(at, "隔离占比（%）")
    assert counts[["数据项", "交付文件数", "交付行数", "加载行数", "隔离行数"]].values.tolist() == [
        ["道路交通事故", 2, 8, 1, 7]
    ]
    assert metrics(at)["逾期"] == "1 项"
    assert at.query_params == {"dept": "traffic"}
    at.selectbox(key="data_health_department").set_value(frame.ALL).run()
    assert len(table_with(at, "隔离占比（%）")) == 15
    assert at.query_params == {}


def test_period_filter_from_query_params(home):
    # January 2020 in Beijing: fires_2020-01, both road accident files, and accidents_2019-12
    # (loaded 2019-12-31 17:00 UTC = 2020-01-01 01:00 Beijing).
    at = run_page({"from": "2020-01-01", "to": "2020-01-31"})
    assert at.date_input(key="data_health_period").value == (dt.date(2020, 1, 1), dt.date(2020, 1, 31))
    period = "2020-01-01 至 2020-01-31"
    m = metrics(at)
    assert m[f"交付文件（{period}）"] == "4 个"
    assert m[f"交付行数（{period}）"] == "21 行"  # 10 + 4 + 4 + 3
    assert m[f"隔离行数（{period}）"] == "9 行"  # 2 + 3 + 4
    counts = by_title(table_with(at, "隔离占比（%）"))
    assert counts.loc["火灾", ["交付文件数", "交付行数", "加载行数", "隔离行数"]].tolist() == [1, 10, 8, 2]
    assert counts.loc["火灾", "隔离占比（%）"] == pytest.approx(20.0)
    assert counts.loc["生产安全事故快报", ["交付文件数", "交付行数", "隔离行数"]].tolist() == [1, 3, 0]
    # Freshness does not depend on the period.
    fresh = by_title(table_with(at, "时效状态"))
    assert fresh.loc["火灾", "时效状态"] == "正常"
    assert fresh.loc["火灾", "最近交付文件"] == "fires_latest.csv"
    reasons = table_with(at, "隔离原因")
    assert set(reasons["数据项"]) == {"火灾", "道路交通事故"}
    assert at.query_params == {"from": "2020-01-01", "to": "2020-01-31"}

    # One day, Beijing time: 2020-01-01 holds road_accidents_2020-01-01 and accidents_2019-12.
    at = run_page({"from": "2020-01-01", "to": "2020-01-01", "dept": "traffic"})
    m = metrics(at)
    assert m["交付文件（2020-01-01）"] == "1 个"
    assert m["隔离行数（2020-01-01）"] == "3 行"


def test_quality_gate_and_data_docs(home):
    at = run_page()
    errors = " ".join(e.value for e in at.error)
    # Only the last run (2024-05-02 01:00 UTC = 09:00 Beijing) counts: 3 expectations, 1 failed.
    assert "共 3 项检查，1 项未通过" in errors
    # In Chinese: no table, check or column names on the page (the codes go with the downloads).
    assert "交付对账记录 · 两字段取值相等（交付行数、加载行数），异常 2 个" in errors
    assert "检查时间：2024-05-02 09:00（北京时间）" in errors
    quality = table_with(at, "检查项")
    assert quality[["所属部门", "数据表", "结果", "异常值数量"]].values.tolist() == [
        ["全区（共用）", "交付对账记录", "未通过", 2],
        ["全区（共用）", "三年行动计划考核指标", "通过", 0],
        ["区消防救援大队", "区消防救援大队·火灾（原始数据）", "通过", 0],
    ]
    assert "expect_old_run" not in page_text(at)
    shown = page_text(at)
    for raw_name in ("audit.reconciliation", "marts.kpi_safety_targets", "raw.fire__fires",
                     "expect_column_pair_values_to_be_equal"):
        assert raw_name not in shown
    docs = data_docs_index(home)
    from citysafety.config import settings
    from citysafety.mart.quality import data_docs_index as real_index

    assert real_index(settings()) == docs
    # The report opens inside this page (issue 13): no path on the server, no file:// link.
    assert str(docs) not in page_text(at) and not at.get("link_button")
    assert not at.get("iframe") and "docs" not in at.query_params
    store = S.SigninStore(home / "secrets" / S.FILE_NAME)
    before = len(store.events())
    at.button(key="data_health_docs_button").click().run()
    assert not at.exception, [e.message for e in at.exception]
    frames = at.get("iframe")
    assert len(frames) == 1 and "Data Docs" in frames[0].proto.srcdoc
    assert at.query_params["docs"] == "index.html"  # the page's address names the report page
    # The open is audited like a download, once per page and session (not on each rerun).
    at.run()
    opens = [e for e in store.events()[: len(store.events()) - before] if e["event"] == S.REPORT]
    assert [(o["detail"], o["success"]) for o in opens] == [("质量报告 index.html", 1)]


def test_quality_report_opens_from_its_address_and_refuses_other_paths(home):
    """`?docs=<page>` (what a link inside the report sets) opens that page of the report; any
    other value, such as a path out of the report's folder, opens the report's index."""
    at = run_page({"docs": "index.html"})
    assert len(at.get("iframe")) == 1 and "Data Docs" in at.get("iframe")[0].proto.srcdoc
    secret = home / "secrets" / "probe.html"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("<html><body>not the report</body></html>", encoding="utf-8")
    at = run_page({"docs": "../../../../../secrets/probe.html"})
    assert not at.exception, [e.message for e in at.exception]
    assert not at.get("iframe") and at.selectbox(key="data_health_docs_page").value == "index.html"


def test_download_buttons_exist(home):
    at = run_page()
    buttons = at.get("download_button")
    labels = [b.proto.label for b in buttons]
    assert labels.count("下载 CSV") == 5 and labels.count("下载 Excel") == 5


def test_missing_audit_table_shows_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb", audit=("reconciliation",))
    at = run_page()
    # The delivery tables still show; the quarantine and quality sections say what is missing.
    assert len(table_with(at, "时效状态")) == 15
    # quarantine, quality results and source freshness: each section says its table is missing
    assert sum("缺少所需的数据表" in w.value for w in at.warning) == 3
    assert any("尚未生成质量报告" in c.value for c in at.caption)


def test_missing_warehouse_shows_friendly_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    at = run_page()
    assert any("数据仓库尚未发布" in i.value for i in at.info)
    assert not at.metric


def test_period_and_reset_through_widgets(home):
    at = run_page({"dept": "fire"})
    at.date_input(key="data_health_period").set_value((dt.date(2020, 1, 1), dt.date(2020, 1, 31))).run()
    assert not at.exception
    counts = table_with(at, "隔离占比（%）")
    assert counts[["数据项", "交付文件数", "交付行数", "隔离行数"]].values.tolist() == [["火灾", 1, 10, 2]]
    assert at.query_params == {"dept": "fire", "from": "2020-01-01", "to": "2020-01-31"}
    at.button(key=frame.RESET_KEY).click().run()  # 恢复默认筛选
    assert not at.exception
    assert at.selectbox(key="data_health_department").value == frame.ALL
    assert len(table_with(at, "隔离占比（%）")) == 15
    assert at.query_params == {}


def test_bad_query_params_fall_back(home):
    at = run_page({"dept": "nope", "from": "abc", "to": "1999-01-01"})
    assert at.selectbox(key="data_health_department").value == frame.ALL
    lo, hi = at.date_input(key="data_health_period").value
    # Unreadable -> first delivery day (2020-01-01 Beijing); before it -> clamped, then sorted.
    assert (lo, hi) == (dt.date(2020, 1, 1), dt.date(2020, 1, 1))
    assert metrics(at)["交付文件（2020-01-01）"] == "2 个"


def test_status_now_compares_dbt_due_time_with_the_clock():
    """The rule is dbt's (rpt_data_health_feeds, unit-tested there); the page compares due_at
    with now: a feed on time at the build is overdue once now passes its due time."""
    from dashboards.views.data_health import status_now

    due = dt.datetime(2024, 1, 8, 0, 0)
    assert status_now("not_received", None, due) == ("not_received", None)
    assert status_now("unregistered", None, due) == ("unregistered", None)
    assert status_now("on_time", due, due) == ("on_time", None)  # exactly at due: on time
    assert status_now("on_time", due, due + dt.timedelta(seconds=1)) == ("overdue", 1)
    assert status_now("overdue", due, due + dt.timedelta(days=3)) == ("overdue", 3)
    assert status_now("overdue", due, due - dt.timedelta(hours=1)) == ("on_time", None)  # a clock behind the build


def test_feed_table_keeps_unregistered_feeds_last(tmp_path, monkeypatch):
    """dbt's table (derived from the fixture's reconciliation) names and orders the feeds: an
    unregistered feed that delivered comes last, named by its source; the page adds the labels."""
    from dashboards.views.data_health import feed_table

    db = tmp_path / "warehouse" / "citysafety.duckdb"
    with open_warehouse(db, schemas=("marts", "audit")) as con:
        create_table(
            con, "audit.reconciliation", arrow_columns(store.RECONCILIATION),
            [("fire", "fires", "a.csv", "sha-a", 4, 4, 0, "loaded", None, dt.datetime(2024, 1, 1, 0, 0), 1, None),
             ("legacy", "old", "b.csv", "sha-b", 3, 2, 1, "partial", None, dt.datetime(2024, 1, 2, 0, 0), 1, None)],
            values="(?, ?, ?, ?, 100, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
        )
        derive_mart(con, "rpt_data_health_deliveries")
        derive_mart(con, "rpt_data_health_feeds")
    monkeypatch.setattr(data, "_scope", lambda: db)  # as for the leader (dashboards.auth)
    feeds = data.load_feed_deliveries([], None, None)
    table = feed_table(feeds, dt.datetime(2024, 1, 3))
    assert len(table) == 16  # the 15 registered feeds, then the unregistered one
    last = table.iloc[-1]
    assert (last["department"], last["title"], last["freshness"]) == ("未登记来源（legacy）", "old", "—")
    assert last["quarantine_pct"] == pytest.approx(33.33)
    fire = table[table["feed_id"] == "fire/fires"].iloc[0]
    assert fire["freshness"] == "正常" and fire["cadence_name"] == "每周（7天）"
    assert fire["last_loaded_local"] == pd.Timestamp("2024-01-01 08:00")
    assert fire["due_local"] == pd.Timestamp("2024-01-08 08:00")
    late = feed_table(feeds, dt.datetime(2024, 1, 8, 0, 0, 1)).set_index("feed_id")
    assert late.loc["fire/fires", "days_late"] == 1


# --- the page frame (dashboards.frame) ----------------------------------------------------------

EXPORT = pd.DataFrame(
    {"title": ["火灾", "道路交通事故"], "rows": [15, 8], "share": [13.33, None], "internal": ["x", "y"]}
)
EXPORT_HEADERS = {"title": "数据项", "rows": "交付行数", "share": "隔离占比（%）"}


def test_download_buttons_bytes(monkeypatch):
    calls: list[dict] = []

    def fake_download_button(label, data, file_name=None, mime=None, **kwargs):
        calls.append({"label": label, "data": data, "file_name": file_name, "mime": mime, **kwargs})
        return False

    monkeypatch.setattr(frame.st, "download_button", fake_download_button)
    frame.download_buttons(EXPORT, "数据健康_测试", EXPORT_HEADERS)
    assert [c["file_name"] for c in calls] == ["数据健康_测试.csv", "数据健康_测试.xlsx"]
    assert calls[0]["mime"] == "text/csv"
    assert calls[1]["mime"] == frame.XLSX_MIME
    assert calls[0]["key"] != calls[1]["key"]

    csv = calls[0]["data"]
    assert csv.startswith(b"\xef\xbb\xbf")
    text = csv[3:].decode("utf-8")
    assert text.splitlines()[0] == "数据项,交付行数,隔离占比（%）"
    assert text.splitlines()[1] == "火灾,15,13.33"
    assert "internal" not in text
    parsed = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig")
    assert list(parsed.columns) == ["数据项", "交付行数", "隔离占比（%）"]

    book = openpyxl.load_workbook(io.BytesIO(calls[1]["data"]))
    ws = book.active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("数据项", "交付行数", "隔离占比（%）")
    assert rows[1] == ("火灾", 15, 13.33)
    assert rows[2][:2] == ("道路交通事故", 8)


def test_xlsx_handles_times_and_sheet_names():
    df = pd.DataFrame({"t": pd.to_datetime(["2020-01-02 12:00"]).tz_localize("Asia/Shanghai")})
    data = frame.xlsx_bytes(df, {"t": "时间"}, sheet_name="a/b:c")
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws.title == "a_b_c"
    assert ws["A1"].value == "时间"
    assert ws["A2"].value == dt.datetime(2020, 1, 2, 12, 0)


def test_xlsx_writes_yes_no_in_chinese():
    # A person reads the workbook: 是/否, never Excel's TRUE/FALSE (issue 13); missing stays empty.
    df = pd.DataFrame({"a": [True, False], "b": pd.array([True, None], dtype="boolean"),
                       "c": [False, None], "n": [1, 2]})
    data = frame.xlsx_bytes(df, {"a": "甲", "b": "乙", "c": "丙", "n": "数"})
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[1:] == [("是", "是", "否", 1), ("否", None, None, 2)]


def _filters_app():
    import pandas as pd
    import streamlit as st

    from dashboards import frame

    streets = pd.DataFrame({"street_code": ["WL", "TS", "CH"], "street_name": ["武林街道", "天水街道", "朝晖街道"]})
    selected = frame.street_filter(streets, key="f_streets")
    lo, hi = frame.period_filter((2016, 2021), key="f_years", label="统计期间（年）")
    st.write(f"result={','.join(selected)}|{lo}-{hi}")


def _filters_result(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("result="))


def test_street_and_year_filters_follow_the_url_convention(monkeypatch):
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # the filters without sign-in: every street
    at = AppTest.from_function(_filters_app, default_timeout=30)
    at.query_params["streets"] = "XX,ts,wl,TS"
    at.query_params["from"] = "2017"
    at.query_params["to"] = "2099"
    at.run()
    assert not at.exception
    # Street order of the table, unknown codes dropped; years clamped to the bounds.
    assert _filters_result(at) == "result=WL,TS|2017-2021"
    assert at.query_params == {"streets": "WL,TS", "from": "2017", "to": "2021"}
    at.multiselect(key="f_streets").unselect("WL").run()
    at.slider(key="f_years").set_range(2016, 2021).run()
    assert _filters_result(at) == "result=TS|2016-2021"
    assert at.query_params == {"streets": "TS"}  # the full period is left out of the URL


# --- real server + browser --------------------------------------------------------------------


def test_served_page_renders_in_chromium(warehouse_home, tmp_path):
    with browser_page(warehouse_home, tmp_path / "streamlit.log", height=2600) as (page, base):
        # The app's main script first (see the known issue below), then the page itself.
        goto_via_app(page, base, f"{PAGE}?dept=traffic")
        wait_text(page, "各数据项交付时效", exact=True)
        wait_text(page, "主要隔离原因", exact=False, timeout=10_000)
        wait_text(page, "下载 Excel", timeout=10_000)
        page.wait_for_timeout(1000)
        body = page.inner_text("body")
        assert "数据健康" in body
        assert "交警大队·道路交通事故（逾期" in body
        assert "共 3 项检查，1 项未通过" in body
        assert "87.50%" in body
        for secret in SECRETS:
            assert secret not in body
        nav = sidebar_nav(page)
        assert "总览" in nav and "数据健康" in nav
        assert "dept=traffic" in page.url
        screenshot(page, PAGE)


# A direct link on a fresh server must run the app's navigation (the page scripts live in
# dashboards/views/: a folder named pages/ would put Streamlit in its old pages-folder mode).
def test_direct_link_to_page_on_fresh_server_uses_app_navigation(warehouse_home, tmp_path):
    with browser_page(warehouse_home, tmp_path / "streamlit.log") as (page, base):
        page.goto(f"{base}/{PAGE}")  # the very first request of the server
        wait_text(page, "各数据项交付时效", exact=True)
        page.wait_for_timeout(1000)
        nav = sidebar_nav(page)
        assert "总览" in nav and "数据健康" in nav, nav


def test_street_values_that_fell_to_unknown_are_listed(home):
    """The values dbt mapped to no street (marts.agg_street_values), with their feed in Chinese,
    most rows first; the mapped ones are not listed; an empty value is named as such."""
    at = run_page()
    table = table_with(at, "交付的街道取值")
    assert table["交付的街道取值"].tolist() == ["城东新城片区", "（空白）"]
    assert table["行数"].tolist() == [3, 1]
    assert table["数据项"].tolist()[0] != "fires" and "武林街道" not in table["交付的街道取值"].tolist()
    # With one department chosen, only its values.
    at = run_page({"dept": "emb"})
    assert table_with(at, "交付的街道取值")["交付的街道取值"].tolist() == ["（空白）"]


def test_source_freshness_verdicts_in_chinese_most_urgent_first(home):
    """dbt's verdicts of the last build (audit.source_freshness), feeds named in Chinese, the
    feed that stopped the publish first, thresholds in Chinese units."""
    at = run_page()
    table = table_with(at, "新鲜度")
    assert table["新鲜度"].tolist() == ["超期（阻止发布）", "预警（超过约定周期）", "尚无数据", "正常"]
    assert table["数据项"].tolist()[0] != "fires" and table["超期阈值"].tolist()[0] == "15 天"
    assert any("1 个数据项超期，本次构建未发布" in e.value for e in at.error)
