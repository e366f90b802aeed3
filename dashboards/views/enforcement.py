"""执法与信用: enforcement inspections, penalties, the safety blacklist and 安责险 coverage.

* Inspections of 区应急管理局 by result per year or month, and the penalties (万元)
  (``marts.fct_inspections``). An inspection takes the street of its unit from the registry
  (``marts.dim_enterprises``, joined by 统一社会信用代码 in SQL); without a matching unit
  (unlicensed operations, unknown codes) it counts under 未知街道.
* The units on the safety blacklist now (``marts.dim_enterprises``: blacklisted, since, until).
* 安责险覆盖率: the share of active units with current safety-liability insurance by street
  (``marts.dim_enterprises``), and its yearly trend (``marts.kpi_official_indicators``).

Filters (sidebar) are kept in the URL: ``?streets=WL,TS&from=2023&to=2024&grain=month``.
The blacklist and the coverage by street are the registry's current state (no period).
"""

from __future__ import annotations


import pandas as pd
import streamlit as st

from citysafety.share import labels
from dashboards import charts, components, data, frame

# --- constants --------------------------------------------------------------------------------

KEY_STREETS = "enforcement_streets"
KEY_YEARS = "enforcement_years"
KEY_GRAIN = "enforcement_grain"
QP_GRAIN = "grain"
GRAIN_MONTH = charts.GRAIN_MONTH

RESULTS = list(data.INSPECTION_RESULTS)  # 合格, 责令整改, 行政处罚, 停产整顿
DISTRICT = frame.DISTRICT


# --- small helpers ----------------------------------------------------------------------------


def _period_label(period: str) -> str:
    return f"{period[:4]}年{int(period[5:])}月" if len(period) == 7 else f"{period}年"


def result_order(results: pd.Series | list[str]) -> list[str]:
    """The four results of the contract first, then any other value seen."""
    seen = set(results)
    return RESULTS + sorted(seen - set(RESULTS))


def trend_table(inspections: pd.DataFrame, grain: str, lo: int, hi: int) -> pd.DataFrame:
    """One row per period (every year of the period; months up to the last month with
    inspections), the count per result as columns, penalties in 万元; zeros where none."""
    if grain == GRAIN_MONTH:
        last = inspections["period"].max() if not inspections.empty else f"{lo}-01"
        months = pd.period_range(f"{lo}-01", f"{hi}-12", freq="M").strftime("%Y-%m")
        periods = [m for m in months if m <= last]
    else:
        periods = [str(y) for y in range(lo, hi + 1)]
    results = result_order(inspections["result"])
    by_result = inspections.pivot_table(
        index="period", columns="result", values="inspections", aggfunc="sum", fill_value=0
    ).reindex(index=periods, columns=results, fill_value=0)
    sums = inspections.groupby("period")[["inspections", "findings", "penalised", "penalty_10k_yuan", "blacklistings"]].sum()
    sums = sums.reindex(periods).fillna(0)
    table = pd.concat([sums, by_result], axis=1).reset_index(names="period")
    table.columns.name = None
    for column in ["inspections", "findings", "penalised", "blacklistings", *results]:
        table[column] = table[column].astype("int64")
    table["penalty_10k_yuan"] = table["penalty_10k_yuan"].astype(float).round(2)
    table["period_label"] = table["period"].map(_period_label)
    return table


def street_table(inspections: pd.DataFrame, streets_df: pd.DataFrame, selected: list[str]) -> pd.DataFrame:
    """One row per street in scope (the unknown street only when it has inspections)."""
    names = components.street_names(streets_df)
    present = set(inspections["street_code"].astype(str))
    codes = selected or [c for c in names if c != "UNKNOWN" or c in present]
    results = result_order(inspections["result"])
    by_result = inspections.pivot_table(
        index="street_code", columns="result", values="inspections", aggfunc="sum", fill_value=0
    ).reindex(index=codes, columns=results, fill_value=0)
    sums = inspections.groupby("street_code")[["inspections", "findings", "penalised", "penalty_10k_yuan", "blacklistings"]].sum()
    sums = sums.reindex(codes).fillna(0)
    table = pd.concat([sums, by_result], axis=1).reset_index(names="street_code")
    table.columns.name = None
    for column in ["inspections", "findings", "penalised", "blacklistings", *results]:
        table[column] = table[column].astype("int64")
    table["penalty_10k_yuan"] = table["penalty_10k_yuan"].astype(float).round(2)
    table.insert(1, "street_name", table["street_code"].map(lambda c: names.get(c, c)))
    return table


# --- filters (sidebar + URL) ------------------------------------------------------------------


