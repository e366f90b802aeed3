"""Tests of the 风险 dashboard page (and of dashboards.maps) against a hand-written fixture mart.

The fixture warehouse ($CITYSAFETY_HOME/warehouse/citysafety.duckdb) holds the mart tables the
page reads (marts.dim_streets, marts.fct_risk_points, marts.agg_risk_points_by_street, with the
contracts' columns) and eleven risk points whose expected figures are computed by hand below.
"""

from __future__ import annotations

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
from dashboards import frame, maps
from dashboards.views import risk

PAGE = "risk"

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

# id, street, category, L, S, 风险值 delivered, L×S, 等级 delivered, 等级 L×S, effective,
# value_consistent, level_consistent, flag_reason
POINTS = [
    ("R01", "WL", "工业企业", 5, 5, 25, 25, "红", "红", "红", True, True, None),
    ("R02", "WL", "人员密集场所", 3, 5, 15, 15, "黄", "橙", "橙", True, False, "风险等级 黄, L×S 15 gives 橙"),
    ("R03", "WL", "城市建设", 2, 2, 4, 4, "蓝", "蓝", "蓝", True, True, None),
    ("R04", "TS", "工业企业", 4, 4, 16, 16, "橙", "橙", "橙", True, True, None),
    ("R05", "TS", "交通运输", 3, 3, 6, 9, "黄", "黄", "黄", False, True, "风险值 6 != L×S 9"),
    ("R06", "CH", "城市生命线", 2, 3, 6, 6, "蓝", "蓝", "蓝", True, True, None),
    ("R07", "CH", "工业企业", 4, 5, 20, 20, "红", "红", "红", True, True, None),
    ("R08", "CM", "人员密集场所", 3, 4, 12, 12, "黄", "黄", "黄", True, True, None),
    # L = 6 is outside 1-5: L×S = 18 gives no level, the delivered 橙色 counts.
    ("R09", "SQ", "工业企业", 6, 3, 15, 18, "橙色", None, "橙", False, False,
     "可能性L 6 outside 1-5; 风险值 15 != L×S 18; 风险等级 橙色 cannot be checked"),
    ("R10", "UNKNOWN", "其他", 1, 2, 2, 2, "蓝", "蓝", "蓝", True, True, None),
    # Nothing to rate it by: 未定级.
    ("R11", "DX", "自然灾害", None, 3, None, None, None, None, None, False, False,
     "可能性L missing; 风险值 missing; 风险等级 missing"),
]
SNAPSHOT = "2024Q2"
LEVEL_ORDER = {"红": 1, "橙": 2, "黄": 3, "蓝": 4, "未定级": 5}
# flag_reason_zh as dbt writes it beside flag_reason (int_risk_points_assessed; its unit test
# checks the Chinese of every check on hand rows).
REASONS_ZH = {
    "风险等级 黄, L×S 15 gives 橙": "上报风险等级“黄”，按L×S=15应为“橙”",
    "风险值 6 != L×S 9": "上报风险值6 ≠ L×S=9",
    "可能性L 6 outside 1-5; 风险值 15 != L×S 18; 风险等级 橙色 cannot be checked":
        "可能性L为6，超出1–5；上报风险值15 ≠ L×S=18；上报风险等级“橙色”无法核对（L或S无效）",
    "可能性L missing; 风险值 missing; 风险等级 missing": "可能性L缺失；风险值缺失；风险等级缺失",
}


def agg_rows() -> list[tuple]:
    """marts.agg_risk_points_by_street computed from POINTS (as the dbt model does)."""
    counts: dict[tuple[str, str], list[int]] = {}
    for p in POINTS:
        level = p[9] or "未定级"
        entry = counts.setdefault((p[1], level), [0, 0])
        entry[0] += 1
        entry[1] += int(p[12] is not None)
    highest = {}  # street_highest_level: the street's reddest level with any point
    for s, lv in counts:
        if s not in highest or LEVEL_ORDER[lv] < LEVEL_ORDER[highest[s]]:
            highest[s] = lv
    return [(s, lv, LEVEL_ORDER[lv], n, f, SNAPSHOT, highest[s]) for (s, lv), (n, f) in sorted(counts.items())]


