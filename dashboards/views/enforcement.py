"""执法与信用: enforcement inspections, penalties, the safety blacklist and 安责险 coverage.

* Inspections of 区应急管理局 by result per year or month, and the penalties (万元)
  (``marts.fct_inspections``). An inspection takes the street of its unit from the registry
  (``marts.dim_enterprises``, joined by 统一社会信用代码 in SQL); without a matching unit
  (unlicensed operations, unknown codes) it counts under 未知街道.
* The units on the safety blacklist now (``marts.dim_enterprises``: blacklisted, since, until).
* 安责险覆盖率: the share of active units with current safety-liability insurance by street
  (``marts.dim_enterprises``), and its yearly trend (``marts.kpi_official_indicators``).
* 下月检查建议清单: the backtest of the inspection ranking in plain words
  (``marts.inspection_model_card``: which ranker is published and why, its AUC and the share of
  events in its top 20 %), the listed units of the streets in scope
  (``marts.fct_inspection_priorities``) and what became of the last months' lists
  (``marts.rpt_inspection_list_followup``). Every figure is the mart's; the page selects rows
  and formats. Without these tables (an older warehouse) the section says so in one line.

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

PRIORITY_TEXTS = labels.ENFORCEMENT_PRIORITY_TEXTS
PRIORITY_TABLE = "fct_inspection_priorities"
MODEL_RANKER = "model"  # the ranker column's value for the model (the others are baselines)
OVERALL_FOLD = "overall"  # the card's fold of the test years pooled
FOLLOWUP_MONTHS = 12
# On the page the unit's name leads the list: a table too wide for the page is split into parts
# that keep its first column, and the three reasons never fit beside more (the download keeps
# the order of labels.ENFORCEMENT_PRIORITY_LIST_HEADERS).
LIST_SCREEN_ORDER = ("unit_name", "street_name", "street_rank", "district_rank", "uscc", "risk_pct", "reasons")


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


def _num(value, fmt: str) -> str:
    """A number of the model card formatted ("0.86"); "—" when the mart has none."""
    return frame.MISSING if components.missing(value) else format(float(value), fmt)


def _share_text(value) -> str:
    """A share of the card (0.68) as "68%"; "—" when the mart has none."""
    return frame.MISSING if components.missing(value) else f"{100.0 * float(value):.0f}%"


def _auc_value(row: pd.Series | None, template: str = "auc_interval") -> str:
    """"0.86（95% 区间 0.83–0.89）" from a row of the card (the interval when it has one)."""
    if row is None or components.missing(row["auc"]):
        return frame.MISSING
    if components.missing(row["auc_low"]) or components.missing(row["auc_high"]):
        return _num(row["auc"], ".2f")
    return PRIORITY_TEXTS[template].format(
        auc=_num(row["auc"], ".2f"), low=_num(row["auc_low"], ".2f"), high=_num(row["auc_high"], ".2f"))


def _auc_text(row: pd.Series | None) -> str:
    return PRIORITY_TEXTS["auc"].format(auc=_auc_value(row))


def _one(rows: pd.DataFrame) -> pd.Series | None:
    return None if rows.empty else rows.iloc[0]


def card_summary(card: pd.DataFrame) -> dict[str, object]:
    """What the summary says, selected from the model card (``marts.inspection_model_card``):
    the published ranker's overall row, the model's, the best baseline's (``is_best_baseline``,
    dbt's), the span of the test years and the card's common fields. No figure is computed here."""
    overall = card[card["fold"] == OVERALL_FOLD]
    named = card["published_ranker"].dropna()
    published = str(named.iloc[0]) if not named.empty else None
    best = overall[overall["is_best_baseline"].fillna(False).astype(bool) & overall["auc"].notna()]
    years = card.loc[card["fold"] != OVERALL_FOLD, "test_year"].dropna()
    return {
        "published": published,
        "is_model": published == MODEL_RANKER,
        "row": _one(overall[overall["ranker"] == published]),
        "model": _one(overall[overall["ranker"] == MODEL_RANKER]),
        "baseline": _one(best),
        "years": None if years.empty else components.years_text(int(years.min()), int(years.max())),
        "common": card.iloc[0],
    }


def _ranker_name(row: pd.Series | None, fallback: str | None) -> str:
    if row is not None and not components.missing(row["ranker_zh"]):
        return str(row["ranker_zh"])
    return fallback or frame.MISSING


def _backtest_summary(summary: dict[str, object]) -> None:
    """Which ranker orders the list and how it did in the backtest, in plain words."""
    T = PRIORITY_TEXTS
    row, model, baseline = summary["row"], summary["model"], summary["baseline"]
    common = summary["common"]
    ranker = _ranker_name(row, summary["published"])
    decision = "" if components.missing(common["decision_zh"]) else str(common["decision_zh"]).rstrip("。")
    years = T["years"].format(years=summary["years"]) if summary["years"] else T["no_years"]
    if not summary["is_model"]:
        st.warning(T["baseline_warning"].format(ranker=ranker, decision=decision), icon=":material/warning:")
    if row is None or components.missing(row["auc"]):
        st.markdown(T["summary_no_metrics"].format(ranker=ranker))
    elif summary["is_model"]:
        if baseline is None:
            st.markdown(T["summary_model_only"].format(
                ranker=ranker, years=years, auc=_auc_text(row), top20=_share_text(row["top20_capture"])))
        else:
            st.markdown(T["summary_model"].format(
                ranker=ranker, years=years, auc=_auc_text(row), top20=_share_text(row["top20_capture"]),
                baseline=_ranker_name(baseline, None), baseline_auc=_num(baseline["auc"], ".2f"),
                baseline_top20=_share_text(baseline["top20_capture"])))
    else:
        st.markdown(T["summary_baseline"].format(
            years=years, ranker=ranker, auc=_auc_text(row), top20=_share_text(row["top20_capture"]),
            model=_ranker_name(model, MODEL_RANKER),
            model_auc=_num(None if model is None else model["auc"], ".2f"),
            model_top20=_share_text(None if model is None else model["top20_capture"])))
    if summary["is_model"] and decision:
        st.caption(T["decision"].format(decision=decision))


def card_table(card: pd.DataFrame) -> pd.DataFrame:
    """The card's folds for display: the fold in words, AUC with its interval, captures in %."""
    T = PRIORITY_TEXTS
    table = card.copy()
    table["fold_label"] = table["fold"].map(
        lambda f: T["fold_overall"] if f == OVERALL_FOLD else T["fold_year"].format(fold=f))
    table["published_text"] = table["is_published_ranker"].map(
        lambda p: T["published_yes"] if (not components.missing(p) and bool(p)) else T["published_no"])
    table["auc_text"] = [_auc_value(row, "auc_range") for _, row in table.iterrows()]
    for column, pct in (("top10_capture", "top10_pct"), ("top20_capture", "top20_pct")):
        table[pct] = table[column].map(lambda v: None if components.missing(v) else round(100.0 * float(v), 1))
    for column in ("units", "events"):
        table[column] = table[column].astype("Int64")
    return table