def _sidebar_filters(streets_df: pd.DataFrame, y_min: int, y_max: int) -> tuple[list[str], int, int, str]:
    def _reset() -> None:
        st.session_state[KEY_STREETS] = []
        st.session_state[KEY_YEARS] = (y_min, y_max)
        st.session_state[KEY_GRAIN] = frame.ALL

    with frame.sidebar(reset=_reset):
        selected = frame.street_filter(
            streets_df,
            key=KEY_STREETS,
            help="不选即为全部街道。执法检查按被检查单位在企业名录中的街道归属；名录中查不到的计入未知街道。",
        )
        lo, hi = frame.period_filter(
            (y_min, y_max),
            key=KEY_YEARS,
            label="检查年份",
            help="作用于执法检查、罚款和安责险覆盖率趋势；黑名单和分街道安责险为当前状态。",
        )
        grain = frame.select_filter(
            {GRAIN_MONTH: "按月"},
            key=KEY_GRAIN,
            param=QP_GRAIN,
            label="执法检查趋势",
            all_label="按年",
        )
    return selected, int(lo), int(hi), grain


# --- sections ---------------------------------------------------------------------------------


def _summary_section(inspections: pd.DataFrame, scope: str, period: str) -> None:
    st.subheader(f"执法检查概况（{period}，{scope}）")
    by_result = inspections.groupby("result")["inspections"].sum()
    total = int(inspections["inspections"].sum())
    cols = st.columns(5)
    cols[0].metric("执法检查", f"{total:,} 次", border=True)
    for col, result in zip(cols[1:], RESULTS):
        col.metric(result, f"{int(by_result.get(result, 0)):,} 次", border=True)
    c1, c2, c3, c4, _ = st.columns(5)
    c1.metric("发现问题", f"{int(inspections['findings'].sum()):,} 项", border=True)
    c2.metric("罚款金额", f"{float(inspections['penalty_10k_yuan'].sum()):,.1f} 万元", border=True,
              help="行政处罚罚款合计（最新版本，含听证后减免）。")
    c3.metric("罚款案件", f"{int(inspections['penalised'].sum()):,} 起", border=True)
    c4.metric("检查中列入黑名单", f"{int(inspections['blacklistings'].sum()):,} 次", border=True,
              help="在所选期间的执法检查中被列入安全生产黑名单的次数（复议撤销的不计）。")
    others = sorted(set(inspections["result"]) - set(RESULTS))
    if others:
        st.caption("另有结果为" + "、".join(others) + "的检查，计入合计。")
    unknown = int(inspections.loc[inspections["street_code"] == "UNKNOWN", "inspections"].sum())
    note = "执法记录按被检查单位的统一社会信用代码匹配企业名录确定所属街道"
    if unknown:
        note += f"；其中 {unknown} 次检查的单位在名录中查不到（含无证经营），计入未知街道"
    st.caption(note + "。")


def _trend_section(inspections: pd.DataFrame, grain: str, lo: int, hi: int, subtitle: str) -> None:
    grain_text = "按月" if grain == GRAIN_MONTH else "按年"
    st.subheader(f"执法检查与罚款趋势（{grain_text}）")
    trend = trend_table(inspections, grain, lo, hi)
    results = result_order(inspections["result"])
    left, right = st.columns(2)
    with left:
        st.altair_chart(charts.enforcement_results(trend, results, grain, subtitle), width="stretch")
    with right:
        st.altair_chart(charts.enforcement_penalties(trend, grain, subtitle), width="stretch")
    headers = {**labels.ENFORCEMENT_TREND_HEADERS_HEAD, **{r: f"{r}（次）" for r in results},
               **labels.ENFORCEMENT_TREND_HEADERS_TAIL}
    frame.table(
        trend,
        headers,
        column_config={"罚款金额（万元）": st.column_config.NumberColumn(format="%.2f")},
    )
    frame.download_buttons(trend, f"执法_检查趋势_{grain_text}", headers, key="enforcement_trend",
                           sheet_name="执法检查趋势")


def _street_section(inspections: pd.DataFrame, streets_df: pd.DataFrame, selected: list[str], subtitle: str) -> None:
    st.subheader("分街道执法情况")
    st.caption(f"{subtitle}；按被检查单位所属街道统计。")
    table = street_table(inspections, streets_df, selected)
    results = result_order(inspections["result"])
    headers = {**labels.ENFORCEMENT_STREET_HEADERS_HEAD, **{r: f"{r}（次）" for r in results},
               **labels.ENFORCEMENT_TREND_HEADERS_TAIL}
    frame.table(
        table,
        headers,
        column_config={"罚款金额（万元）": st.column_config.NumberColumn(format="%.2f")},
    )
    frame.download_buttons(table, "执法_分街道统计", headers, key="enforcement_by_street",
                           sheet_name="分街道执法")