def build_warehouse(db_path: Path, *, tables: tuple[str, ...] = ("streets", "points", "agg")) -> None:
    with open_warehouse(db_path) as con:
        if "streets" in tables:
            create_dim_streets(con, [s[0] for s in STREETS])  # dbt's model over the seed's rows
        if "points" in tables:
            rows = []
            for i, (pid, street, cat, lk, sv, val, comp, lvl, lvl_c, eff, v_ok, l_ok, reason) in enumerate(
                POINTS, start=2
            ):
                rows.append(
                    (pid, f"{STREET_NAMES[street]}{cat}风险点{pid}", street, STREET_NAMES[street], cat,
                     lk, sv, val, comp, lvl, lvl_c, eff, v_ok, l_ok, reason is not None, reason,
                     f"{STREET_NAMES[street]}办事处", "2024-05-20", SNAPSHOT, 1,
                     "risk_points_2024Q2.xlsx", i,
                     # risk_category_label, risk_level_label, risk_level_order, flag_reason_zh (dbt's)
                     cat or "未分类", eff or "未定级", LEVEL_ORDER[eff or "未定级"],
                     None if reason is None else REASONS_ZH[reason])
                )
            create_mart(con, "marts.fct_risk_points", rows)
            derive_mart(con, "rpt_risk_by_category")  # dbt's counts over the hand rows above
        if "agg" in tables:
            create_mart(con, "marts.agg_risk_points_by_street", agg_rows())


warehouse_home = warehouse_fixture(build_warehouse)


def run_page(query_params: dict[str, str] | None = None) -> AppTest:
    return _run_page(PAGE, query_params)


def map_colors(at: AppTest) -> dict[str, str]:
    """street_code → colour category of the map (the geoshape layer's inline features)."""
    for spec in chart_specs(at):
        for layer in spec.get("layer", []):
            values = (layer.get("data") or {}).get("values") or []
            if values and isinstance(values[0], dict) and "geometry" in values[0]:
                return {v["properties"]["street_code"]: v["properties"]["color"] for v in values}
    raise AssertionError("no map on the page")


def all_text(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.title, *at.subheader)]
    return "\n".join(str(p) for p in parts)


# --- the map geometry ---------------------------------------------------------------------------


