"""隐患: hidden hazards found by grid workers and their rectification (隐患排查治理).

* Headline counts for the chosen streets and years (hazards counted by the year they were
  found; ``marts.fct_hazards`` grouped in SQL): found, rectified, 隐患整改率, open, open and
  overdue, 重大 hazards and how many are listed for supervision (挂牌督办).
* Open and overdue hazards by street.
* The rectification trend per year (``marts.kpi_official_indicators``: 隐患整改率 and
  重大隐患挂牌督办率, the official indicators) or per month (``marts.fct_hazards``): found vs
  rectified, and the rates against a 100% reference line (the action plan sets no figure).
* The 重大 hazards, those not listed for supervision highlighted.

Filters (sidebar) are kept in the URL: ``?streets=WL,TS&from=2023&to=2024&grain=month``.
"""

from __future__ import annotations


import pandas as pd
import streamlit as st

from citysafety.share import labels
from dashboards import charts, components, data, frame

# --- constants --------------------------------------------------------------------------------

KEY_STREETS = "hazards_streets"
KEY_YEARS = "hazards_years"
KEY_GRAIN = "hazards_grain"
QP_GRAIN = "grain"
GRAIN_MONTH = charts.GRAIN_MONTH

NOT_SUPERVISED_ROW_COLOR = "#FAD4D4"

NOT_SUPERVISED_TEXT = "⚠ 未挂牌督办"
SUPERVISED_TEXT = "已挂牌督办"


# --- small helpers ----------------------------------------------------------------------------


def street_table(by_street: pd.DataFrame, streets_df: pd.DataFrame, selected: list[str]) -> pd.DataFrame:
    """One row per street in scope (selected, or every street; the unknown street only when it
    has hazards), zeros where none were found, in the district's street order."""
    names = components.street_names(streets_df)
    present = set(by_street["street_code"].astype(str))
    codes = selected or [c for c in names if c != "UNKNOWN" or c in present]
    counts = [c for c in labels.HAZARDS_STREET_HEADERS if c not in ("street_name", "rate_pct")] + ["major_not_supervised_open"]
    table = (
        by_street.set_index("street_code")[counts]
        .reindex(codes, fill_value=0)
        .fillna(0)
        .astype("int64")
        .reset_index(names="street_code")
    )
    table.insert(1, "street_name", table["street_code"].map(lambda c: names.get(c, c)))
    table["rate_pct"] = [components.rate_pct(r, f) for r, f in zip(table["rectified"], table["found"])]
    return table


def trend_table(trend: pd.DataFrame, grain: str, lo: int, hi: int) -> pd.DataFrame:
    """Every period of the chosen years (months up to the last month with hazards), zeros where
    none were found; rates in percent: the published numerator over its denominator."""
    if grain == GRAIN_MONTH:
        last = trend["period"].max() if not trend.empty else f"{lo}-01"
        months = pd.period_range(f"{lo}-01", f"{hi}-12", freq="M").strftime("%Y-%m")
        periods = [m for m in months if m <= last]
        table = trend.set_index("period").reindex(periods).reset_index(names="period")
        for column in ("found", "rectified", "major", "major_supervised"):
            table[column] = table[column].fillna(0).astype("int64")
        table["rate_pct"] = [components.rate_pct(r, f) for r, f in zip(table["rectified"], table["found"])]
        table["supervised_pct"] = [components.rate_pct(s, m) for s, m in zip(table["major_supervised"], table["major"])]
        table["period_label"] = table["period"].map(lambda p: f"{p[:4]}年{int(p[5:])}月")
        return table
    table = trend.copy()
    table["period"] = table["year"].astype(int).astype(str)
    for column in ("found", "rectified", "major", "major_supervised"):
        table[column] = table[column].fillna(0).astype("int64")
    table["rate_pct"] = [components.rate_pct(r, f) for r, f in zip(table["rectified"], table["found"])]
    table["supervised_pct"] = [components.rate_pct(s, m) for s, m in zip(table["major_supervised"], table["major"])]
    table["period_label"] = table["period"] + "年"
    return table


# --- filters (sidebar + URL) ------------------------------------------------------------------


