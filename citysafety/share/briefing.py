"""The monthly briefing (安全生产形势月报): a PDF in Chinese, one per export.

Every figure is a row of `marts.rpt_monthly_briefing` (the month against the same month last
year, per street and ALL, with the indicator's name, unit and definition) or of
`marts.rpt_targets_projection` (the action plan's headline targets); dbt decides them, this
module only selects and lays them out. It reads them from the principal's own analyst file
while its export is written (citysafety.share.exports), so the policy has already cut the rows:
a street office's briefing can only show its street, and a principal not granted the table gets
no briefing.

    exports/<name>/<export_id>/briefing_YYYYMM.pdf    YYYYMM: the report month

The font is Noto Sans SC (SIL Open Font License), shipped by the PyPI package
`pylopdf-fonts-zh-cn` (requirements.in); fpdf2 embeds the subset of glyphs a briefing uses.
Nothing is downloaded: a missing font stops the export with a message naming the package.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from citysafety.config import dbt_project_vars
from citysafety.sql import ident
from citysafety.streets import street_codes

TABLE = "rpt_monthly_briefing"
TARGETS = "rpt_targets_projection"
DISTRICT = "ALL"
FONT = "noto-sans-sc"

# Trend charts: (section, indicator) drawn over the 13 months, in this order.
CHARTS = [
    ("casualties", "deaths"),
    ("hazards", "hazards_found"),
    ("hazards", "hazards_overdue_month_end"),
    ("monitoring", "alarm_episodes"),
    ("enforcement", "inspections"),
    ("drills", "drills"),
]
# The per-street table of the district briefing (report month).
STREET_COLUMNS = ["deaths", "hazards_found", "hazards_overdue_month_end", "major_not_supervised_month_end",
                  "drills"]


class BriefingFailed(RuntimeError):
    pass


def file_name(report_month: dt.date) -> str:
    return f"briefing_{report_month:%Y%m}.pdf"


def font_path() -> Path:
    """Noto Sans SC from its package; fail closed (no fallback font draws Chinese)."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError as exc:  # pragma: no cover - the lock installs it
        raise BriefingFailed("月报所需中文字体未安装：缺少 Python 包 pylopdf-fonts-zh-cn（见 requirements.in），"
                             "请运行 make install") from exc
    path = Path(pylopdf_fonts_zh_cn.sans_path())
    if not path.is_file():
        raise BriefingFailed(f"月报所需中文字体文件缺失：{path}（请重新安装 pylopdf-fonts-zh-cn）")
    return path


# --- selecting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    street_code: str
    street_name: str
    report_month: dt.date
    month: dt.date
    section: str
    section_name: str
    section_order: int
    indicator: str
    indicator_name: str
    unit: str
    indicator_order: int
    value: float | None
    value_last_year: float | None
    change: float | None
    change_ratio: float | None
    definition: str
    as_of_date: dt.date


_COLUMNS = [f.name for f in Row.__dataclass_fields__.values()]


def _has(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from duckdb_tables() where database_name = ? and schema_name = 'marts' "
        "and table_name = ?", [catalog, table]).fetchone()[0])


def briefing_street(con: duckdb.DuckDBPyConnection, catalog: str, streets: list[str] | None) -> str | None:
    """The street a briefing is for: ALL for a principal of every street, its street for a
    street office; None when the principal's rows hold no such briefing (not granted)."""
    if not _has(con, catalog, TABLE):
        return None
    wanted = DISTRICT if streets is None else (streets[0] if len(streets) == 1 else None)
    if wanted is None:
        return None
    found = con.execute(f"select count(*) from {ident(catalog)}.marts.{ident(TABLE)} where street_code = ?",
                        [wanted]).fetchone()[0]
    return wanted if found else None


def select_rows(con: duckdb.DuckDBPyConnection, catalog: str, street: str) -> list[Row]:
    rows = con.execute(
        f"select {', '.join(ident(c) for c in _COLUMNS)} from {ident(catalog)}.marts.{ident(TABLE)} "
        "where street_code = ? order by section_order, indicator_order, month", [street]).fetchall()
    return [Row(*r) for r in rows]


def select_street_rows(con: duckdb.DuckDBPyConnection, catalog: str) -> list[Row]:
    """The report month of every street (the district briefing's per-street table)."""
    rows = con.execute(
        f"select {', '.join(ident(c) for c in _COLUMNS)} from {ident(catalog)}.marts.{ident(TABLE)} "
        "where is_report_month and street_code != ? order by street_code", [DISTRICT]).fetchall()
    return [Row(*r) for r in rows]


