"""应急: are the emergency plans linked up to the district plan, drilled, and resourced?

* The plan linkage tree 区级 → 部门/街道 → 社区 → 企业 (``marts.fct_emergency_plans``): a graph
  (graphviz, drawn in the browser by Streamlit's bundled renderer, no CDN) and the full list as an
  indented table ordered by chain. Plans that do not reach the district plan stand out in red
  with their link issue.
* Drill coverage: the share of current plans drilled in the last 12 months, overall and per tier
  (requirement: every plan drilled at least once a year, drawn as a line); the drills of the
  selected years (``marts.fct_drills``) and the official 预案演练覆盖率 of the last selected year
  (``marts.kpi_official_indicators``, district).
* Emergency resources per street (``marts.agg_resources_by_street``): chart and table.

A plan's street is the mart's ``street_code`` (decided in dbt: the nearest plan on its chain
compiled by a street's office or communities); district and department plans are ALL and, like
plans whose street cannot be told (UNKNOWN), count only in the district-wide view. With a street filter, the
plans above the selected streets' plans are still drawn (greyed) so that the chain stays visible.

Filters (sidebar) are kept in the URL: ``?streets=WL,TS&from=2023&to=2024``.
"""

from __future__ import annotations


import pandas as pd
import streamlit as st

from citysafety.share import labels
from dashboards import charts, components, data, frame

# --- constants --------------------------------------------------------------------------------

KEY_STREETS = "emergency_streets"
KEY_YEARS = "emergency_years"

TIERS = charts.EMERGENCY_TIERS
RESOURCE_TYPES = charts.EMERGENCY_RESOURCE_TYPES
NO_STREET = "（全区/部门）"
LINKED, NOT_LINKED = "✅ 已衔接", "❌ 未衔接"


# --- small helpers ----------------------------------------------------------------------------


def plans_in_scope(plans: pd.DataFrame, streets: list[str]) -> pd.DataFrame:
    """The plans counted for the selected streets (every plan when none is selected)."""
    if not streets:
        return plans
    return plans[plans["street_code"].isin(streets)]


def plans_for_tree(plans: pd.DataFrame, streets: list[str]) -> pd.DataFrame:
    """Plans in scope plus the plans above them on their chains (``in_scope`` false), so that the
    tree stays connected under a street filter."""
    scope = plans_in_scope(plans, streets)
    wanted = set(scope["plan_id"])
    for chain in scope["chain"]:
        wanted.update(components.plan_chain(chain))
    tree = plans[plans["plan_id"].isin(wanted)].copy()
    tree["in_scope"] = tree["plan_id"].isin(set(scope["plan_id"]))
    return tree


def tree_table(tree: pd.DataFrame) -> pd.DataFrame:
    """The plans as an indented list: linked plans in chain order, then the broken chains."""
    table = tree.copy()
    table["reaches_district_plan"] = table["reaches_district_plan"].fillna(False).astype(bool)
    levels = []
    for row in table.itertuples():
        if row.reaches_district_plan and not components.missing(row.depth):
            levels.append(int(row.depth))
        else:
            levels.append(max(len(components.plan_chain(row.chain)) - 1, 0))
    table["level"] = levels
    table["tree_label"] = [
        ("　" * level + "└ " if level else "") + f"{name if not components.missing(name) else pid}"
        for level, name, pid in zip(table["level"], table["plan_name"], table["plan_id"])
    ]
    table["link_status"] = table["reaches_district_plan"].map({True: LINKED, False: NOT_LINKED})
    table["street_label"] = table["street_name"].where(table["street_name"].notna(), NO_STREET)
    table["scope_note"] = table["in_scope"].map(
        {True: "", False: "上级预案（仅显示衔接关系，不计入统计）"}
    )
    table["sort_broken"] = ~table["reaches_district_plan"]
    table = table.sort_values(["sort_broken", "chain", "plan_id"], kind="stable")
    return table.drop(columns="sort_broken").reset_index(drop=True)