def _sidebar_filters(streets_df: pd.DataFrame, y_min: int, y_max: int) -> tuple[list[str], int, int, str]:
    def _reset() -> None:
        st.session_state[KEY_STREETS] = []
        st.session_state[KEY_YEARS] = (y_min, y_max)
        st.session_state[KEY_GRAIN] = frame.ALL

    with frame.sidebar(reset=_reset):
        selected = frame.street_filter(
            streets_df, key=KEY_STREETS, help="不选即为全部街道。作用于本页全部统计。"
        )
        lo, hi = frame.period_filter(
            (y_min, y_max),
            key=KEY_YEARS,
            label="发现年份",
            help="按隐患的发现日期统计；整改情况为截至数据发布时的状态。",
        )
        grain = frame.select_filter(
            {GRAIN_MONTH: "按月"},
            key=KEY_GRAIN,
            param=QP_GRAIN,
            label="整改趋势",
            all_label="按年",
            help="按年时采用官方指标；按月由隐患明细汇总。",
        )
    return selected, int(lo), int(hi), grain


# --- sections ---------------------------------------------------------------------------------


def _summary_section(table: pd.DataFrame, scope: str, period: str) -> None:
    st.subheader(f"隐患排查治理概况（{period}，{scope}）")
    total = {c: int(table[c].sum()) for c in table.columns if table[c].dtype.kind == "i"}
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("排查隐患", f"{total['found']:,} 项", border=True, help="所选期间内发现的隐患。")
    c2.metric("已整改", f"{total['rectified']:,} 项", border=True,
              help="上述隐患中截至数据发布时已整改（有整改日期，或状态为已整改/已销号）的数量。")
    c3.metric("隐患整改率", components.fmt_pct(components.rate_pct(total["rectified"], total["found"])), border=True,
              help="已整改 ÷ 排查隐患。")
    c4.metric("未整改", f"{total['open']:,} 项", border=True)
    c5, c6, c7, c8 = st.columns(4)
    c5.metric("逾期未整改", f"{total['open_overdue']:,} 项", border=True,
              help="已过整改期限仍未整改的隐患。")
    c6.metric("重大隐患", f"{total['major']:,} 项", border=True)
    # All 重大 hazards of the period against the unlisted ones (and 总览's open unlisted ones):
    # each with its definition, the contract's text (issue 13).
    components.show_definition("rpt_hazards_by_month", "major", c6)
    c7.metric("重大隐患挂牌督办率", components.fmt_pct(components.rate_pct(total["major_supervised"], total["major"])), border=True,
              help="已挂牌督办的重大隐患 ÷ 重大隐患。按规定重大隐患须全部挂牌督办。")
    c8.metric("未挂牌督办的重大隐患", f"{total['major_not_supervised']:,} 项", border=True)
    components.show_definition("rpt_hazards_by_month", "major_not_supervised", c8)
    if total["open_overdue"]:
        st.warning(f"有 {total['open_overdue']} 项隐患已过整改期限仍未整改。", icon=":material/schedule:")
    if total["major_not_supervised"]:
        st.error(
            f"有 {total['major_not_supervised']} 项重大隐患未挂牌督办"
            f"（其中 {total['major_not_supervised_open']} 项尚未整改），见下方重大隐患清单。",
            icon=":material/priority_high:",
        )


def _street_section(table: pd.DataFrame, subtitle: str) -> None:
    st.subheader("分街道未整改、逾期与重大隐患")
    st.caption("未整改：截至数据发布时仍未整改；逾期：已过整改期限（逾期后整改的隐患另列）。按规定重大隐患须全部挂牌督办。")
    left, right = st.columns(2)
    with left:
        st.altair_chart(charts.hazards_open_by_street(table, subtitle), width="stretch")
    with right:
        st.altair_chart(charts.hazards_major_by_street(table, subtitle), width="stretch")
    frame.table(
        table,
        labels.HAZARDS_STREET_HEADERS,
        column_config={labels.HAZARDS_STREET_HEADERS["rate_pct"]: st.column_config.NumberColumn(format="%.1f")},
    )
    frame.download_buttons(table, "隐患_分街道统计", labels.HAZARDS_STREET_HEADERS, key="hazards_by_street",
                           sheet_name="分街道统计")