def test_geojson_has_the_eight_streets_as_schematic_polygons():
    collection = json.loads(maps.GEOJSON_PATH.read_text(encoding="utf-8"))
    features = collection["features"]
    assert {f["properties"]["street_code"] for f in features} == {"WL", "TS", "CH", "CM", "CQ", "SQ", "DX", "WH"}
    assert {f["properties"]["street_name"] for f in features} == {
        "武林街道", "天水街道", "朝晖街道", "潮鸣街道", "长庆街道", "石桥街道", "东新街道", "文晖街道"
    }
    centroids = {}
    for f in features:
        assert f["geometry"]["type"] == "Polygon"
        assert "schematic approximation" in f["properties"]["source"]
        assert "not survey data" in f["properties"]["source"]
        ring = f["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) >= 5
        for lon, lat in ring:
            assert 120.14 <= lon <= 120.22 and 30.25 <= lat <= 30.34
        centroids[f["properties"]["street_code"]] = maps._centroid(ring)
    # Relative positions: 长庆/武林/天水/潮鸣 south, 朝晖/文晖 middle, 石桥/东新 north-east.
    south = [centroids[c][1] for c in ("CQ", "WL", "TS", "CM")]
    middle = [centroids[c][1] for c in ("CH", "WH")]
    north = [centroids[c][1] for c in ("SQ", "DX")]
    assert max(south) < min(middle) and max(middle) < min(north)
    assert centroids["CQ"][0] < centroids["WL"][0] < centroids["TS"][0] < centroids["CM"][0]
    assert centroids["SQ"][0] > centroids["DX"][0] > centroids["CH"][0]


def test_map_features_are_clockwise_for_vega_and_carry_values():
    values = pd.DataFrame({"street_code": ["WL", "TS"], "color": ["红", "橙"], "n": [3, None]})
    features = maps.map_features(values, defaults={"color": "无", "n": 0})
    assert len(features) == 8
    for f in features:
        ring = f["geometry"]["coordinates"][0]
        assert maps._signed_area(ring) < 0  # clockwise (d3-geo)
        lon, lat = f["properties"]["label_lon"], f["properties"]["label_lat"]
        assert 120.14 <= lon <= 120.22 and 30.25 <= lat <= 30.34
    props = {f["properties"]["street_code"]: f["properties"] for f in features}
    assert props["WL"]["color"] == "红" and props["WL"]["n"] == 3
    assert props["TS"]["n"] is None  # a missing value stays missing
    assert props["CH"]["color"] == "无" and props["CH"]["n"] == 0
    chart = maps.street_map(
        values, color_field="color", color_domain=["红", "橙", "无"], color_range=["red", "orange", "grey"],
        legend_title="t", title="标题",
    )
    spec = chart.to_dict()
    assert spec["layer"][0]["mark"]["type"] == "geoshape"
    assert spec["projection"]["type"] == "mercator"
    assert "url" not in json.dumps(spec)  # inline data only, nothing fetched
    assert {p["street_code"]: p["color"] for p in maps.map_values(chart)}["TS"] == "橙"


def test_agg_fixture_has_the_reddest_level_per_street():
    highest = {row[0]: row[6] for row in agg_rows()}
    assert highest == {"WL": "红", "TS": "橙", "CH": "红", "CM": "黄", "SQ": "橙", "UNKNOWN": "蓝", "DX": "未定级"}


# --- AppTest ----------------------------------------------------------------------------------


def test_default_view_counts_map_and_points(home):
    at = run_page()
    m = metrics(at)
    # 11 points: 红 R01 R07, 橙 R02 R04 R09, 黄 R05 R08, 蓝 R03 R06 R10, 未定级 R11.
    assert m["风险点总数"] == "11 处"
    assert m["红色 重大风险"] == "2 处"
    assert m["橙色 较大风险"] == "3 处"
    assert m["黄色 一般风险"] == "2 处"
    assert m["蓝色 低风险"] == "3 处"
    assert m["存疑记录"] == "4 处"  # R02, R05, R09, R11
    text = all_text(at)
    assert "另有 1 处风险点无法定级" in text
    assert "另有 1 处风险点所属街道不详，未在地图上显示" in text
    assert "清单期次：2024Q2" in text
    assert map_colors(at) == {
        "WL": "红", "TS": "橙", "CH": "红", "CM": "黄", "CQ": "无风险点", "SQ": "橙", "DX": "未定级",
        "WH": "无风险点",
    }
    by_street = table_with(at, "最高风险等级").set_index("街道")
    assert by_street.loc["武林街道", "合计（处）"] == 3
    assert by_street.loc["武林街道", "红色 重大风险（处）"] == 1
    assert by_street.loc["武林街道", "其中存疑（处）"] == 1
    assert by_street.loc["东新街道", "未定级（处）"] == 1
    assert by_street.loc["未知街道", "蓝色 低风险（处）"] == 1
    assert by_street.loc["长庆街道", "合计（处）"] == 0
    assert by_street.loc["石桥街道", "最高风险等级"] == "较大风险"
    by_category = table_with(at, "风险类别").set_index("风险类别")
    assert list(by_category.index) == ["工业企业", "人员密集场所", "城市建设", "交通运输", "城市生命线", "自然灾害", "其他"]
    assert by_category.loc["工业企业", "合计（处）"] == 4
    assert by_category.loc["工业企业", "红色（处）"] == 2
    assert by_category.loc["工业企业", "橙色（处）"] == 2
    assert by_category.loc["工业企业", "其中存疑（处）"] == 1
    points = table_with(at, "风险点编号")
    # Reddest first, then the district's street order.
    assert list(points["风险点编号"]) == ["R01", "R07", "R02", "R04", "R09", "R05", "R08", "R03", "R06", "R10", "R11"]
    flagged = points.set_index("风险点编号")
    assert flagged.loc["R02", "核查结果"] == "⚠ 存疑"
    assert flagged.loc["R02", "存疑原因"] == "上报风险等级“黄”，按L×S=15应为“橙”"
    assert flagged.loc["R01", "核查结果"] == "一致" and flagged.loc["R01", "存疑原因"] == ""
    assert flagged.loc["R11", "风险等级（核定）"] == "未定级"
    assert flagged.loc["R09", "风险等级（核定）"] == "橙"
    assert at.query_params == {}
    # Map, streets and categories charts (vega-lite specs, drawn offline).
    assert len(chart_specs(at)) == 3


def test_street_filter_from_query_params(home):
    at = run_page({"streets": "WL,TS"})
    m = metrics(at)
    # 武林 R01 R02 R03 + 天水 R04 R05.
    assert m["风险点总数"] == "5 处"
    assert m["红色 重大风险"] == "1 处"
    assert m["橙色 较大风险"] == "2 处"
    assert m["黄色 一般风险"] == "1 处"
    assert m["蓝色 低风险"] == "1 处"
    assert m["存疑记录"] == "2 处"
    colors = map_colors(at)
    assert colors["WL"] == "红" and colors["TS"] == "橙"
    assert {colors[c] for c in ("CH", "CM", "CQ", "SQ", "DX", "WH")} == {"未选择"}
    assert list(table_with(at, "最高风险等级")["街道"]) == ["武林街道", "天水街道"]
    assert list(table_with(at, "风险点编号")["风险点编号"]) == ["R01", "R02", "R04", "R05", "R03"]
    assert at.multiselect(key="risk_streets").value == ["WL", "TS"]
    assert at.query_params == {"streets": "WL,TS"}


def test_level_category_and_check_filters_drill_down(home):
    at = run_page({"level": "橙"})
    assert list(table_with(at, "风险点编号")["风险点编号"]) == ["R02", "R04", "R09"]
    # The counts above the table do not follow the drill-down filters.
    assert metrics(at)["风险点总数"] == "11 处"

    at = run_page({"category": "工业企业", "check": "flagged"})
    points = table_with(at, "风险点编号")
    assert list(points["风险点编号"]) == ["R09"]
    assert points.iloc[0]["存疑原因"] == (
        "可能性L为6，超出1–5；上报风险值15 ≠ L×S=18；上报风险等级“橙色”无法核对（L或S无效）"
    )

    at = run_page({"check": "flagged"})
    assert list(table_with(at, "风险点编号")["风险点编号"]) == ["R02", "R09", "R05", "R11"]
    assert at.selectbox(key="risk_check").value == "flagged"

    at = run_page({"level": "未定级"})
    assert list(table_with(at, "风险点编号")["风险点编号"]) == ["R11"]


def test_filters_through_widgets_update_numbers_and_url(home):
    at = run_page()
    at.multiselect(key="risk_streets").select("CH").run()
    assert not at.exception
    m = metrics(at)
    assert m["风险点总数"] == "2 处"  # R06, R07
    assert m["红色 重大风险"] == "1 处"
    assert m["存疑记录"] == "0 处"
    assert map_colors(at)["CH"] == "红" and map_colors(at)["WL"] == "未选择"
    assert at.query_params == {"streets": "CH"}

    at.selectbox(key="risk_level").set_value("蓝").run()
    assert list(table_with(at, "风险点编号")["风险点编号"]) == ["R06"]
    assert at.query_params == {"streets": "CH", "level": "蓝"}

    at.button(key=frame.RESET_KEY).click().run()  # 恢复默认筛选
    assert metrics(at)["风险点总数"] == "11 处"
    assert at.query_params == {}


def test_bad_query_params_fall_back(home):
    at = run_page({"streets": "XX,wl", "level": "紫", "category": "不存在", "check": "maybe"})
    assert at.multiselect(key="risk_streets").value == ["WL"]
    assert at.selectbox(key="risk_level").value == ""
    assert at.selectbox(key="risk_category").value == ""
    assert metrics(at)["风险点总数"] == "3 处"
    assert len(table_with(at, "风险点编号")) == 3


def test_download_buttons_with_chinese_headers(home):
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
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{base}/{PAGE}?check=flagged")
        wait_text(page, "风险地图", exact=True)
        wait_text(page, "风险点明细", exact=False, timeout=10_000)
        page.locator(".vega-embed").nth(2).wait_for(timeout=20_000)
        # The map is drawn as SVG/canvas paths: wait until vega has rendered it.
        page.locator(".vega-embed canvas, .vega-embed svg").first.wait_for(timeout=20_000)
        page.wait_for_timeout(1500)
        body = page.inner_text("body")
        assert "城市安全风险清单" in body
        assert "11 处" in body
        assert "红色 重大风险" in body
        assert "check=flagged" in page.url
        nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert "风险" in nav and "隐患" in nav and "执法与信用" in nav
        # Offline: the page and its map come from the local server (no tiles, no CDN).
        # Known exception outside this page: the browser tab icon of app.py's
        # page_icon=":material/shield:" is fetched from fonts.gstatic.com.
        external = [
            u for u in requests
            if not u.startswith((base, "data:", "blob:")) and "materialsymbols" not in u
        ]
        assert not external, external
        screenshot(page, PAGE, grow_viewport=True)