def select_targets(con: duckdb.DuckDBPyConnection, catalog: str, year: int) -> list[dict]:
    """The headline targets seen from the report month's year (or the latest year before it)."""
    if not _has(con, catalog, TARGETS):
        return []
    cur = con.execute(
        f"select indicator_name, unit, seen_from_year, mode, method, target_2020, value_2020, "
        f"base_year, base_value, change_vs_base, target_met, unavailable_reason "
        f"from {ident(catalog)}.marts.{ident(TARGETS)} "
        f"where seen_from_year = (select max(seen_from_year) from {ident(catalog)}.marts.{ident(TARGETS)} "
        f"where seen_from_year <= ?) order by indicator desc", [year])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


# --- formatting -----------------------------------------------------------------------------


def fmt_value(value: float | None, unit: str) -> str:
    """A value as the briefing prints it (the test reads the same)."""
    if value is None:
        return "无数据"
    if unit == "比例":
        return f"{value * 100:.1f}%"
    if float(value).is_integer():
        return f"{int(value):,}"
    # Amounts to the fen; small rates (人/亿元) to four significant digits.
    return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"


def fmt_change(value: float | None, unit: str) -> str:
    if value is None:
        return "无可比"
    if unit == "比例":
        return f"{value * 100:+.1f}个百分点"
    if float(value).is_integer():
        return f"{int(value):+,}"
    return f"{value:+,.2f}" if abs(value) >= 100 else f"{value:+.4g}"


def fmt_ratio(value: float | None) -> str:
    return "无可比" if value is None else f"{value * 100:+.1f}%"


def month_zh(month: dt.date) -> str:
    return f"{month.year}年{month.month}月"


# --- layout ---------------------------------------------------------------------------------


def _pdf():
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.add_font(FONT, fname=str(font_path()))
    # Subsetting a CFF font recomputes the bounding box from every kept glyph's outline, half of
    # the time a briefing takes; the full font's box (kept) encloses the subset's as well.
    for font in pdf.fonts.values():
        font.ttfont.recalcBBoxes = False
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_margins(15, 15, 15)
    pdf.set_creator("下城区城市安全数据平台")
    return pdf


def _heading(pdf, text: str) -> None:
    if pdf.get_y() > 250:
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(FONT, size=13)
    pdf.set_text_color(20, 60, 120)
    pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, size=9.5)


def _para(pdf, text: str, size: float = 9.5) -> None:
    pdf.set_font(FONT, size=size)
    pdf.multi_cell(0, 5.2, text, align="L", new_x="LMARGIN", new_y="NEXT")


def _table(pdf, header: list[str], rows: list[list[str]], widths: list[float]) -> None:
    from fpdf.fonts import FontFace

    pdf.set_font(FONT, size=9)
    # One weight of the font is shipped: headings are set apart by colour, not bold.
    with pdf.table(col_widths=widths, text_align=["LEFT"] + ["RIGHT"] * (len(header) - 1),
                   line_height=5.5, first_row_as_headings=True,
                   headings_style=FontFace(emphasis="", fill_color=(225, 232, 242))) as table:
        for cells in [header, *rows]:
            row = table.row()
            for cell in cells:
                row.cell(cell)


def _chart(pdf, title: str, unit: str, months: list[dt.date], values: list[float | None],
           last_year: list[float | None], x: float, y: float, w: float, h: float) -> None:
    """Bars for the 13 months, a grey tick for the same month a year earlier."""
    pdf.set_font(FONT, size=8.5)
    pdf.set_xy(x, y)
    pdf.cell(w, 4.5, f"{title}（{unit}）", new_x="LMARGIN", new_y="NEXT")
    top, bottom = y + 7, y + h - 6
    left, right = x + 8, x + w
    peak = max([v for v in values + last_year if v is not None] + [0])
    scale_max = peak if peak > 0 else 1
    pdf.set_draw_color(160, 160, 160)
    pdf.set_line_width(0.2)
    pdf.line(left, bottom, right, bottom)
    pdf.set_font(FONT, size=6.5)
    pdf.set_xy(x, top - 1.5)
    pdf.cell(7.5, 3, fmt_value(scale_max if peak else 0, unit), align="R")
    pdf.set_xy(x, bottom - 1.5)
    pdf.cell(7.5, 3, "0", align="R")
    step = (right - left) / max(len(months), 1)
    for i, (month, value, prior) in enumerate(zip(months, values, last_year)):
        bx = left + i * step + step * 0.15
        bw = step * 0.7
        if value:
            bh = (bottom - top) * value / scale_max
            current = i == len(months) - 1
            pdf.set_fill_color(*((200, 60, 40) if current else (70, 120, 180)))
            pdf.rect(bx, bottom - bh, bw, bh, style="F")
        if prior is not None:
            py = bottom - (bottom - top) * prior / scale_max
            pdf.set_draw_color(90, 90, 90)
            pdf.set_line_width(0.5)
            pdf.line(bx - 0.3, py, bx + bw + 0.3, py)
        if i % 2 == 0 or i == len(months) - 1:
            pdf.set_xy(left + i * step - 1, bottom + 0.5)
            pdf.cell(step + 2, 3, f"{month:%y}.{month.month}", align="C")
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)