def _card_expander(card: pd.DataFrame, summary: dict[str, object]) -> None:
    T = PRIORITY_TEXTS
    common = summary["common"]
    with st.expander(T["card_expander"]):
        st.caption(T["card_folds"])
        headers = labels.ENFORCEMENT_PRIORITY_CARD_HEADERS
        frame.table(
            card_table(card),
            headers,
            column_config={headers[c]: st.column_config.NumberColumn(format="%.1f")
                           for c in ("top10_pct", "top20_pct")},
            keys=2,
        )
        for key, column in (("card_features", "features_zh"), ("card_outcome", "outcome_zh"),
                            ("card_limits", "known_limits_zh")):
            if not components.missing(common[column]):
                st.markdown(T[key].format(text=common[column]))

        def day(value) -> str:
            return frame.MISSING if components.missing(value) else f"{pd.Timestamp(value):%Y-%m-%d}"

        rows = common["training_rows"]
        st.caption(T["card_window"].format(
            start=day(common["data_window_start"]), end=day(common["data_window_end"]),
            rows=frame.MISSING if components.missing(rows) else f"{int(rows):,}",
            version=frame.MISSING if components.missing(common["model_version"]) else common["model_version"]))


def priority_list_table(listed: pd.DataFrame) -> pd.DataFrame:
    """The listed units for display and download: the score in %, the three reasons in one cell."""
    table = listed.copy()
    table["risk_pct"] = table["risk_score"].map(lambda v: None if components.missing(v) else round(100.0 * float(v), 1))
    table["reasons"] = [
        PRIORITY_TEXTS["reasons_sep"].join(str(r) for r in reasons if not components.missing(r) and str(r)) or None
        for reasons in zip(table["reason_1_zh"], table["reason_2_zh"], table["reason_3_zh"])
    ]
    for column in ("street_rank", "district_rank"):
        table[column] = table[column].astype("Int64")
    return table


