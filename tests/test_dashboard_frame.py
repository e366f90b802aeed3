"""The page frame (dashboards.frame), the chart module (dashboards.charts) and the pages' labels
(citysafety.share.labels), on their own: tables without "None", charts readable with one street,
a daily axis without repeated dates, quality results named in Chinese, no "Deploy" button.

How the frame reads for a street office or a department signed in on 总览 (scope line, titles,
cards outside the grant) is tested in tests/test_boundary.py, on the policy's own principals.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from citysafety.share import contracts, labels
from dashboards import charts

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_sign_in(monkeypatch):
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # the frame without sign-in: every street


# --- tables -----------------------------------------------------------------------------------


def _table_app():
    import datetime as dt

    import pandas as pd
    import streamlit as st

    from dashboards import frame

    df = pd.DataFrame({
        "name": ["甲单位", None],
        "rectified_on": [dt.date(2024, 1, 2), None],
        "cleared_at": pd.to_datetime(["2024-01-02 08:30", None]),
        "days": [3.0, None],
        "internal": ["x", "y"],
    })
    frame.table(df, {"name": "单位名称", "rectified_on": "整改日期", "cleared_at": "解除时间", "days": "逾期天数"},
                column_config={"整改日期": st.column_config.DateColumn(format="YYYY-MM-DD")})


def _shown(element) -> pd.DataFrame:
    """What the browser prints: the Styler's display values when there are any, else the data."""
    styler = element.proto.arrow_data.styler
    if styler.display_values:
        return dataframe_util.convert_arrow_bytes_to_pandas_df(styler.display_values)
    return element.value


def test_a_missing_cell_reads_a_dash_never_none():
    at = AppTest.from_function(_table_app, default_timeout=30).run()
    assert not at.exception, [e.message for e in at.exception]
    table = at.dataframe[0]
    # Chinese headers in the given order; a column not named is not shown.
    assert list(table.value.columns) == ["单位名称", "整改日期", "解除时间", "逾期天数"]
    shown = _shown(table)
    assert shown.iloc[1].tolist()[:3] == ["—", "—", "—"]
    assert shown.iloc[0].tolist()[:3] == ["甲单位", "2024-01-02", "2024-01-02 08:30"]
    assert "None" not in shown[["单位名称", "整改日期", "解除时间"]].to_csv() and "NaT" not in shown.to_csv()
    # Numbers stay numbers underneath (they sort as numbers), only printed as "—": the grid's
    # placeholder for a missing value. (A Styler's na_rep does not reach the canvas, which drew
    # "None" for a missing number; seen in Chromium, issue 13.)
    assert table.proto.placeholder == "—"
    assert table.value["逾期天数"].iloc[0] == 3.0 and pd.isna(table.value["逾期天数"].iloc[1])


def _wide_table_app():
    import pandas as pd

    from dashboards import frame

    columns = {f"c{i}": f"第{i}项很长的统计指标（单位）" for i in range(12)}
    df = pd.DataFrame({"name": ["甲街道", "乙街道"], **{c: [i, None] for i, c in enumerate(columns)}})
    frame.table(df, {"name": "街道", **columns}, row_style=lambda row: "color: red" if row["街道"] == "乙街道" else "")


def test_a_table_wider_than_the_page_is_split_into_parts_that_fit_each_with_its_key():
    """Every column in view at 1366 px: each column as wide as its longest text, and a table wider
    than the main column shown in parts that repeat the row's key column (no column hidden behind
    a horizontal scroll bar, none lost); a row's highlight is in every part."""
    at = AppTest.from_function(_wide_table_app, default_timeout=30).run()
    assert not at.exception, [e.message for e in at.exception]
    from dashboards import frame

    parts = list(at.dataframe)
    assert len(parts) > 1
    seen = []
    for part in parts:
        columns = list(part.value.columns)
        assert columns[0] == "街道"
        seen += columns[1:]
        config = json.loads(part.proto.columns)
        widths = [config[c]["width"] for c in columns]
        assert sum(widths) <= frame.FIT_PX
        # Wide enough for the header at the grid's 14 px font (a Han character is 14 px wide).
        assert all(w >= 14 * len(c) for w, c in zip(widths, columns))
        styles = part.proto.arrow_data.styler.styles
        assert "color: red" in styles
        assert part.proto.placeholder == "—"
    assert seen == [f"第{i}项很长的统计指标（单位）" for i in range(12)]


def test_column_parts_keep_what_fits_together():
    from dashboards import frame

    widths = {"id": 100, "name": 200, "a": 300, "b": 300, "long": 700}
    assert frame.column_parts(widths, 2, 2000) == [list(widths)]
    assert frame.column_parts(widths, 2, 900) == [["id", "name", "a", "b"], ["id", "long"]]
    # Han characters and full-width brackets 14 px, other signs at most 8.5 px (rounded up).
    assert frame.text_px("风险值（L×S）") == 96


def _downloads_app():
    import pandas as pd

    from dashboards import frame

    frame.download_buttons(pd.DataFrame({"a": [1]}), "测试", {"a": "甲"})


def test_download_buttons_keep_their_width():
    """Side by side in a horizontal container sized to the buttons: in narrow columns the old
    1:1:4 columns squeezed them to "下."."""
    at = AppTest.from_function(_downloads_app, default_timeout=30).run()
    assert not at.exception
    row = at.main.children[0]
    assert row.proto.flex_container.direction == row.proto.flex_container.HORIZONTAL
    assert [b.proto.label for b in row.children.values()] == ["下载 CSV", "下载 Excel"]


# --- charts -----------------------------------------------------------------------------------