def _trend_section(selected: list[str], lo: int, hi: int, grain: str, scope: str) -> None:
    grain_text = "按月" if grain == GRAIN_MONTH else "按年"
    st.subheader(f"整改趋势（{grain_text}）")
    try:
        if grain == GRAIN_MONTH:
            raw = data.load_hazards_monthly(lo, hi, selected)
        else:
            raw = data.load_hazard_kpi(lo, hi, selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    source = "隐患明细按发现月份汇总" if grain == GRAIN_MONTH else "官方指标"
    st.caption(
        f"按发现时间统计：已整改 = 当期发现的隐患中截至目前已整改的数量，整改率 = 已整改 ÷ 排查隐患（{source}）。"
        "三年行动计划未规定整改率目标，图中红色虚线为100%参考线。"
    )
    if raw.empty:
        st.info("所选街道和期间内没有隐患指标数据。")
        return
    trend = trend_table(raw, grain, lo, hi)
    subtitle = f"{components.years_text(lo, hi)}，{scope}"
    left, right = st.columns(2)
    with left:
        st.altair_chart(charts.hazards_counts(trend, grain, subtitle), width="stretch")
    with right:
        st.altair_chart(charts.hazards_rates(trend, grain, subtitle), width="stretch")
    frame.table(
        trend,
        labels.HAZARDS_TREND_HEADERS,
        column_config={
            labels.HAZARDS_TREND_HEADERS["rate_pct"]: st.column_config.NumberColumn(format="%.1f"),
            labels.HAZARDS_TREND_HEADERS["supervised_pct"]: st.column_config.NumberColumn(format="%.1f"),
        },
    )
    frame.download_buttons(trend, f"隐患_整改趋势_{grain_text}", labels.HAZARDS_TREND_HEADERS, key="hazards_trend",
                           sheet_name="整改趋势")


def _major_section(selected: list[str], lo: int, hi: int, scope: str, period: str) -> None:
    st.subheader(f"重大隐患清单（{period}，{scope}）")
    try:
        majors = data.load_major_hazards(lo, hi, selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if majors.empty:
        st.info("所选街道和期间内没有重大隐患。")
        return
    table = majors.copy()
    table["major_not_supervised"] = table["major_not_supervised"].fillna(False).astype(bool)
    not_supervised = int(table["major_not_supervised"].sum())
    st.caption(
        f"共 {len(table)} 项重大隐患，其中 {not_supervised} 项未挂牌督办（按规定重大隐患须挂牌督办），"
        "以红色底色标出并排在最前。"
    )
    table["check"] = table["major_not_supervised"].map(lambda f: NOT_SUPERVISED_TEXT if f else SUPERVISED_TEXT)
    table["supervised_text"] = table["supervised"].map(lambda s: "未填写" if components.missing(s) else ("是" if s else "否"))
    table["overdue_text"] = table["is_overdue"].map(lambda s: "是" if (not components.missing(s) and bool(s)) else "否")
    for column in ("found_on", "deadline", "rectified_on"):
        table[column] = pd.to_datetime(table[column]).dt.date
    table["days_to_rectify"] = pd.to_numeric(table["days_to_rectify"], errors="coerce").astype("Int64")
    shown = table[list(labels.HAZARDS_MAJOR_HEADERS)].rename(columns=labels.HAZARDS_MAJOR_HEADERS)
    mask = table["major_not_supervised"].to_numpy()

    def _highlight(row: pd.Series) -> str:
        return f"background-color: {NOT_SUPERVISED_ROW_COLOR}" if mask[row.name] else ""

    frame.table(
        shown,
        row_style=_highlight,
        column_config={
            labels.HAZARDS_MAJOR_HEADERS[c]: st.column_config.DateColumn(format="YYYY-MM-DD")
            for c in ("found_on", "deadline", "rectified_on")
        },
    )
    frame.download_buttons(table, "隐患_重大隐患清单", labels.HAZARDS_MAJOR_HEADERS, key="hazards_major",
                           sheet_name="重大隐患清单")


# --- page -------------------------------------------------------------------------------------


def render() -> None:
    frame.header("隐患排查治理", "网格员排查发现的安全隐患：整改进度、逾期情况与重大隐患挂牌督办。")
    try:
        streets_df = data.load_streets()
        first, last = data.load_hazard_years()
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if first is None:
        st.info("数据集市中暂无隐患数据，请确认数据管道已成功运行。")
        return

    selected, lo, hi, grain = _sidebar_filters(streets_df, first, last)
    names = components.street_names(streets_df)
    scope = frame.scope_text(names, selected)
    period = components.years_text(lo, hi)

    try:
        by_street = data.load_hazards_by_street(lo, hi, selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    table = street_table(by_street, streets_df, selected)
    _summary_section(table, scope, period)
    st.divider()
    _street_section(table, f"{period}发现，{scope}")
    st.divider()
    _trend_section(selected, lo, hi, grain, scope)
    st.divider()
    _major_section(selected, lo, hi, scope, period)


if __name__ == "__main__":
    render()
