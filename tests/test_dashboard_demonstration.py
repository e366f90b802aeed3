"""Tests of the 示范创建 dashboard page against a small hand-written fixture of the published mart.

The fixture warehouse ($CITYSAFETY_HOME/warehouse/citysafety.duckdb) holds the demonstration marts
the page reads (agg_demonstration_by_street, fct_demonstration_units) and dim_streets, with a
handful of rows whose expected figures are computed by hand below; plus a minimal 总览 mart (the
app's default page). A street office is signed in through the login form on its analyst file
(citysafety.share.exports run on the fixture), as tests/test_boundary.py does.

The helpers for the street office (`street_office_app`) and for tables built from the contracts
(`create_contract_mart`) are reused by tests/test_dashboard_education.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import streamlit
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from dashboard_harness import (  # noqa: F401 (home: a fixture)
    APP,
    chart_titles,
    contract_columns,
    create_table,
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
from test_dashboard_monitoring import STREETS, create_overview_minimal, create_streets

PAGE = "demonstration"

# --- tables from the contracts ----------------------------------------------------------------


def create_contract_mart(con: duckdb.DuckDBPyConnection, relation: str, rows: list[dict]) -> None:
    """A published relation with its contract's columns (contracts.lock.json); each row names its
    cells (the others null)."""
    columns = contract_columns(relation)
    names = [c.split(" ")[0] for c in columns.split(", ")]
    unknown = {k for row in rows for k in row} - set(names)
    assert not unknown, f"{relation}: no such columns {unknown}"
    create_table(con, relation, columns, [[row.get(n) for n in names] for row in rows])


# --- a street office, signed in -----------------------------------------------------------------

PASSWORD = "street-office-test"
# The page's published tables and their Chinese names (labels.TABLE_TITLES).
NEW_MARTS = {
    "fct_demonstration_units": "示范创建单位",
    "agg_demonstration_by_street": "示范创建·按街道统计",
    "fct_training_activities": "安全培训和宣传教育活动",
    "fct_enterprise_training_status": "企业培训考核情况",
    "agg_education_by_street": "宣传教育·按街道统计",
}


@contextlib.contextmanager
def street_office_app(home: Path, monkeypatch, name: str = "street_wl") -> Iterator[tuple[AppTest, list]]:
    """The app signed in as a street office on its analyst file (exported from the fixture
    warehouse in ``home``); yields the AppTest on 总览 and the list the bytes of every download
    button are appended to."""
    from citysafety.config import Settings
    from citysafety.share import exports
    from citysafety.share import policy as P
    from dashboards import auth
    from demo import accounts

    exports.export_all(Settings(home=home), [name])
    principal = P.load().principal(name)
    users = accounts.write_users(home / "secrets" / "users.json", {name: {
        "role": principal.kind, "scope": principal.streets[0],
        "password_hash": P.hash_password(PASSWORD, iterations=1000)}})
    monkeypatch.setenv("CITYSAFETY_HOME", str(home))
    monkeypatch.setenv("CITYSAFETY_USERS", str(users))
    monkeypatch.delenv("CITYSAFETY_AUTH", raising=False)
    captured: list = []
    original = streamlit.download_button

    def spy(label, data, *args, **kwargs):  # the real button; the bytes kept to be read
        captured.append(data() if callable(data) else data)
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", spy)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.text_input(key=auth.USERNAME_KEY).input(name)
    at.text_input(key=auth.PASSWORD_KEY).input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    yield at, captured


def chart_data(at: AppTest, title: str) -> tuple[dict, pd.DataFrame]:
    """(the vega-lite spec, the data) of the page's altair chart with that title: what is drawn
    (streamlit sends the chart's data as Arrow datasets)."""
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if spec.get("title", {}).get("text") == title:
            frames = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets]
            if chart.proto.HasField("data"):
                frames.append(convert_arrow_bytes_to_pandas_df(chart.proto.data.data))
            return spec, pd.concat(frames, ignore_index=True)
    raise AssertionError(f"no chart titled {title!r}: {chart_titles(at)}")


def download_texts(payloads: list) -> str:
    """The text of downloaded CSV and XLSX files."""
    out = []
    for data in payloads:
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if raw[:2] == b"PK":
            book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
            out += [str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                    for v in row if v is not None]
        else:
            out.append(raw.decode("utf-8-sig"))
    return "\n".join(out)


