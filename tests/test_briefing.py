"""The monthly briefing (安全生产形势月报): its numbers are the mart's.

One real build and publish (`build_and_publish`: dbt build, the quality gate, the atomic swap)
over tests/deliveries.py's spine, tests/test_access.py's other departments (hazards, drills,
inspections in May 2020) and road accidents in May 2019 and May 2020, as of 2020-06-30, so the
report month is May 2020 and last year's May has deaths to compare with. Then the exports of
the leader, a department without the briefing's grant (区应急管理局) and two street offices. The
PDFs are read back with PDFium (pypdfium2: text through the embedded font's ToUnicode map) and
every printed figure is compared with the rows of the published `marts.rpt_monthly_briefing`
and `marts.rpt_targets_projection`; pypdf reads the font dictionaries.

Hand-computed facts: deaths in May 2020 are 2 in the district (SQ 1 emb accident, WL 1 road
accident) against 3 in May 2019 (WL 2, TS 1); WL: 1 against 2.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import duckdb
import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

import deliveries
from test_access import write_more
from citysafety import sources as S
from citysafety.config import Settings
from citysafety.mart import build
from citysafety.raw import ingest
from citysafety.share import briefing, exports

pytestmark = pytest.mark.pipeline

AS_OF = "2020-06-30"
PDF_NAME = "briefing_202005.pdf"
PRINCIPALS = ["leader", "emb", "street_wl", "street_ts"]
STREET_NAMES = ["武林", "天水", "朝晖", "潮鸣", "长庆", "石桥", "东新", "文晖"]


def write_may_accidents(landing: Path) -> None:
    def jl(**kw):
        return json.dumps(kw, ensure_ascii=False)

    folder = landing / "traffic" / "road_accidents"
    (folder / "road_accidents_20190520.jsonl").write_text("\n".join([
        jl(accident_no="JJ-2019-1", occurred_at="2019-05-20T08:00:00+08:00", street="武林", road="某路",
           deaths_7d=2, injuries=1, vehicles=2, reported_at="2019-05-20T09:00:00+08:00"),
        jl(accident_no="JJ-2019-2", occurred_at="2019-05-21T08:00:00+08:00", street="天水", road="某路",
           deaths_7d=1, injuries=0, vehicles=1, reported_at="2019-05-21T09:00:00+08:00"),
    ]) + "\n", encoding="utf-8")
    (folder / "road_accidents_20200520.jsonl").write_text(jl(
        accident_no="JJ-2020-2", occurred_at="2020-05-20T08:00:00+08:00", street="武林", road="某路",
        deaths_7d=1, injuries=3, vehicles=2, reported_at="2020-05-20T09:00:00+08:00") + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    home = tmp_path_factory.mktemp("briefing") / "home"
    mp = pytest.MonkeyPatch()
    mp.setenv("CITYSAFETY_HOME", str(home))
    mp.setenv("CITYSAFETY_AS_OF_DATE", AS_OF)
    cfg = Settings(home=home)
    deliveries.write_spine(cfg.landing)
    write_more(cfg.landing)
    write_may_accidents(cfg.landing)
    for feed in S.all_feeds():
        ingest.ingest_feed(feed, cfg)
    build.build_and_publish(cfg)
    exports.export_all(cfg, PRINCIPALS)
    yield cfg
    mp.undo()


def mart(cfg: Settings, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(cfg.warehouse_db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def pdf_of(cfg: Settings, name: str) -> Path:
    return exports.exports_dir(cfg) / name / exports.CURRENT / PDF_NAME


def lines(path: Path) -> list[str]:
    """The PDF's text line by line, as PDFium (Chromium's PDF engine) reads it: the embedded
    font's ToUnicode map gives the characters, a table row is one line with its cells separated
    by a space (no printed cell holds one)."""
    pdf = pdfium.PdfDocument(path)
    try:
        return [line for page in pdf for line in page.get_textpage().get_text_range().splitlines()]
    finally:
        pdf.close()


def table_rows(path: Path) -> dict[str, list[str]]:
    """first cell -> the other cells of its line, for every line of the PDF."""
    rows: dict[str, list[str]] = {}
    for line in lines(path):
        first, *cells = line.split(" ")
        rows.setdefault(first, cells)  # the first line that starts so: tables come before charts
    return rows


def full_text(path: Path) -> str:
    return "\n".join(lines(path))


def number(cell: str) -> float | None:
    """A printed figure back as a number: 30,000 / +2 / -1 / 97.5% / +12.5个百分点; 无可比, 无数据: None."""
    if cell in ("无可比", "无数据"):
        return None
    text = cell.replace(",", "")
    if text.endswith("%") or text.endswith("个百分点"):
        return float(text.removesuffix("%").removesuffix("个百分点")) / 100
    return float(text)


def close(printed: float | None, value: float | None, *, ratio: bool = False) -> bool:
    """As printed: shares and changes to 0.1 %, counts exactly, amounts to 0.01, small rates to
    four significant digits."""
    if printed is None or value is None:
        return printed is None and value is None
    if ratio:
        tolerance = 0.0005
    elif float(value).is_integer():
        tolerance = 0
    else:
        tolerance = 0.005 if abs(value) >= 100 else abs(value) * 5e-4
    return abs(printed - value) <= tolerance


def report_rows(cfg: Settings, street: str) -> list[tuple]:
    return mart(cfg, "select indicator_name, unit, indicator, value, value_last_year, change, change_ratio "
                     "from marts.rpt_monthly_briefing where street_code = ? and is_report_month "
                     "order by section_order, indicator_order", [street])


def assert_month_table(cfg: Settings, path: Path, street: str) -> int:
    rows = table_rows(path)
    checked = 0
    for name, unit, indicator, value, last_year, change, change_ratio in report_rows(cfg, street):
        label = f"{name}（{'%' if unit == '比例' else unit}）"
        assert label in rows, f"{path.name}: no line {label}"
        cells = rows[label]
        share = unit == "比例"
        assert close(number(cells[0]), value, ratio=share), (indicator, cells, value)
        if indicator.endswith("_to_date"):
            assert cells[1:] == ["—", "—", "—"], (indicator, cells)
        else:
            assert close(number(cells[1]), last_year, ratio=share), (indicator, cells, last_year)
            assert close(number(cells[2]), change, ratio=share), (indicator, cells, change)
            assert close(number(cells[3]), change_ratio, ratio=True), (indicator, cells, change_ratio)
        checked += 1
    return checked


def test_the_mart_holds_the_hand_computed_may_figures(built):
    got = dict(((s, i), (v, ly)) for s, i, v, ly in mart(
        built, "select street_code, indicator, value, value_last_year from marts.rpt_monthly_briefing "
               "where is_report_month and indicator in ('deaths', 'casualty_events')"))
    assert got[("ALL", "deaths")] == (2, 3)
    assert got[("WL", "deaths")] == (1, 2)
    assert got[("TS", "deaths")] == (0, 1)
    assert got[("SQ", "deaths")] == (1, 0)
    assert got[("ALL", "casualty_events")] == (2, 2)
    months = mart(built, "select distinct report_month, month from marts.rpt_monthly_briefing order by month")
    assert str(months[0][0]) == "2020-05-01" and len(months) == 13
    assert str(months[0][1]) == "2019-05-01" and str(months[-1][1]) == "2020-05-01"


def test_district_briefing_prints_the_marts_numbers(built):
    path = pdf_of(built, "leader")
    assert path.is_file()
    # 21, education and demonstration 2 each, the response to alarms 4
    assert assert_month_table(built, path, "ALL") == 29
    text = full_text(path)
    assert "下城区安全生产形势月报" in text and "2020年5月" in text
    assert "统计日 2020-06-30 之前最后一个完整月份" in text
    # The headline targets, seen from the report month's year.
    rows = table_rows(path)
    for name, unit, target, value, met in mart(
            built, "select indicator_name, unit, target_2020, value_2020, target_met "
                   "from marts.rpt_targets_projection where seen_from_year = "
                   "(select max(seen_from_year) from marts.rpt_targets_projection where seen_from_year <= 2020)"):
        cells = rows[name]
        assert close(number(cells[0]), target), (name, cells)
        if value is not None:
            assert close(number(re.sub(r"（.*）", "", cells[1])), value), (name, cells)
        assert cells[-1].startswith({True: "达到目标", False: "未达到目标", None: "无法研判"}[met])
    # The per-street table of the report month.
    for code, street_name, deaths in mart(
            built, "select street_code, street_name, value from marts.rpt_monthly_briefing "
                   "where is_report_month and indicator = 'deaths' and street_code != 'ALL'"):
        assert close(number(rows[street_name][0]), deaths), (code, rows[street_name])
    # Trend charts and definitions.
    for title in ("死亡人数（人）", "新发现隐患（条）", "监测报警次数（次）", "执法检查（次）", "应急演练（次）"):
        assert title in text
    for (definition,) in mart(built, "select distinct definition from marts.rpt_monthly_briefing "
                                     "where street_code = 'ALL'"):
        assert definition in text.replace("\n", ""), definition


def test_street_office_briefing_holds_only_its_street(built):
    path = pdf_of(built, "street_wl")
    assert assert_month_table(built, path, "WL") == 16
    text = full_text(path)
    assert "下城区武林街道安全生产形势月报" in text and "仅武林街道的数据" in text
    for other in STREET_NAMES:
        if other != "武林":
            assert other not in text, other
    # No district figure: no data-quality rows, no headline-target table, no per-street table.
    rows = table_rows(path)
    for district_only in ("无法识别街道的记录（条）", "亿元GDP生产安全事故死亡率", "各类生产安全事故死亡人数",
                          # not granted to a street office (no inspections, no sensor tables)
                          "执法检查（次）", "罚款金额（元）", "监测报警次数（次）", "监测数据完整率（%）"):
        assert district_only not in rows
    assert "重大危险源监测报警和执法检查不在本街道的数据范围内" in text
    assert "本年累计死亡人数：3人（去年同期 2人" in text  # WL: JJ-2020-1 (2) + JJ-2020-2 (1); May 2019 2
    # Another street's briefing is its own.
    assert "下城区天水街道安全生产形势月报" in full_text(pdf_of(built, "street_ts"))


def test_fonts_are_embedded_subsets(built):
    for name in ("leader", "street_wl"):
        reader = PdfReader(pdf_of(built, name))
        seen = 0
        for page in reader.pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                assert re.fullmatch(r"/[A-Z]{6}\+.+", font["/BaseFont"]), font["/BaseFont"]  # a subset
                for descendant in font.get("/DescendantFonts", [font]):
                    descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                    assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), descriptor
                    seen += 1
        assert seen


def test_briefing_is_kept_with_the_export_and_only_where_granted(built):
    for name in ("leader", "street_wl"):
        manifest = exports.current_manifest(built, name)
        entry = manifest["briefing"]
        path = pdf_of(built, name)
        assert entry["path"] == PDF_NAME
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert exports.current_briefing(built, name) == path.resolve()
        assert "rpt_monthly_briefing" in {t["relation"] for t in manifest["tables"]}
    # 区应急管理局 is not granted the briefing's table (its district rows carry the data-quality
    # figures of the tables it is not granted): no briefing, in the folder or the manifest.
    assert exports.current_manifest(built, "emb")["briefing"] is None
    assert exports.current_briefing(built, "emb") is None
    assert not list((exports.exports_dir(built) / "emb" / exports.CURRENT).glob("briefing_*.pdf"))


def test_a_missing_font_stops_with_a_chinese_message(built, monkeypatch, tmp_path):
    """Fail closed: without its font the briefing is not drawn in a fallback that has no Chinese."""
    import pylopdf_fonts_zh_cn

    monkeypatch.setattr(pylopdf_fonts_zh_cn, "sans_path", lambda: tmp_path / "NotoSansSC-Regular.otf")
    con = duckdb.connect()
    try:
        con.execute(f"attach '{built.warehouse_db}' as wh (read_only)")
        with pytest.raises(briefing.BriefingFailed, match="月报所需中文字体文件缺失"):
            briefing.write(con, "wh", None, tmp_path, principal_name="区领导", publish_id="x")
    finally:
        con.close()
    assert not (tmp_path / PDF_NAME).exists()


def test_overview_offers_the_users_own_briefing(built, monkeypatch):
    """总览's download button carries the briefing of the file the session reads: the leader's
    (the published warehouse), a street office's own (its analyst file), none where not granted."""
    from dashboard_harness import run_page
    from dashboards import data

    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # the page as the leader reads it, without sign-in
    at = run_page(None)
    buttons = [b.proto for b in at.get("download_button")]
    offered = [b for b in buttons if b.label == "下载月报（2020年5月，PDF）"]
    assert len(offered) == 1, [b.label for b in buttons]
    with pytest.raises(data.NotBound):  # outside a Streamlit session nobody is signed in: nothing
        data.load_briefing()
    monkeypatch.setattr(data, "_scope", lambda: exports.analyst_file(built, "street_wl"))
    assert data.load_briefing() == (PDF_NAME, pdf_of(built, "street_wl").read_bytes())
    monkeypatch.setattr(data, "_scope", lambda: exports.analyst_file(built, "emb"))
    assert data.load_briefing() is None
    monkeypatch.setattr(data, "_scope", lambda: built.warehouse_db)
    assert data.load_briefing() == (PDF_NAME, pdf_of(built, "leader").read_bytes())
