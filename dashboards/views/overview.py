"""总览: the leaders' first page, in the order a leader reads it (issue 13).

* The action plan's verdict first: the two headline targets of the 2018–2020 action plan in its
  target year (``data.TARGET_YEAR``, dbt's var), district-wide (``marts.kpi_safety_targets``):
  各类生产安全事故死亡人数 2020年比2016年下降40%; 亿元GDP生产安全事故死亡率 下降55%. The verdicts and
  figures are the mart's columns; the page lays them out.
* Trends since 2016 with the 2020 targets drawn as rule lines.
* The selected year (the last year of the selected period) when it is not the target year: its
  two headline figures against the 2020 targets. A year without GDP says what is missing and when
  it is due (``gdp_missing_reason``, ``gdp_due_date``), never a bare "—".
* Before 2020, 2020 at the current pace: the deaths and the rate projected to 2020 at their
  average annual rate of change since 2016 (geometric), against the targets
  (``marts.rpt_targets_projection``); from 2020 on, the verdict above is the outcome.
* Today's top alerts, for the selected streets, each with a link to its page: open 重大 hidden
  hazards overdue or not listed for supervision (``marts.rpt_alerts_today_hazards``), hazard
  sources whose monitoring coverage is below 100 % and alarm episodes in the last 24 hours of
  data (``marts.rpt_alerts_today_monitoring``), emergency plans that do not reach the district
  plan (``marts.rpt_alerts_today_plans``): counts per street published by dbt, summed over the
  selected streets.
* The official indicators of the selected year (``marts.kpi_official_indicators``): the district
  row, or a street office's own street's row.
* Casualties by department of record and by street for the selected period and streets.
* The yearly KPI table; the monthly briefing.

A street office sees its own street's rows only: the district's targets are not its numbers, and
the page says so (不在您的数据范围内) rather than "暂无数据".

Filters (sidebar) are kept in the URL: ``?streets=WL,TS&from=2017&to=2020``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from streamlit.errors import StreamlitAPIException

from citysafety.share import labels
from dashboards import alarms_data, auth, charts, components, data, frame

# --- constants --------------------------------------------------------------------------------

KEY_STREETS = "overview_streets"
KEY_YEARS = "overview_years"
QP_STREETS = "streets"
QP_FROM = "from"
QP_TO = "to"

DEPT_ORDER = list(data.DEPARTMENTS.values())  # 工矿商贸, 火灾, 道路交通

# The official indicators' labels, units and kinds: labels.OVERVIEW_OFFICIAL_INDICATORS.
OFFICIAL_YOY = {"accidents": "accidents_yoy_change", "deaths": "deaths_yoy_change"}
# Official indicators whose help is their contract's description (a figure another page shows a
# look-alike of: 应急's 近12个月演练覆盖率; 宣传教育's figures per street), not a text of labels.py.
DEFINED_BY_CONTRACT = {"drill_coverage", "attendances_per_1000_residents", "enterprise_training_coverage"}
ALERT_PAGES = {
    "hazards": "views/hazards.py",
    "monitoring": "views/monitoring.py",
    "emergency": "views/emergency.py",
    "alarms": "views/alarms.py",
}


# --- small helpers ----------------------------------------------------------------------------


def _fmt_change(value: Any) -> str | None:
    return None if components.missing(value) else f"{float(value):+.1%}"


def _met_badge(met: Any) -> str:
    if components.missing(met):
        return ":gray-badge[:material/hourglass_empty: 暂无法评估]"
    if bool(met):
        return ":green-badge[:material/check_circle: 已达到2020年目标]"
    return ":red-badge[:material/cancel: 未达到2020年目标]"


# --- 2020 at the current pace ------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """Where one indicator stands against its 2020 target, seen from a selected year: a row of
    ``marts.rpt_targets_projection`` (the rule and its method are dbt's and published there).

    ``mode``: "actual" (the 2020 value is known and the selected year is 2020 or later),
    "projected" (the value of ``last_year`` carried to 2020 at the average annual rate of change
    since 2016), or "unavailable" (``reason`` says why).
    """

    mode: str
    target: float | None = None
    value: float | None = None  # the actual or projected 2020 value
    base_value: float | None = None
    change_vs_base: float | None = None  # value against base_value (fraction)
    last_year: int | None = None
    last_value: float | None = None
    annual_change: float | None = None  # average annual change 2016 -> last_year (fraction)
    required_change: float | None = None  # average annual change last_year -> 2020 to hit target
    met: bool | None = None
    reason: str = ""
    method: str = ""


def _projection(row: pd.Series | None) -> Projection:
    """A published row of ``marts.rpt_targets_projection`` (the rule is dbt's) for the page."""
    if row is None:
        return Projection("unavailable", reason="暂无考核指标数据")

    def value(column: str) -> Any:
        return None if components.missing(row[column]) else row[column]

    return Projection(
        mode=str(row["mode"]),
        target=value("target_2020"),
        value=value("value_2020"),
        base_value=value("base_value"),
        change_vs_base=value("change_vs_base"),
        last_year=None if value("last_year") is None else int(row["last_year"]),
        last_value=value("last_value"),
        annual_change=value("annual_change"),
        required_change=value("required_change"),
        met=None if value("target_met") is None else bool(row["target_met"]),
        reason=value("unavailable_reason") or "",
        method=value("method") or "",
    )


def load_projections(year: int) -> dict[str, Projection]:
    """indicator -> its 2020 outcome seen from ``year`` (``marts.rpt_targets_projection``)."""
    rows = data.load_targets_projection(year)
    found = {str(r["indicator"]): r for _, r in rows.iterrows()}
    return {name: _projection(found.get(name)) for name in ("deaths_total", "deaths_per_100m_gdp")}


def _projection_badge(p: Projection) -> str:
    if p.mode == "actual":
        return (":green-badge[:material/check_circle: 2020年已达到目标]" if p.met
                else ":red-badge[:material/cancel: 2020年未达到目标]")
    if p.mode == "projected":
        return (":green-badge[:material/trending_down: 按当前速度可达到目标]" if p.met
                else ":red-badge[:material/warning: 按当前速度难以达到目标]")
    return ":gray-badge[:material/hourglass_empty: 暂无法推算]"


# --- filters (sidebar + URL) ------------------------------------------------------------------


def _sidebar_filters(streets_df: pd.DataFrame, y_min: int, y_max: int) -> tuple[list[str], int, int]:
    def _reset() -> None:
        st.session_state[KEY_STREETS] = []
        st.session_state[KEY_YEARS] = (y_min, y_max)

    with frame.sidebar(reset=_reset):
        selected = frame.street_filter(
            streets_df,
            key=KEY_STREETS,
            help="不选即为全部街道。只影响下方分街道、分部门统计；考核指标始终为全区口径。",
        )
        lo, hi = frame.period_filter(
            (y_min, y_max), key=KEY_YEARS, label="统计期间（年）",
            help=f"页首为{data.TARGET_YEAR}年（三年行动计划目标年）的完成情况；其下的核心指标和官方指标显示所选期间最后一年。"
        )
    return selected, int(lo), int(hi)


# --- sections ---------------------------------------------------------------------------------


def _gdp_due_text(row: pd.Series) -> str:
    """The mart's sentence on a missing GDP (what is missing, when it is due); a plain one only
    should a damaged or hand-made file leave it empty (the display of a gap, not a rule)."""
    reason = row.get("gdp_missing_reason")
    return f"{reason}。" if not components.missing(reason) else f"{int(row['year'])}年地区生产总值尚未报送。"


def _headline_section(kpi: pd.DataFrame, year: int, *, verdict: bool, streets_active: bool = False) -> None:
    """One year's two headline targets (district, ``marts.kpi_safety_targets``): ``verdict`` for
    the action plan's target year, the page's first words (issue 13), else the selected year."""
    if verdict:
        st.subheader(f"{year}年 三年行动计划目标完成情况（全区）")
        st.caption(
            "2018–2020年安全生产三年行动计划：各类生产安全事故死亡人数2020年比2016年下降"
            f"{data.DEATHS_REDUCTION_TARGET:.0%}，亿元GDP生产安全事故死亡率下降{data.RATE_REDUCTION_TARGET:.0%}。"
            "考核目标按全区设定，不随街道筛选变化。"
        )
    else:
        st.subheader(f"{year}年 三年行动计划核心指标（全区）")
        st.caption("当年数值与2020年目标值的比较，全区口径，不随街道筛选变化。")
    if streets_active and verdict:
        st.info(
            "已按街道筛选：核心指标和趋势图仍为全区口径（目标按全区考核）；"
            "下方分部门、分街道统计按所选街道显示。",
            icon=":material/filter_alt:",
        )
    rows = kpi.loc[kpi["year"] == year]
    if rows.empty:
        st.warning(f"{year}年暂无考核指标数据（考核指标表中没有该年度）。")
        return
    row = rows.iloc[0]
    base = kpi.loc[kpi["year"] == data.BASE_YEAR]
    base_row = None if base.empty else base.iloc[0]
    keep = 1 - data.DEATHS_REDUCTION_TARGET
    keep_rate = 1 - data.RATE_REDUCTION_TARGET

    col_deaths, col_rate, col_gdp = st.columns(3)
    with col_deaths:
        st.metric(
            f"{year}年各类生产安全事故死亡人数",
            f"{components.fmt_count(row['deaths_total'])} 人",
            delta=_fmt_change(row["deaths_change_vs_2016"]),
            delta_color="inverse",
            delta_description=None if components.missing(row["deaths_change_vs_2016"]) else "较2016年",
            help="工矿商贸、火灾、道路交通三类事故死亡人数合计。"
            f"目标：2020年比2016年下降{data.DEATHS_REDUCTION_TARGET:.0%}。",
            border=True,
        )
        st.caption(
            f"其中 工矿商贸 {components.fmt_count(row['deaths_workplace'])} 人 · 火灾 {components.fmt_count(row['deaths_fire'])} 人"
            f" · 道路交通 {components.fmt_count(row['deaths_road'])} 人"
        )
        base_text = "" if base_row is None else f"（2016年 {components.fmt_count(base_row['deaths_total'])} 人 × {keep:.0%}）"
        st.markdown(f"2020年目标：≤ {components.fmt_count(row['deaths_target_2020'])} 人{base_text}")
        st.markdown(_met_badge(row["deaths_target_met"]))
    with col_rate:
        rate_missing = components.missing(row["deaths_per_100m_gdp"])
        st.metric(
            f"{year}年亿元GDP生产安全事故死亡率",
            "待GDP报送后计算" if rate_missing else f"{components.fmt_rate(row['deaths_per_100m_gdp'])} 人/亿元",
            delta=_fmt_change(row["rate_change_vs_2016"]),
            delta_color="inverse",
            delta_description=None if components.missing(row["rate_change_vs_2016"]) else "较2016年",
            help="死亡人数 ÷ 地区生产总值（亿元）。"
            f"目标：2020年比2016年下降{data.RATE_REDUCTION_TARGET:.0%}。",
            border=True,
        )
        if rate_missing:
            st.caption(_gdp_due_text(row))
        base_text = (
            ""
            if base_row is None
            else f"（2016年 {components.fmt_rate(base_row['deaths_per_100m_gdp'])} × {keep_rate:.0%}）"
        )
        st.markdown(f"2020年目标：≤ {components.fmt_rate(row['rate_target_2020'])} 人/亿元{base_text}")
        st.markdown(_met_badge(row["rate_target_met"]))
    with col_gdp:
        gdp = row["gdp_100m_yuan"]
        gdp_missing = components.missing(gdp)
        due = row.get("gdp_due_date")
        st.metric(
            f"{year}年地区生产总值（GDP）",
            "尚未报送" if gdp_missing else f"{float(gdp):,.1f} 亿元",
            help="亿元GDP死亡率的分母，由区统计局报送（先初步核算，后最终核实）。",
            border=True,
        )
        if gdp_missing:
            if not components.missing(due):
                st.caption(f"约定报送日期：{due.year}年{due.month}月{due.day}日前（区统计局，初步核算）")
        else:
            status = row["gdp_status"]
            st.caption(f"GDP口径：{status}" if not components.missing(status) else "GDP口径：未注明")


def _trend_section(kpi: pd.DataFrame) -> None:
    st.subheader("目标完成趋势（全区，2016年以来）")
    left, right = st.columns(2)
    with left:
        st.altair_chart(charts.overview_deaths_trend(kpi), width="stretch")
    with right:
        st.altair_chart(charts.overview_rate_trend(kpi), width="stretch")
        no_gdp = kpi.loc[kpi["deaths_per_100m_gdp"].isna()]
        if not no_gdp.empty:
            st.caption("图中不显示没有GDP的年份：" + "".join(_gdp_due_text(r) for _, r in no_gdp.iterrows()))


def _breakdown_section(
    streets_df: pd.DataFrame, selected: list[str], lo: int, hi: int
) -> None:
    names = components.street_names(streets_df)
    scope = frame.scope_text(names, selected)
    period = f"{lo}年" if lo == hi else f"{lo}–{hi}年"
    st.subheader(f"伤亡事件分布（{period}，{scope}）")
    st.caption(
        "来源：各部门上报的伤亡事件，同一事件跨部门只计一次，按登记部门归类；"
        "本部分随街道和期间筛选变化。"
    )
    try:
        detail = data.load_casualty_breakdown(lo, hi, selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return

    c1, c2, c3, c4 = st.columns(4)
    c1.metric("死亡人数（所选范围）", f"{components.fmt_count(detail['deaths'].sum())} 人", border=True)
    c2.metric("受伤人数（所选范围）", f"{components.fmt_count(detail['injuries'].sum())} 人", border=True)
    c3.metric("伤亡事件（所选范围）", f"{components.fmt_count(detail['events'].sum())} 起", border=True)
    c4.metric(
        "直接经济损失（所选范围）",
        f"{float(detail['direct_loss_10k_yuan'].sum()):,.1f} 万元",
        border=True,
    )
    if detail.empty:
        st.info("所选街道和期间内没有伤亡事件记录。")
        return

    # By department of record: every department shown, zero when it has no events.
    by_dept = (
        detail.groupby("department_name", as_index=False)[["deaths", "injuries", "events"]]
        .sum()
        .set_index("department_name")
        .reindex(DEPT_ORDER + sorted(set(detail["department_name"]) - set(DEPT_ORDER)), fill_value=0)
        .reset_index()
    )
    # By street: the selected streets (or every street) shown, zero when quiet; the unknown
    # street only when it has events.
    wanted_codes = selected or [
        c for c in names if c != "UNKNOWN" or c in set(detail["street_code"])
    ]
    street_order = [names[c] for c in wanted_codes]
    pivot = detail.pivot_table(
        index="street_name", columns="department_name", values="deaths", aggfunc="sum", fill_value=0
    )
    pivot = pivot.reindex(index=street_order, columns=DEPT_ORDER, fill_value=0)
    totals = detail.groupby("street_name")[["deaths", "injuries", "events"]].sum()
    totals = totals.reindex(street_order, fill_value=0)
    by_street = pd.concat([pivot, totals], axis=1).reset_index(names="street_name")
    # Most deaths first (then injuries); ties keep the district's street order.
    by_street = by_street.sort_values(["deaths", "injuries"], ascending=False, kind="stable")

    subtitle = f"{period}，{scope}"
    left, right = st.columns([2, 3])
    with left:
        st.altair_chart(charts.overview_by_department(by_dept, subtitle), width="stretch")
    with right:
        st.altair_chart(charts.overview_by_street(by_street, subtitle), width="stretch")
    # The tables under both charts, full width: in a half column the by-street table hid its
    # right-hand columns behind a scroll bar at 1366 px.
    frame.table(by_dept, labels.OVERVIEW_DEPT_HEADERS)
    headers = {"street_name": "街道", **{d: f"{d}死亡（人）" for d in DEPT_ORDER},
               **labels.OVERVIEW_STREET_TOTAL_HEADERS}
    frame.table(by_street, headers)


def _kpi_table_section(kpi: pd.DataFrame) -> None:
    st.subheader("年度考核指标明细（全区）")
    table = kpi[list(labels.OVERVIEW_KPI_TABLE_COLUMNS)].copy()
    # A verdict the mart could not give says why: the rate's waits for the year's GDP.
    for column, pending in (("deaths_target_met", "暂无法评估"), ("rate_target_met", "待GDP报送")):
        table[column] = table[column].map(
            lambda met, pending=pending: pending if components.missing(met)
            else ("✅ 达标" if bool(met) else "❌ 未达标")
        )
    # A year without GDP says when it is due (the mart's date), not a bare "—" (issue 13).
    table["gdp_status"] = [
        s if not components.missing(s)
        else ("尚未报送" if components.missing(d) else f"尚未报送（{d.year}年{d.month}月{d.day}日前）")
        for s, d in zip(kpi["gdp_status"], kpi["gdp_due_date"])
    ]
    # Display strings, so that missing values (GDP not yet published) show as "—".
    formats = {
        "deaths_workplace": components.fmt_count,
        "deaths_fire": components.fmt_count,
        "deaths_road": components.fmt_count,
        "deaths_total": components.fmt_count,
        "gdp_100m_yuan": lambda v: "—" if components.missing(v) else f"{float(v):,.1f}",
        "deaths_per_100m_gdp": components.fmt_rate,
        "deaths_change_vs_2016": lambda v: _fmt_change(v) or "—",
        "rate_change_vs_2016": lambda v: _fmt_change(v) or "—",
        "deaths_target_2020": components.fmt_count,
        "rate_target_2020": components.fmt_rate,
    }
    for column, fmt in formats.items():
        table[column] = table[column].map(fmt)
    table["year"] = table["year"].astype(int)
    right = st.column_config.TextColumn(alignment="right")
    frame.table(
        table,
        labels.OVERVIEW_KPI_TABLE_COLUMNS,
        all_rows=True,  # every year in view, no inner scrolling (the last row was hidden)
        column_config={
            "年份": st.column_config.NumberColumn(format="%d"),
            **{labels.OVERVIEW_KPI_TABLE_COLUMNS[c]: right for c in formats},
        },
    )
    st.caption(
        "达标判断：当年数值是否已不高于2020年目标值（死亡人数为2016年的60%，死亡率为2016年的45%）。"
        "“初步核算”的GDP会在最终核实后更新。"
    )


def _projection_section(kpi: pd.DataFrame, year: int) -> None:
    try:
        projections = load_projections(year)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    deaths, rate = projections["deaths_total"], projections["deaths_per_100m_gdp"]
    actual = deaths.mode == "actual"  # the mart's mode: the 2020 outcome is known
    st.subheader("2020年目标实际完成情况（全区）" if actual else f"按当前速度研判2020年目标（{year}年视角，全区）")
    st.caption(
        f"研判方法：所选年份在2020年之前时，取{data.BASE_YEAR}年和所选年份（不晚于2019年）之间的年均变化率"
        f"（几何平均，即 (末年值 ÷ {data.BASE_YEAR}年值)^(1/年数) − 1），按同样的速度外推到2020年，"
        "与2020年目标比较；“所需年均变化”为从末年到2020年恰好达到目标每年需要的变化。"
        "所选年份为2020年及以后时，直接显示2020年的实际结果。"
    )
    items = [
        (deaths, "各类生产安全事故死亡人数", "死亡人数", "人", _fmt_projected_count, "deaths_total", ".1f"),
        (rate, "亿元GDP生产安全事故死亡率", "亿元GDP死亡率", "人/亿元", components.fmt_rate, "deaths_per_100m_gdp",
         ".4f"),
    ]
    columns = st.columns(2)
    for column, (p, title, short, unit, fmt, source, chart_fmt) in zip(columns, items):
        with column:
            if p.mode == "unavailable":
                st.metric(f"{title}（2020年）", None, border=True)
                st.caption(f"暂无法研判：{p.reason}。")
                st.markdown(_projection_badge(p))
                continue
            label = f"2020年{title}（实际）" if p.mode == "actual" else f"按当前速度预计2020年{title}"
            st.metric(
                label,
                f"{fmt(p.value)} {unit}",
                delta=_fmt_change(p.change_vs_base),
                delta_color="inverse",
                delta_description=None if p.change_vs_base is None else "较2016年",
                border=True,
            )
            st.markdown(f"2020年目标：≤ {fmt(p.target)} {unit}　{_projection_badge(p)}")
            if p.mode == "projected":
                parts = [f"{data.BASE_YEAR}–{p.last_year}年年均变化 {p.annual_change:+.1%}"]
                if p.required_change is not None:
                    parts.append(f"达到目标所需年均变化 {p.required_change:+.1%}（{p.last_year}–2020年）")
                st.caption("；".join(parts) + "。")
                if source == "deaths_per_100m_gdp" and year >= data.TARGET_YEAR:
                    st.caption("2020年地区生产总值尚未发布，死亡率按2019年前的趋势推算。")
                st.altair_chart(
                    charts.overview_projection(kpi, source, p, short, unit, fmt, chart_fmt), width="stretch"
                )


def _fmt_projected_count(value: Any) -> str:
    """A projected count keeps one decimal (it is an estimate); whole counts stay whole."""
    if components.missing(value):
        return "—"
    number = float(value)
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.1f}"


def _fmt_indicator(value: Any, kind: str) -> str | None:
    if components.missing(value):
        return None
    number = float(value)
    if kind == "count":
        return f"{number:,.0f}"
    if kind == "pct":
        return f"{100.0 * number:.1f}"
    return f"{number:.4f}" if kind == "rate4" else f"{number:.2f}"


def _official_section(year: int, streets_df: pd.DataFrame) -> None:
    # The district's row for an account that sees every street; a street office's own street's row
    # (its file holds no district row): the title says whose figures these are (issue 13).
    allowed = frame.viewer_streets()
    area = data.DISTRICT if allowed is None else (allowed[0] if len(allowed) == 1 else None)
    names = components.street_names(streets_df)
    whose = "全区" if area == data.DISTRICT else names.get(area, area) if area else frame.scope_text(names, [])
    st.subheader(f"{year}年 官方安全指标（{whose}）")
    if not frame.sees("kpi_official_indicators"):
        st.info(f"官方安全指标{frame.NOT_IN_SCOPE}。", icon=":material/visibility_off:")
        return
    if area is None:
        st.info("本账号可见多个街道，官方安全指标请由区安委办按街道提供。")
        return
    if area == data.DISTRICT:
        st.caption(
            "全区口径，不随街道筛选变化；分母缺失（如GDP、人口、机动车数尚未报送）的指标显示“—”。"
        )
    else:
        st.caption(
            f"{whose}的官方指标，不随街道筛选变化。以GDP、常住人口、机动车保有量为分母的死亡率、"
            "在线监测覆盖率和预案演练覆盖率只按全区统计，不在街道显示。"
        )
    try:
        indicators = data.load_official_indicators(area)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    rows = indicators.loc[indicators["year"] == year]
    if rows.empty:
        st.info(f"{year}年暂无{whose}的官方指标数据。")
        return
    row = rows.iloc[0]
    names = list(labels.OVERVIEW_OFFICIAL_INDICATORS)
    if area != data.DISTRICT:
        # What the mart leaves empty on every street row has no meaning for a street (see above).
        names = [n for n in names if indicators[n].notna().any()]
    # Three a row: casualties, the three death rates, hazards and monitoring, insurance and drills,
    # education.
    for start in range(0, len(names), 3):
        columns = st.columns(3)
        for column, name in zip(columns, names[start:start + 3]):
            label, unit, kind = labels.OVERVIEW_OFFICIAL_INDICATORS[name]
            shown = _fmt_indicator(row[name], kind)
            if kind.startswith("rate"):
                # Long units go to the label (the value box is narrow).
                label, value = f"{label}（{unit}）", shown
            else:
                value = None if shown is None else (f"{shown}%" if kind == "pct" else f"{shown} {unit}")
            yoy = OFFICIAL_YOY.get(name)
            delta = _fmt_change(row[yoy]) if yoy else None
            column.metric(
                label,
                value,
                delta=delta,
                delta_color="inverse",
                delta_description="同比" if delta else None,
                help=(data.definition("kpi_official_indicators", name) if name in DEFINED_BY_CONTRACT
                      else labels.OVERVIEW_OFFICIAL_HELP.get(name)),
                border=True,
            )
    table = indicators.copy()
    headers = {"year": "年份"}
    for name in names:
        label, unit, kind = labels.OVERVIEW_OFFICIAL_INDICATORS[name]
        headers[name] = f"{label}（{unit}）"
        if name in OFFICIAL_YOY:
            headers[OFFICIAL_YOY[name]] = f"{label}同比（%）"
            table[OFFICIAL_YOY[name]] = (table[OFFICIAL_YOY[name]] * 100.0).round(1)
        if kind == "pct":
            table[name] = (table[name] * 100.0).round(1)
    table["year"] = table["year"].astype(int)
    table = table[[c for c in table.columns if c in headers]]
    with st.expander(f"历年官方指标（{whose}）"):
        frame.table(
            table,
            headers,
            column_config={"年份": st.column_config.NumberColumn(format="%d")},
        )
        frame.download_buttons(
            table, "总览_官方指标", headers, key="overview_official", sheet_name="官方指标"
        )


def _alert_card(
    title: str,
    count: int | None,
    unit: str,
    page: str,
    link_label: str,
    streets: list[str],
    *,
    detail: str | None = None,
    help: str | None = None,
    definition: tuple[str, str] | None = None,
) -> None:
    with st.container(border=True):
        st.metric(title, "—" if count is None else f"{count} {unit}", help=help)
        if count is None:
            st.caption(detail or "暂无数据")
            if detail == frame.NOT_IN_SCOPE:
                return  # no link to a page the viewer cannot open
        elif count == 0:
            st.caption(":green[:material/check_circle: 无需处理]" + (f"　{detail}" if detail else ""))
        else:
            st.caption(":red[:material/priority_high: 需关注]" + (f"　{detail}" if detail else ""))
        if definition is not None:
            components.show_definition(*definition)
        try:
            st.page_link(
                ALERT_PAGES[page],
                label=link_label,
                icon=":material/arrow_forward:",
                query_params={"streets": ",".join(streets)} if streets else None,
            )
        except StreamlitAPIException:
            pass  # the page is not registered (yet): no link


def _open_alarms_card(streets: list[str]) -> dict[str, Any]:
    """The alarms not archived yet, live from the operations database as 告警处置 shows them (the
    chosen streets, else the viewer's scope); for those who may open 告警处置."""
    user = auth.current_user()
    grants = auth.allowed_pages(user)
    card: dict[str, Any] = dict(title="未结告警", count=None, unit="起", page="alarms", link_label="去处置",
                                help="平台定级并通知、尚未归档的告警（实时，运营数据库）；超过签收时限未签收的逐级上报。")
    if grants is not None and "alarms" not in grants:
        return {**card, "detail": frame.NOT_IN_SCOPE}
    try:
        alarms_data.ready()  # never creates the database (a page only reads it)
        rows = alarms_data.open_alarms(streets or auth.allowed_streets(user))
    except alarms_data.OperationsUnavailable as exc:
        return {**card, "detail": exc.message}
    escalated = int((rows["escalation_level"] > 0).sum())
    return {**card, "count": len(rows), "detail": (
        f"其中已升级 {escalated} 起；最久 {int(rows['age_minutes'].max())} 分钟" if len(rows) else None)}


def _alerts_section(streets: list[str], scope: str) -> None:
    st.subheader(f"今日重点提醒（{scope}）")
    st.caption("需要今天关注的事项，随街道筛选变化；点击链接查看明细。")
    cards: list[dict[str, Any]] = []
    hazards = None
    try:
        if frame.sees("rpt_alerts_today_hazards"):
            hazards = data.load_hazard_alerts(streets)
    except data.DataUnavailable:
        pass
    hazards_note = None if frame.sees("rpt_alerts_today_hazards") else frame.NOT_IN_SCOPE
    cards.append(dict(
        title="重大隐患逾期未整改", count=None if hazards is None else hazards["major_overdue_open"],
        unit="项", page="hazards", link_label="查看隐患", detail=hazards_note,
        help="重大隐患已过整改期限仍未整改（截至数据管道的统计日）。",
    ))
    cards.append(dict(
        title="重大隐患未挂牌督办", count=None if hazards is None else hazards["major_not_supervised_open"],
        unit="项", page="hazards", link_label="查看隐患",
        help="尚未整改的重大隐患中，未按规定挂牌督办的数量。",
        # 隐患 counts every unlisted 重大 hazard of its period: the definition says which this is.
        definition=("rpt_alerts_today_hazards", "major_not_supervised_open"),
        detail=hazards_note if hazards is None else (
            f"其中已逾期 {hazards['major_overdue_not_supervised']} 项"
            if hazards["major_overdue_not_supervised"] else None),
    ))
    coverage_count = recent = as_of = None
    monitoring_note = None if frame.sees("rpt_alerts_today_monitoring") else frame.NOT_IN_SCOPE
    try:
        monitoring = None if monitoring_note else data.load_monitoring_alerts(streets)
    except data.DataUnavailable:
        monitoring = None
    if monitoring is not None:
        coverage_count = monitoring["sources_below_full_coverage"]
        as_of = monitoring["as_of_time"]
        recent = monitoring["episodes_last_24h"]
        recent_high_high = monitoring["high_high_episodes_last_24h"]
    cards.append(dict(
        title="监测覆盖不足危险源", count=coverage_count, unit="个", page="monitoring",
        link_label="查看监测", help="监测覆盖率低于100%的重大危险源：近24小时有监测点没有任何读数。",
        detail=monitoring_note,
    ))
    cards.append(dict(
        title="近24小时报警", count=recent, unit="起",
        page="monitoring", link_label="查看报警",
        help="数据最新时刻之前24小时内有超限读数的报警（一次报警 = 同一监测点连续超限的一段读数）。",
        detail=monitoring_note if recent is None
        else f"高高报 {recent_high_high} 起；截至 {as_of:%m-%d %H:%M}",
    ))
    cards.append(_open_alarms_card(streets))
    broken = None
    plans_note = None if frame.sees("rpt_alerts_today_plans") else frame.NOT_IN_SCOPE
    try:
        if not plans_note:
            broken = data.load_plan_alerts(streets)
    except data.DataUnavailable:
        pass
    cards.append(dict(
        title="未衔接区级的预案", count=broken, unit="个", page="emergency",
        link_label="查看预案", help="未衔接到区级总体预案的现行预案：沿上级预案编号向上无法到达区级预案。"
        "按街道筛选时只计编制单位链上能确定街道的预案。", detail=plans_note,
    ))
    for column, card in zip(st.columns(len(cards)), cards):
        with column:
            _alert_card(streets=streets, **card)


# --- page -------------------------------------------------------------------------------------


def _briefing_section() -> None:
    """安全生产形势月报: the PDF of the user's current export (the district's, or the street
    office's own), made with each publish (citysafety.share.briefing); the page only offers it."""
    st.subheader("安全生产形势月报")
    try:
        found = data.load_briefing()
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if found is None:
        st.caption("本账号的数据范围不含月报（或本次发布尚未生成），如需请联系区安委办。")
        return
    name, pdf = found
    month = name.removeprefix("briefing_").removesuffix(".pdf")
    st.download_button(
        f"下载月报（{month[:4]}年{int(month[4:])}月，PDF）" if month.isdigit() else "下载月报（PDF）",
        data=pdf, file_name=name, mime="application/pdf", key="overview_briefing",
        icon=":material/picture_as_pdf:", on_click=frame._record_download, args=(name, 0),
    )


def render() -> None:
    frame.header("下城区城市安全总览")
    try:
        streets_df = data.load_streets()
        kpi = data.load_kpi()
        first_event_year, last_event_year = data.load_event_years()
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return

    years = {int(y) for y in kpi["year"].dropna()}
    if first_event_year is not None:
        years |= {first_event_year, last_event_year}
    if not years:
        st.info("数据集市中暂无考核指标和伤亡事件数据，请确认数据管道已成功运行。")
        return
    y_min, y_max = min(years), max(years)

    selected, lo, hi = _sidebar_filters(streets_df, y_min, y_max)
    names = components.street_names(streets_df)
    scope = frame.scope_text(names, selected, "全区")

    # A street office sees its own streets' rows only: the district's targets and indicators are
    # not its numbers, and the page says so rather than "暂无数据" (issue 13).
    district = frame.viewer_streets() is None

    # A leader reads the action plan's verdict first (the target year's two targets), then the
    # trend to it, then the selected year (issue 13); a street office starts on its alerts.
    if not district:
        st.info(
            f"三年行动计划核心指标和2020年目标研判按全区考核，{frame.NOT_IN_SCOPE}；"
            f"本页其余统计均为{scope}的数据。",
            icon=":material/visibility_off:",
        )
    elif kpi.empty:
        st.warning("暂无考核指标数据，请确认数据管道已成功运行。")
    else:
        _headline_section(kpi, data.TARGET_YEAR, verdict=True, streets_active=bool(selected))
        _trend_section(kpi)
        if hi != data.TARGET_YEAR:
            st.divider()
            _headline_section(kpi, hi, verdict=False)
        if hi < data.TARGET_YEAR:
            # Before the target year: where the selected year's pace leads (from it on, the
            # verdict above is the outcome).
            _projection_section(kpi, hi)
    st.divider()
    _alerts_section(selected, scope)
    st.divider()
    _official_section(hi, streets_df)
    st.divider()
    _breakdown_section(streets_df, selected, lo, hi)
    if district and not kpi.empty:
        st.divider()
        _kpi_table_section(kpi)
    st.divider()
    _briefing_section()


if __name__ == "__main__":
    render()