def tier_coverage(by_tier: pd.DataFrame) -> pd.DataFrame:
    """Plans, plans drilled in the last 12 months and plans not linked, per tier (every tier,
    zeros where none): the counts of ``marts.rpt_emergency_plans_by_tier``."""
    order = TIERS + sorted(set(by_tier["tier"]) - set(TIERS))
    counts = ["plans", "drilled", "not_linked"]
    grouped = by_tier.set_index("tier")[counts].reindex(order, fill_value=0).reset_index(names="tier")
    grouped[counts] = grouped[counts].fillna(0).astype("int64")
    grouped["coverage_pct"] = [components.rate_pct(d, p) for d, p in zip(grouped["drilled"], grouped["plans"])]
    return grouped


# --- filters (sidebar + URL) ------------------------------------------------------------------


def _sidebar_filters(
    streets_df: pd.DataFrame, years: tuple[int, int] | None
) -> tuple[list[str], tuple[int, int] | None]:
    def _reset() -> None:
        st.session_state[KEY_STREETS] = []
        if years is not None:
            st.session_state[KEY_YEARS] = years

    with frame.sidebar(reset=_reset):
        selected = frame.street_filter(
            streets_df,
            key=KEY_STREETS,
            help="按预案编制单位所在街道筛选（社区、企业预案随其上级街道预案）。"
            "区级和部门预案不属于任何街道，只在全区视图中计入统计。",
        )
        period = None
        if years is not None:
            period = frame.period_filter(
                years,
                key=KEY_YEARS,
                label="演练年度",
                help="演练次数统计的年度范围；官方演练覆盖率显示所选最后一年。",
            )
    return selected, period


# --- sections ---------------------------------------------------------------------------------


def _summary_section(scope_plans: pd.DataFrame, by_tier: pd.DataFrame, scope: str) -> None:
    # the counts: marts.rpt_emergency_plans_by_tier summed over the tiers of the scope
    total, drilled = int(by_tier["plans"].sum()), int(by_tier["drilled"].sum())
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(f"现行预案（{scope}）", f"{total} 个", border=True)
    c2.metric(
        "已衔接到区级预案",
        f"{int(by_tier['reaching_district'].sum())} 个",
        help="沿上级预案编号逐级向上，最终到达区级总体预案。",
        border=True,
    )
    c3.metric("未衔接到区级预案", f"{int(by_tier['not_linked'].sum())} 个", border=True)
    c4.metric(
        "近12个月演练覆盖率",
        components.pct(drilled, total),
        help="要求100%；口径见下方说明。",
        border=True,
    )
    # Two drill rates could be confused (this one and the official yearly one): each with its
    # definition, the contract's text (issue 13).
    components.show_definition("rpt_emergency_plans_by_tier", "drill_coverage_12_months", c4)
    broken = scope_plans[~scope_plans["reaches_district_plan"].fillna(False).astype(bool)]
    if not broken.empty:
        items = "；".join(
            f"{r.plan_name}（{r.plan_id}，{r.link_issue if not components.missing(r.link_issue) else '未衔接'}）"
            for r in broken.itertuples()
        )
        st.error(f"以下预案未衔接到区级总体预案：{items}", icon=":material/link_off:")