OTHER_STREETS = [name for code, name, _ in STREETS if code not in ("WL", "UNKNOWN")]

# --- fixture of the published mart -----------------------------------------------------------

COUNTS = ["units_listed", "units_planned", "units_planned_named", "units_not_started", "units_in_progress",
          "units_named", "units_named_in_year", "units_failed_assessment", "units_failed_reassessment"]

# (street, year) -> listed, planned, planned and named, not started, in progress, named, named in
# the year, failed assessment, failed 复评; every other street and year: zeros (the mart's zero rows).
# 2020: planned 2+1+1 = 4, of them named 1+1 = 2; in progress 1+0+1 = 2; named 2+1 = 3; failed 复评 1.
# 2019: UNKNOWN has a unit (its row is shown); in progress 2+1+1 = 4.
BY_STREET = {
    ("WL", 2020): (3, 2, 1, 0, 1, 2, 1, 0, 1),
    ("TS", 2020): (2, 1, 1, 1, 0, 1, 1, 1, 0),
    ("CH", 2020): (1, 1, 0, 0, 1, 0, 0, 0, 0),
    ("WL", 2019): (3, 1, 1, 0, 2, 1, 1, 0, 0),
    ("TS", 2019): (2, 0, 0, 1, 1, 0, 0, 0, 0),
    ("UNKNOWN", 2019): (1, 0, 0, 0, 1, 0, 0, 0, 0),
}
YEARS = [2019, 2020]


def unit(uid, name, tier, ctype, street, target, quarter, stage, named, self_share, assessed, passed,
         weak_count, weak, latest=True) -> dict:
    return {
        "unit_quarter_id": f"{quarter}:{uid}", "unit_id": uid, "unit_name": name, "unit_tier": tier,
        "creation_type": ctype, "street_code": street, "street_name": dict((c, n) for c, n, _ in STREETS)[street],
        "target_year": target, "snapshot_quarter": quarter, "snapshot_year": int(quarter[:4]),
        "is_latest_snapshot": latest, "stage": stage, "is_named": named, "self_share": self_share,
        "assessed_share": assessed, "passed": passed, "weak_criteria_count": weak_count, "weak_criteria": weak,
        "is_failed_assessment": False, "is_failed_reassessment": False,
    }


# The latest snapshot (2020Q4): 5 units, 2 named (WL-1, TS-1), 1 failed (CH-1), 2 with weak
# criteria (WL-2: 2, CH-1: 1). TS-1 (天水街道武林门社区) is 天水's: its name is not its street.
# WL-2's 2020Q3 row is not the latest.
UNITS = [
    unit("WL-1", "武林街道", "街道", "安全发展示范街道", "WL", 2020, "2020Q4", "复评", True, 0.9, 0.85, True, 0, None),
    unit("WL-2", "竹竿巷社区", "社区", "安全社区", "WL", 2020, "2020Q4", "创建中", False, 0.7, None, None, 2,
         "B3-2 隐患排查治理（45%）、C1-1 宣传培训（55%）"),
    unit("TS-1", "天水街道武林门社区", "社区", "综合减灾示范社区", "TS", 2020, "2020Q4", "市级命名", True, 0.88, 0.82,
         True, 0, None),
    unit("TS-2", "天水某社区", "社区", "安全社区", "TS", 2021, "2020Q4", "未启动", False, None, None, None, 0, None),
    unit("CH-1", "朝晖某社区", "社区", "安全社区", "CH", 2020, "2020Q4", "区级评估", False, 0.8, 0.78, False, 1,
         "B3-1 隐患治理（50%）"),
    unit("WL-2", "竹竿巷社区", "社区", "安全社区", "WL", 2020, "2020Q3", "申报", False, 0.6, None, None, 3,
         "旧一期的指标", latest=False),
]


def create_demonstration_marts(con: duckdb.DuckDBPyConnection) -> None:
    rows = []
    for code, name, _ in STREETS:
        for year in YEARS:
            counts = BY_STREET.get((code, year), (0,) * len(COUNTS))
            rows.append({"street_year_id": f"{code}:{year}", "street_code": code, "street_name": name,
                         "year": year, **dict(zip(COUNTS, counts))})
    create_contract_mart(con, "marts.agg_demonstration_by_street", rows)
    create_contract_mart(con, "marts.fct_demonstration_units", UNITS)