def _blacklist_section(selected: list[str], scope: str) -> None:
    st.subheader(f"安全生产黑名单（当前，{scope}）")
    try:
        blacklist = data.load_blacklist(selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    active = int(blacklist["is_active"].fillna(False).astype(bool).sum()) if not blacklist.empty else 0
    st.metric("黑名单单位", f"{len(blacklist)} 家", border=False)
    st.caption(
        f"执法检查中被列入且尚在有效期内（列入后3年）的单位，其中 {active} 家仍在册经营；"
        "复议撤销或期满的不再显示。只能匹配有有效统一社会信用代码的单位。不随期间筛选变化。"
    )
    if blacklist.empty:
        st.success("所选街道当前没有列入黑名单的单位。", icon=":material/check_circle:")
        return
    table = blacklist.copy()
    table["status_text"] = table["is_active"].map(lambda a: "在册" if (not components.missing(a) and bool(a)) else "已关闭/注销")
    for column in ("blacklisted_since", "blacklisted_until"):
        table[column] = pd.to_datetime(table[column]).dt.date
    frame.table(
        table,
        labels.ENFORCEMENT_BLACKLIST_HEADERS,
        column_config={
            "列入日期": st.column_config.DateColumn(format="YYYY-MM-DD"),
            "期满日期": st.column_config.DateColumn(format="YYYY-MM-DD"),
        },
    )
    frame.download_buttons(table, "执法_安全生产黑名单", labels.ENFORCEMENT_BLACKLIST_HEADERS, key="enforcement_blacklist",
                           sheet_name="黑名单")


def _insurance_section(streets_df: pd.DataFrame, selected: list[str], lo: int, hi: int, scope: str) -> None:
    st.subheader(f"安责险覆盖率（{scope}）")
    try:
        by_street = data.load_insurance_by_street(selected)
        trend = data.load_insurance_trend(lo, hi, selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    names = components.street_names(streets_df)
    present = set(by_street["street_code"].astype(str))
    codes = selected or [c for c in names if c != "UNKNOWN" or c in present]
    coverage = by_street.set_index("street_code").reindex(codes).reset_index(names="street_code")
    coverage["street_name"] = coverage["street_code"].map(lambda c: names.get(c, c))
    coverage["units"] = coverage["units"].fillna(0).astype("int64")
    coverage["insured"] = coverage["insured"].fillna(0).astype("int64")
    coverage["coverage_pct"] = [components.rate_pct(i, u) for i, u in zip(coverage["insured"], coverage["units"])]
    coverage["snapshot_date"] = pd.to_datetime(coverage["snapshot_date"]).dt.date
    units, insured = int(coverage["units"].sum()), int(coverage["insured"].sum())
    snapshot = coverage["snapshot_date"].dropna()
    when = f"（名录日期 {snapshot.max():%Y-%m-%d}）" if not snapshot.empty else ""
    st.metric(
        "安责险覆盖率（当前）",
        components.fmt_pct(components.rate_pct(insured, units)),
        border=False,
        help="在册单位中安责险在保（已投保且未过期）的比例。",
    )
    st.caption(
        f"当前在册单位 {units:,} 家，其中安责险在保 {insured:,} 家{when}。"
        "行动计划未规定覆盖率目标，图中红色虚线为100%参考线。"
    )
    left, right = st.columns(2)
    with left:
        st.altair_chart(charts.enforcement_insurance_by_street(coverage, f"当前在册单位，{scope}"), width="stretch")
    with right:
        trend = trend.copy()
        trend["coverage_pct"] = trend["insurance_coverage"].map(
            lambda r: None if components.missing(r) else round(100.0 * float(r), 1)
        )
        # The district line only for a viewer who sees the district (a street office: its streets).
        district = frame.viewer_streets() is None
        series = ([DISTRICT] if district else []) + [names.get(c, c) for c in selected]
        shown = trend[trend["coverage_pct"].notna()]
        whose = "全区与所选街道" if district else scope
        if shown.empty:
            st.info("所选期间没有安责险覆盖率指标。")
        else:
            st.altair_chart(
                charts.enforcement_insurance_trend(
                    shown, series, f"{components.years_text(lo, hi)}，各年末企业名录；{whose}"
                ),
                width="stretch",
            )
    frame.table(
        coverage,
        labels.ENFORCEMENT_COVERAGE_HEADERS,
        column_config={
            "安责险覆盖率（%）": st.column_config.NumberColumn(format="%.1f"),
            "名录日期": st.column_config.DateColumn(format="YYYY-MM-DD"),
        },
    )
    frame.download_buttons(coverage, "执法_安责险覆盖率", labels.ENFORCEMENT_COVERAGE_HEADERS, key="enforcement_insurance",
                           sheet_name="安责险覆盖率")


# --- page -------------------------------------------------------------------------------------


def render() -> None:
    frame.header("执法与信用", "区应急管理局执法检查、行政处罚、安全生产黑名单与安全生产责任保险（安责险）覆盖情况。")
    try:
        streets_df = data.load_streets()
        first, last = data.load_inspection_years()
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if first is None:
        st.info("数据集市中暂无执法检查数据，请确认数据管道已成功运行。")
        return

    selected, lo, hi, grain = _sidebar_filters(streets_df, first, last)
    names = components.street_names(streets_df)
    scope = frame.scope_text(names, selected)
    period = components.years_text(lo, hi)

    try:
        inspections = data.load_inspections(lo, hi, selected, grain)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    subtitle = f"{period}，{scope}"
    _summary_section(inspections, scope, period)
    st.divider()
    _trend_section(inspections, grain, lo, hi, subtitle)
    st.divider()
    _street_section(inspections, streets_df, selected, subtitle)
    st.divider()
    _blacklist_section(selected, scope)
    st.divider()
    _insurance_section(streets_df, selected, lo, hi, scope)


if __name__ == "__main__":
    render()