def _one_street_levels() -> pd.DataFrame:
    return pd.DataFrame({"street_code": ["WL"], "street_name": ["武林街道"], "红": [1], "橙": [2], "黄": [0],
                         "蓝": [3], "未定级": [0], "total": [6], "flagged": [0], "highest": ["红"]})


def test_bar_charts_keep_room_for_their_bars_with_one_street():
    """With one street the height is that of three bands, not a hairline under title and legend."""
    assert charts.band_height(1) == charts.band_height(charts.MIN_BANDS) > charts.band_height(0, overhead=0)
    one = charts.risk_by_street(_one_street_levels(), "武林街道").to_dict()
    assert one["height"] >= 240 + charts.MIN_BANDS * charts.BAND_PX
    table = pd.DataFrame({"street_name": ["武林街道"], "open": [5], "open_overdue": [2],
                          "major": [1], "major_not_supervised": [1], "major_supervised": [0]})
    for chart in (charts.hazards_open_by_street(table, "2024年"), charts.hazards_major_by_street(table, "2024年")):
        assert chart.to_dict()["height"] >= charts.band_height(charts.MIN_BANDS)


def test_daily_alarm_axis_has_one_tick_a_day_at_most():
    daily = pd.DataFrame({"day": pd.date_range("2024-05-01", "2024-05-03").date,
                          "episodes": [2, 0, 1], "high_high_episodes": [1, 0, 0]})
    spec = charts.monitoring_alarms_daily(daily, "近3天").to_dict()
    x = spec["encoding"]["x"]
    assert x["timeUnit"] == "yearmonthdate"
    assert x["axis"]["tickMinStep"] == 24 * 60 * 60 * 1000 and x["axis"]["format"] == "%m-%d"


def test_reference_labels_sit_above_their_line():
    """The 100% reference label is drawn above the line, in room the axis keeps above 100%."""
    trend = pd.DataFrame({"period": ["2023", "2024"], "period_label": ["2023年", "2024年"],
                          "rate_pct": [99.0, 100.0], "supervised_pct": [100.0, 100.0]})
    spec = charts.hazards_rates(trend, "year", "全区").to_dict()
    lines, _rule, text = spec["layer"]
    assert lines["encoding"]["y"]["scale"]["domain"][1] > 100
    assert text["mark"]["baseline"] == "bottom" and text["mark"]["dy"] < 0


def test_no_page_builds_its_own_chart():
    """Chart construction lives in dashboards/charts.py: no page imports altair."""
    for path in sorted((ROOT / "dashboards" / "views").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert "altair" not in imported, path.name


# --- labels -----------------------------------------------------------------------------------

ASCII_WORD = re.compile(r"[A-Za-z_]{3,}")


def test_every_published_table_and_quality_check_has_a_chinese_name():
    for relation in [*contracts.read_lock(), "audit.reconciliation", "audit.quarantine",
                     "audit.quality_results", "audit.source_freshness"]:
        title = labels.table_title(relation)
        assert title != "其他数据表" and not ASCII_WORD.search(title), (relation, title)
    assert labels.table_title("raw.fire__fires") == "区消防救援大队·火灾（原始数据）"
    # Every expectation the suites use (gxe.ExpectColumnValuesToBeUnique -> expect_column_...).
    used = set()
    for path in (ROOT / "expectations").rglob("*.py"):
        for name in re.findall(r"gxe\.(Expect\w+)", path.read_text(encoding="utf-8")):
            used.add(re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower())
    assert used, "no expectations found"
    missing = sorted(e for e in used | {"dbt_source_freshness"} if e not in labels.CHECK_TITLES)
    assert not missing, missing


def test_pages_hold_no_caption_dictionaries():
    """The pages' Chinese column captions live in citysafety/share/labels.py: a page may build a
    caption from a value (f"{level}色（处）") but writes no dictionary of Chinese captions."""
    cjk = re.compile(r"[\u3400-\u9fff]")
    for path in sorted((ROOT / "dashboards" / "views").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                captions = [v.value for v in node.values
                            if isinstance(v, ast.Constant) and isinstance(v.value, str) and cjk.search(v.value)]
                assert len(captions) < 2, (path.name, node.lineno, ast.unparse(node)[:80])


# --- the app's toolbar ------------------------------------------------------------------------


def test_the_deploy_button_is_hidden():
    """Streamlit reads .streamlit/config.toml from the project root: the toolbar is the viewer's
    (no "Deploy" button, no developer menu); the product's launcher passes the same mode."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["toolbarMode"] == "viewer"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    read = subprocess.run(
        [sys.executable, "-c", "from streamlit import config; config.get_config_options(force_reparse=True);"
                               "print(config.get_option('client.toolbarMode'))"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    assert read.stdout.strip().endswith("viewer"), read.stdout
    from citysafety.orchestrate import cli

    command = cli.dashboard_command(18599)
    assert command[command.index("--client.toolbarMode") + 1] == "viewer"


def test_quarantine_reasons_read_in_chinese():
    """The raw layer's reasons as issue 13 found them on the page, masked as the page's query
    masks them, each part in Chinese with its column's label; an unknown wording is not shown raw."""
    cases = {
        "not a valid date-time: …": "不是有效的日期时间：…",
        "expected 11 fields, got 12": "应有 11 个字段，实有 12 个",
        "duplicate delivery: identical content already loaded from …": "重复交付：相同内容已从 … 加载",
        "deaths: not a whole number: …; occurred_at: required value is empty":
            "死亡人数：不是整数：…；发生时间：必填值为空",
        "file rejected: empty workbook": "文件被拒收：空工作簿",
        "（未注明）": "（未注明）",
        "a wording the platform does not know yet": "其他原因（见原因代码）",
    }
    for reason, text in cases.items():
        assert labels.reason_text(reason) == text, reason