def build_warehouse(db_path: Path, *, demonstration: bool = True) -> None:
    with open_warehouse(db_path) as con:
        create_streets(con)
        create_overview_minimal(con)
        if demonstration:
            create_demonstration_marts(con)


warehouse_home = warehouse_fixture(build_warehouse)


def run_page(query_params: dict[str, str] | None = None) -> AppTest:
    return _run_page(PAGE, query_params)


# --- AppTest ----------------------------------------------------------------------------------


def test_default_view_progress_of_the_latest_year_and_weakest_criteria(home):
    at = run_page()
    m = metrics(at)
    # 2020 (the latest year), every street: the sums of the street rows.
    assert m["计划2020年命名"] == "4 个"
    assert m["其中已命名"] == "2 个"
    assert m["创建中"] == "2 个"
    assert m["已命名（年末）"] == "3 个"
    assert m["复评未通过"] == "1 个"
    assert "计划完成率 50.0%" in texts(at)
    progress = table_with(at, "计划当年命名（个）").set_index("街道")
    # The eight streets (zero rows kept) and the district (their sum); no empty 未知街道 row.
    assert list(progress.index) == [n for c, n, _ in STREETS if c != "UNKNOWN"] + ["全区"]
    assert progress.loc["全区", "计划当年命名（个）"] == 4
    assert progress.loc["全区", "创建单位（个）"] == 6
    assert progress.loc["武林街道", "其中已命名（个）"] == 1
    assert progress.loc["武林街道", "计划完成率（%）"] == 50.0
    assert progress.loc["天水街道", "区级评估未通过（个）"] == 1
    assert progress.loc["全区", "复评未通过（个）"] == 1
    # One chart, planned against planned-and-named by street: the street rows as published, in the
    # district's order, the two series side by side.
    assert chart_titles(at) == ["各街道计划命名与已命名（个）"]
    spec, drawn = chart_data(at, "各街道计划命名与已命名（个）")
    assert spec["title"]["subtitle"] == "按2020年最后一期创建清单，全区"
    assert spec["encoding"]["y"]["sort"] == [n for c, n, _ in STREETS if c != "UNKNOWN"]
    assert "yOffset" in spec["encoding"]
    bars = drawn.pivot(index="street_name", columns="series", values="units")
    assert bars.loc["武林街道"].to_dict() == {"计划当年命名": 2, "其中已命名": 1}
    assert bars.loc["天水街道"].to_dict() == {"计划当年命名": 1, "其中已命名": 1}
    assert bars.loc["朝晖街道"].to_dict() == {"计划当年命名": 1, "其中已命名": 0}
    assert bars["计划当年命名"].sum() == 4 and bars["其中已命名"].sum() == 2  # the cards' figures

    units = table_with(at, "薄弱指标（得分率低于60%，由低到高）")
    # The latest snapshot only, most weak criteria first, then the district's street order.
    assert list(units["单位编号"]) == ["WL-2", "CH-1", "WL-1", "TS-1", "TS-2"]
    by_id = units.set_index("单位编号")
    assert by_id.loc["WL-2", "薄弱指标（得分率低于60%，由低到高）"] == "B3-2 隐患排查治理（45%）、C1-1 宣传培训（55%）"
    assert by_id.loc["WL-2", "评估结论"] == "未评估" and by_id.loc["WL-2", "阶段"] == "创建中"
    assert by_id.loc["CH-1", "评估结论"] == "未通过" and by_id.loc["CH-1", "评估得分率（%）"] == 78.0
    assert by_id.loc["WL-1", "评估结论"] == "通过" and by_id.loc["WL-1", "自评得分率（%）"] == 90.0
    assert by_id.loc["TS-1", "街道"] == "天水街道"  # its street, not the street in its name
    assert m["创建单位"] == "5 个" and m["已命名"] == "2 个" and m["评估未通过"] == "1 个"
    assert m["有薄弱指标的单位"] == "2 个"
    assert any(s.value == "各单位薄弱指标（最新一期 2020Q4，全区）" for s in at.subheader)
    assert at.query_params == {}