def render(rows: list[Row], targets: list[dict], street_rows: list[Row], *, scope_name: str,
           principal_name: str, publish_id: str) -> bytes:
    """The briefing of one street (or the district) as PDF bytes."""
    if not rows:
        raise BriefingFailed("月报没有数据行")
    first = rows[0]
    report_month, as_of = first.report_month, first.as_of_date
    district = first.street_code == DISTRICT
    current = [r for r in rows if r.month == report_month]
    sections: dict[str, list[Row]] = {}
    for r in current:
        sections.setdefault(r.section, []).append(r)

    pdf = _pdf()
    pdf.set_title(f"{scope_name}安全生产形势月报（{month_zh(report_month)}）")
    pdf.set_author(principal_name)
    pdf.add_page()
    pdf.set_font(FONT, size=18)
    pdf.cell(0, 11, f"{'下城区' if district else '下城区' + scope_name}安全生产形势月报",
             align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=12)
    pdf.cell(0, 7, month_zh(report_month), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    scope = "全区（含未能识别街道的记录和区级预案的演练）" if district else f"仅{scope_name}的数据"
    _para(pdf, f"统计月份：{month_zh(report_month)}，即统计日 {as_of:%Y-%m-%d} 之前最后一个完整月份；"
               f"同比为与去年同月（{month_zh(dt.date(report_month.year - 1, report_month.month, 1))}）比较。")
    _para(pdf, f"数据范围：{scope}。报送对象：{principal_name}。发布批次：{publish_id}。")

    # 一、核心指标
    _heading(pdf, "一、核心指标")
    ytd = next((r for r in current if r.indicator == "deaths_ytd"), None)
    if district and targets:
        years = dbt_project_vars()  # the action plan's years: dbt_project.yml's vars
        target, base = years["target_year"], years["baseline_year"]
        header = ["指标", f"{target}年目标", f"{target}年实际或预计", f"较{base}年", "结论"]
        body = []
        for t in targets:
            unit = t["unit"] or ""
            verdict = ("达到目标" if t["target_met"] else "未达到目标") if t["target_met"] is not None else \
                f"无法研判：{t['unavailable_reason'] or ''}"
            body.append([t["indicator_name"], fmt_value(t["target_2020"], unit),
                         fmt_value(t["value_2020"], unit) + ("（实际）" if t["mode"] == "actual" else
                                                             "（预计）" if t["mode"] == "projected" else ""),
                         fmt_ratio(t["change_vs_base"]), verdict])
        _table(pdf, header, body, [50, 25, 40, 22, 43])
        methods = {t["method"] for t in targets if t["method"]}
        for m in sorted(methods):
            _para(pdf, f"研判方法：{m}", size=8)
    elif district:
        _para(pdf, "三年行动计划核心指标（各类生产安全事故死亡人数、亿元GDP生产安全事故死亡率）不在本报送对象的数据范围内。")
    else:
        _para(pdf, "三年行动计划核心指标（各类生产安全事故死亡人数、亿元GDP生产安全事故死亡率）为全区指标，"
                   "见区级月报；以下为本街道的数据。")
    if ytd is not None:
        _para(pdf, f"{ytd.indicator_name}：{fmt_value(ytd.value, ytd.unit)}{ytd.unit}"
                   f"（去年同期 {fmt_value(ytd.value_last_year, ytd.unit)}{ytd.unit}，"
                   f"同比 {fmt_change(ytd.change, ytd.unit)}）。")

    # 二、本月与去年同月
    _heading(pdf, "二、本月与去年同月")
    numerals = "一二三四五六七八九十"
    for n, (section, items) in enumerate(sorted(sections.items(), key=lambda kv: kv[1][0].section_order)):
        pdf.set_font(FONT, size=10.5)
        pdf.cell(0, 6.5, f"（{numerals[n] if n < len(numerals) else n + 1}）{items[0].section_name}", new_x="LMARGIN", new_y="NEXT")
        body = [[f"{r.indicator_name}（{'%' if r.unit == '比例' else r.unit}）", fmt_value(r.value, r.unit),
                 fmt_value(r.value_last_year, r.unit) if not r.indicator.endswith("_to_date") else "—",
                 fmt_change(r.change, r.unit) if not r.indicator.endswith("_to_date") else "—",
                 fmt_ratio(r.change_ratio) if not r.indicator.endswith("_to_date") else "—"]
                for r in sorted(items, key=lambda r: r.indicator_order)]
        _table(pdf, ["指标", "本月", "去年同月", "同比增减", "同比增幅"], body, [70, 25, 25, 30, 30])
        if section == "data_quality":
            _para(pdf, "本报告的数据均经平台质量闸门（数据质量期望与模型测试）检查通过后发布；"
                       "未通过入库检查的报送行已隔离，不计入上述指标。", size=8.5)
    if not district:
        _para(pdf, "重大危险源监测报警和执法检查不在本街道的数据范围内，见区级月报。", size=8.5)
        _para(pdf, "数据质量：本报告的数据均经平台质量闸门检查通过后发布；全区数据质量情况（隔离行、"
                   "无法识别街道的记录）见区级月报。", size=8.5)

    # 三、分街道（全区月报）
    street_rows = [r for r in street_rows if r.indicator in STREET_COLUMNS]
    if district and street_rows:
        _heading(pdf, f"三、分街道情况（{month_zh(report_month)}）")
        by_street: dict[str, dict[str, Row]] = {}
        names: dict[str, str] = {}
        for r in street_rows:
            by_street.setdefault(r.street_code, {})[r.indicator] = r
            names[r.street_code] = str(r.street_name or r.street_code or "街道未填写")
        order = {code: n for n, code in enumerate(street_codes())}  # the district's usual order
        example = {i: next((r for r in street_rows if r.indicator == i), None) for i in STREET_COLUMNS}
        header = ["街道"] + [example[i].indicator_name if example[i] else i for i in STREET_COLUMNS]
        body = [[names[code]] + [fmt_value(by_street[code][i].value, by_street[code][i].unit)
                                 if i in by_street[code] else "—" for i in STREET_COLUMNS]
                for code in sorted(by_street, key=lambda c: (order.get(c, len(order)), str(c)))]
        _table(pdf, header, body, [30] + [30] * len(STREET_COLUMNS))

    # 四、趋势
    pdf.add_page()
    numbered = iter("四五" if district and street_rows else "三四")
    _heading(pdf, f"{next(numbered)}、近13个月趋势")
    _para(pdf, "柱为当月数值（红色为统计月份），灰色横线为去年同月数值。", size=8.5)
    series: dict[str, list[Row]] = {}
    for r in rows:
        series.setdefault(r.indicator, []).append(r)
    y0 = pdf.get_y() + 2
    placed = 0
    for _, indicator in CHARTS:
        points = sorted(series.get(indicator, []), key=lambda r: r.month)
        if not points:
            continue  # not in this briefing's rows (a street office's: no alarms, no enforcement)
        col, line = placed % 2, placed // 2
        placed += 1
        _chart(pdf, points[0].indicator_name, points[0].unit, [p.month for p in points],
               [p.value for p in points], [p.value_last_year for p in points],
               x=15 + col * 92, y=y0 + line * 62, w=85, h=56)
    pdf.set_xy(15, y0 + (placed + 1) // 2 * 62 + 2)

    # 五、口径
    _heading(pdf, f"{next(numbered)}、指标口径")
    seen = set()
    for r in sorted(current, key=lambda r: (r.section_order, r.indicator_order)):
        if r.indicator in seen:
            continue
        seen.add(r.indicator)
        _para(pdf, f"{r.indicator_name}：{r.definition}", size=8)
    return bytes(pdf.output())


def write(con: duckdb.DuckDBPyConnection, catalog: str, streets: list[str] | None, dest: Path, *,
          principal_name: str, publish_id: str) -> Path | None:
    """Write the briefing of the rows `catalog` holds into `dest`; None when it holds none."""
    street = briefing_street(con, catalog, streets)
    if street is None:
        return None
    rows = select_rows(con, catalog, street)
    district = street == DISTRICT
    targets = select_targets(con, catalog, rows[0].report_month.year) if district else []
    street_rows = select_street_rows(con, catalog) if district else []
    scope_name = "全区" if district else rows[0].street_name
    path = dest / file_name(rows[0].report_month)
    path.write_bytes(render(rows, targets, street_rows, scope_name=scope_name,
                            principal_name=principal_name, publish_id=publish_id))
    return path