def _tree_section(plans: pd.DataFrame, selected: list[str], scope: str) -> None:
    st.subheader(f"预案衔接关系（{scope}）")
    st.caption(
        "政府预案与部门、街道、社区、企业预案应逐级衔接：区级 → 部门/街道 → 社区 → 企业。"
        "红色为未衔接到区级预案的预案及原因；橙色底色为近12个月未演练的预案"
        + ("；灰色为所选街道预案的上级预案（仅显示衔接关系）。" if selected else "。")
    )
    tree = plans_for_tree(plans, selected)
    if tree.empty:
        st.info("所选范围内没有现行预案。")
        return
    linked_dot = charts.emergency_plan_graph(tree, collapse_communities=not selected)
    broken_dot = charts.emergency_broken_graph(tree)
    left, right = st.columns([3, 2]) if broken_dot else (st.container(), None)
    with left:
        st.markdown("**已衔接到区级预案的预案体系**")
        if linked_dot:
            st.graphviz_chart(linked_dot, width="stretch")  # scaled to the column: long plan names overflowed
        else:
            st.info("所选街道没有衔接到区级预案的预案。")
        if not selected:
            st.caption("全区视图中社区、企业预案按上级街道或部门预案合并计数；选择街道可展开到社区。")
    if right is not None:
        with right:
            st.markdown(":red[**未衔接到区级预案的预案（红色）**]")
            st.graphviz_chart(broken_dot, width="stretch")
            st.caption("虚线框为预案所写的上级预案编号，但该预案不在现行预案清单中。")

    table = tree_table(tree)

    def _red(row: pd.Series) -> str:
        if row["衔接状态"] == NOT_LINKED:
            return f"color: {charts.TARGET_COLOR}; font-weight: 600"
        if row["说明"] and row["说明"] != frame.MISSING:
            return f"color: {charts.EMERGENCY_CONTEXT_COLOR}"
        return ""

    shown = table[list(labels.EMERGENCY_PLAN_HEADERS)].rename(columns=labels.EMERGENCY_PLAN_HEADERS)
    with st.expander("全部预案清单（按衔接关系缩进）", expanded=bool(selected)):
        frame.table(
            shown,
            keys=2,  # the indented plan and its number in every part
            row_style=_red,
            column_config={
                "最近演练日期": st.column_config.DateColumn(format="YYYY-MM-DD"),
                "近12个月演练（次）": st.column_config.NumberColumn(format="%d"),
            },
        )
    frame.download_buttons(
        table, "应急_预案衔接", labels.EMERGENCY_PLAN_HEADERS, key="emergency_plans", sheet_name="预案衔接"
    )


def _drill_section(
    by_tier: pd.DataFrame,
    selected: list[str],
    period: tuple[int, int] | None,
    scope: str,
) -> None:
    st.subheader(f"预案演练（{scope}）")
    st.caption(
        "演练覆盖率：近12个月内至少演练过一次的现行预案占比（截至数据管道的统计日）；"
        "演练次数按所选年度统计，按所演练预案的层级和街道归类。"
    )
    tiers = tier_coverage(by_tier)
    drills = None
    if period is not None:
        lo, hi = period
        period_text = f"{lo}年" if lo == hi else f"{lo}–{hi}年"
        try:
            drills = data.load_drills(lo, hi, selected)
            by_year = data.load_drills_by_year(lo, hi, selected)
            indicators = data.load_official_indicators()
        except data.DataUnavailable as exc:
            components.show_unavailable(exc)
            return
        official = indicators.loc[indicators["year"] == hi, "drill_coverage"]
        # the counts: marts.rpt_emergency_drills_by_year summed over the years and tiers
        c1, c2, c3 = st.columns(3)
        c1.metric(f"演练（{period_text}）", f"{int(by_year['drills'].sum())} 次", border=True)
        c2.metric(
            f"参演人数（{period_text}）",
            f"{int(by_year['participants'].sum()):,} 人",
            border=True,
        )
        official_value = None if official.empty else official.iloc[0]
        c3.metric(
            f"预案演练覆盖率（{hi}年，全区）",
            "—" if components.missing(official_value) else f"{100.0 * float(official_value):.1f}%",
            help="官方指标，全区口径，不随街道筛选变化；口径见下方说明。",
            border=True,
        )
        if frame.viewer_streets() is not None:  # a street office: the district row is not its
            c3.caption(f"全区口径，{frame.NOT_IN_SCOPE}。")
        components.show_definition("kpi_official_indicators", "drill_coverage", c3)
    left, right = st.columns(2)
    with left:
        st.altair_chart(charts.emergency_drills_by_tier(tiers, f"现行预案，{scope}"), width="stretch")
    with right:
        if drills is None:
            st.info("数据集市中暂无演练记录。")
        elif by_year.empty:
            st.info(f"{period_text}所选街道没有演练记录。")
        else:
            st.altair_chart(
                charts.emergency_drills_by_year(by_year, f"{period_text}，{scope}；按所演练预案的层级"), width="stretch"
            )
    frame.table(
        tiers,
        labels.EMERGENCY_TIER_HEADERS,
        column_config={"演练覆盖率（%）": st.column_config.NumberColumn(format="%.1f")},
    )
    frame.download_buttons(
        tiers, "应急_分层级演练覆盖率", labels.EMERGENCY_TIER_HEADERS, key="emergency_tiers", sheet_name="演练覆盖率"
    )
    if drills is not None and not drills.empty:
        drills = drills.assign(
            street_label=drills["street_name"].where(drills["street_name"].notna(), NO_STREET)
        )
        with st.expander(f"演练明细（{period_text}，{scope}，共 {len(drills)} 次）"):
            frame.table(
                drills,
                labels.EMERGENCY_DRILL_HEADERS,
                column_config={"演练日期": st.column_config.DateColumn(format="YYYY-MM-DD")},
            )
            frame.download_buttons(
                drills, f"应急_演练明细_{lo}-{hi}", labels.EMERGENCY_DRILL_HEADERS, key="emergency_drills",
                sheet_name="演练明细",
            )