def test_year_and_street_filter_from_query_params(home):
    at = run_page({"streets": "WL", "year": "2019"})
    m = metrics(at)
    assert m["计划2019年命名"] == "1 个"
    assert m["其中已命名"] == "1 个"
    assert m["创建中"] == "2 个"
    assert m["复评未通过"] == "0 个"
    progress = table_with(at, "计划当年命名（个）")
    assert list(progress["街道"]) == ["武林街道"]  # one street: no total row
    spec, drawn = chart_data(at, "各街道计划命名与已命名（个）")
    assert sorted(zip(drawn["street_name"], drawn["series"], drawn["units"])) == [
        ("武林街道", "其中已命名", 1), ("武林街道", "计划当年命名", 1)]
    assert spec["title"]["subtitle"] == "按2019年最后一期创建清单，武林街道"
    units = table_with(at, "单位编号")
    assert list(units["单位编号"]) == ["WL-2", "WL-1"]  # the units are always the latest snapshot
    assert at.query_params == {"streets": "WL", "year": "2019"}


def test_unknown_street_shown_when_it_holds_units_and_widgets_change_the_view(home):
    at = run_page({"year": "2019"})
    progress = table_with(at, "计划当年命名（个）").set_index("街道")
    assert progress.loc["未知街道", "创建中（个）"] == 1
    _spec, drawn = chart_data(at, "各街道计划命名与已命名（个）")
    assert "未知街道" in set(drawn["street_name"])  # its row drawn too (no unit planned: zero bars)
    assert progress.loc["全区", "创建中（个）"] == 4  # 2 + 1 + 1
    at.radio(key="demonstration_year").set_value(2020).run()
    at.multiselect(key="demonstration_streets").select("TS").select("CH").run()
    assert not at.exception
    m = metrics(at)
    assert m["计划2020年命名"] == "2 个" and m["其中已命名"] == "1 个"
    progress = table_with(at, "计划当年命名（个）")
    assert list(progress["街道"]) == ["天水街道", "朝晖街道", "合计"]  # chosen streets: their total
    assert list(table_with(at, "单位编号")["单位编号"]) == ["CH-1", "TS-1", "TS-2"]
    assert at.query_params == {"streets": "TS,CH"}


def test_download_buttons_exist(home):
    at = run_page()
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("下载 CSV") == 2 and labels.count("下载 Excel") == 2


def test_missing_demonstration_marts_show_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # pages without sign-in
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb", demonstration=False)
    at = run_page()
    assert any("缺少所需的数据表" in w.value for w in at.warning)
    assert not at.metric


def test_a_street_office_sees_only_its_own_units(tmp_path, monkeypatch):
    build_warehouse(tmp_path / "warehouse" / "citysafety.duckdb")
    with street_office_app(tmp_path, monkeypatch) as (at, captured):
        captured.clear()
        at.switch_page(f"views/{PAGE}.py").run()
        assert not at.exception, [e.message for e in at.exception]
        m = metrics(at)
        assert m["计划2020年命名"] == "2 个" and m["已命名（年末）"] == "2 个" and m["复评未通过"] == "1 个"
        assert list(table_with(at, "计划当年命名（个）")["街道"]) == ["武林街道"]
        _spec, drawn = chart_data(at, "各街道计划命名与已命名（个）")
        assert set(drawn["street_name"]) == {"武林街道"}
        assert list(table_with(at, "单位编号")["单位编号"]) == ["WL-2", "WL-1"]
        assert any(s.value == "2020年创建进度（武林街道）" for s in at.subheader)
        text = page_text(at) + "\n" + download_texts(captured)
        assert "WL-2" in download_texts(captured)
        # 天水街道武林门社区 (天水's) and every other street stay out, page and downloads alike.
        # CH-1 as a whole word: the page's sign-in cookie script holds a random token.
        assert "武林门" not in text and not re.search(r"(?a)(?<![\w-])CH-1(?![\w-])", text)
        assert not [n for n in OTHER_STREETS + ["未知街道"] if n in text]


def test_the_page_reads_in_chinese_only(home):
    """No table or column name on the page (issue 13); every column of the five marts labelled."""
    from citysafety.share import contracts, labels

    at = run_page()
    shown = [str(c) for df in tables(at) for c in df.columns] + [str(v) for v in metrics(at)] + [texts(at)]
    assert not [t for t in shown if re.search(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b|marts\.", t)]
    for relation in NEW_MARTS:
        columns = [c.name for c in contracts.relation_contracts()[relation]]
        assert all(labels.explicit(relation, c) for c in columns), relation
        header = [labels.label(relation, c) for c in columns]
        assert len(set(header)) == len(header), relation
        assert labels.table_title(f"marts.{relation}") == NEW_MARTS[relation]