def _priority_list(listed: pd.DataFrame, summary: dict[str, object]) -> None:
    T = PRIORITY_TEXTS
    common = summary["common"]
    start = pd.Timestamp(common["scored_for_start"]) if not components.missing(common["scored_for_start"]) else None
    end = pd.Timestamp(common["scored_for_end"]) if not components.missing(common["scored_for_end"]) else None
    st.metric(T["listed"], T["units_value"].format(n=len(listed)), border=False)
    st.caption(T["list_caption"].format(
        start=frame.MISSING if start is None else f"{start:%Y-%m-%d}",
        end=frame.MISSING if end is None else f"{end:%Y-%m-%d}",
        ranker=_ranker_name(summary["row"], summary["published"]),
        share=f"{100.0 * data.INSPECTION_LIST_SHARE:g}%",
    ))
    if not summary["is_model"]:
        st.caption(T["baseline_score_note"])
    if listed.empty:
        st.info(T["no_listed"])
        return
    table = priority_list_table(listed)
    headers = labels.ENFORCEMENT_PRIORITY_LIST_HEADERS
    frame.table(table, {c: headers[c] for c in LIST_SCREEN_ORDER},
                column_config={headers["risk_pct"]: st.column_config.NumberColumn(format="%.1f")})
    frame.download_buttons(
        table, T["list_file"].format(start=frame.MISSING if start is None else f"{start:%Y-%m}"), headers,
        key="enforcement_priorities", sheet_name=T["list_sheet"])


def followup_table(followup: pd.DataFrame) -> pd.DataFrame:
    """The last months' follow-up, latest first: the month in words, the inspected share of the
    listed units (the sums' ratio: ``components.rate_pct``)."""
    table = followup.tail(FOLLOWUP_MONTHS).iloc[::-1].reset_index(drop=True)
    table["month_label"] = table["list_month"].map(_period_label)
    table["inspected_pct"] = [
        components.rate_pct(i, n) for i, n in zip(table["inspected_units"], table["listed_units"])
    ]
    return table


def _followup_section(followup: pd.DataFrame, scope: str) -> None:
    T = PRIORITY_TEXTS
    if followup.empty:
        st.markdown(T["followup_title_none"].format(scope=scope))
        st.info(T["no_followup"])
        return
    table = followup_table(followup)
    last = table.iloc[0]
    st.markdown(T["followup_title"].format(month=last["month_label"], scope=scope))
    st.caption(T["followup_caption"])
    units = T["units_value"]
    c1, c2, c3 = st.columns(3)
    c1.metric(T["followup_listed"], units.format(n=int(last["listed_units"])), border=True)
    c2.metric(T["followup_inspected"], T["followup_inspected_value"].format(
        n=int(last["inspected_units"]), share=components.fmt_pct(last["inspected_pct"])), border=True)
    c3.metric(T["followup_findings"], T["followup_findings_value"].format(n=int(last["findings"])), border=True)
    c4, c5, _ = st.columns(3)
    c4.metric(T["followup_units_with_findings"], units.format(n=int(last["units_with_findings"])), border=True)
    c5.metric(T["followup_units_penalised"], units.format(n=int(last["units_penalised"])), border=True,
              help=T["followup_units_penalised_help"])
    headers = labels.ENFORCEMENT_PRIORITY_FOLLOWUP_HEADERS
    frame.table(table, headers, column_config={headers["inspected_pct"]: st.column_config.NumberColumn(format="%.1f")})


def _priorities_section(selected: list[str], scope: str) -> None:
    st.subheader(PRIORITY_TEXTS["title"].format(scope=scope))
    if not frame.sees(PRIORITY_TABLE):
        st.caption(f":material/lock: {frame.NOT_IN_SCOPE}")
        return
    # No street chosen: the district's rows, or a limited account's own streets (it has no ALL).
    streets = selected or frame.viewer_streets() or []
    try:
        card = data.load_inspection_model_card()
        listed = data.load_inspection_list(streets)
        followup = data.load_inspection_list_followup(streets)
    except data.MartMissing:
        st.info(PRIORITY_TEXTS["missing"], icon=":material/info:")
        return
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if card.empty:
        st.info(PRIORITY_TEXTS["empty"], icon=":material/info:")
        return
    summary = card_summary(card)
    _backtest_summary(summary)
    _card_expander(card, summary)
    _priority_list(listed, summary)
    _followup_section(followup, scope)


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
    st.divider()
    _priorities_section(selected, scope)


if __name__ == "__main__":
    render()