def _resources_section(selected: list[str], scope: str) -> None:
    st.subheader(f"应急资源（{scope}）")
    st.caption("现行登记的救援队伍、应急物资和应急装备；数量按各自计量单位汇总，不同单位不相加。")
    try:
        resources = data.load_resources(selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if resources.empty:
        st.info("所选街道没有应急资源登记。")
        return
    # Streets in the district's order (from the query), types in the usual order.
    type_order = {t: i for i, t in enumerate(RESOURCE_TYPES)}
    resources = resources.assign(
        _street=range(len(resources)),
        _type=resources["resource_type"].map(lambda t: type_order.get(t, len(type_order))),
    )
    resources["_street"] = resources.groupby("street_code")["_street"].transform("min")
    resources = resources.sort_values(["_street", "_type", "resource_type"]).drop(
        columns=["_street", "_type"]
    )
    by_type = resources.groupby("resource_type")["resources"].sum()
    columns = st.columns(max(len(by_type), 1) + 1)
    columns[0].metric("应急资源合计", f"{int(resources['resources'].sum())} 项", border=True)
    for column, (rtype, count) in zip(columns[1:], by_type.reindex(
        [t for t in RESOURCE_TYPES if t in by_type.index] + sorted(set(by_type.index) - set(RESOURCE_TYPES))
    ).items()):
        column.metric(rtype, f"{int(count)} 项", border=True)
    st.altair_chart(charts.emergency_resources(resources, scope), width="stretch")
    table = resources.assign(quantity_by_unit=resources["quantity_by_unit"].fillna("—"))
    frame.table(
        table,
        labels.EMERGENCY_RESOURCE_HEADERS,
        column_config={"最近更新日期": st.column_config.DateColumn(format="YYYY-MM-DD")},
    )
    frame.download_buttons(
        table, "应急_应急资源", labels.EMERGENCY_RESOURCE_HEADERS, key="emergency_resources", sheet_name="应急资源"
    )


# --- page -------------------------------------------------------------------------------------


def render() -> None:
    frame.header("应急管理", "应急预案是否逐级衔接到区级总体预案、是否按要求演练，以及各街道的应急资源。")
    try:
        streets_df = data.load_streets()
        plans = data.load_plans()
        first_year, last_year = data.load_drill_years()
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    years = None if first_year is None else (first_year, last_year)
    selected, period = _sidebar_filters(streets_df, years)
    names = components.street_names(streets_df)
    scope = frame.scope_text(names, selected, "全区")

    scope_plans = plans_in_scope(plans, selected)
    try:
        by_tier = data.load_plans_by_tier(selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if plans.empty:
        st.info("数据集市中暂无现行应急预案。")
    else:
        _summary_section(scope_plans, by_tier, scope)
        st.divider()
        _tree_section(plans, selected, scope)
    st.divider()
    _drill_section(by_tier, selected, period, scope)
    st.divider()
    _resources_section(selected, scope)


if __name__ == "__main__":
    render()
