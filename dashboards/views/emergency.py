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

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import components, data

# --- constants --------------------------------------------------------------------------------

KEY_STREETS = "emergency_streets"
KEY_YEARS = "emergency_years"

TIERS = ["区级", "部门", "街道", "社区", "企业"]
TIER_COLORS = ["#4C78A8", "#72B7B2", "#F58518", "#54A24B", "#B279A2"]
RESOURCE_TYPES = ["救援队伍", "应急物资", "应急装备"]
RESOURCE_COLORS = ["#4C78A8", "#F58518", "#54A24B", "#BAB0AC", "#9D755D"]
OK_COLOR = "#54A24B"
BAD_COLOR = "#E45756"
TARGET_COLOR = "#C0392B"
CONTEXT_COLOR = "#9E9E9E"
NO_STREET = "（全区/部门）"
LINKED, NOT_LINKED = "✅ 已衔接", "❌ 未衔接"

PLAN_HEADERS = {
    "tree_label": "预案（按衔接关系缩进）",
    "plan_id": "预案编号",
    "tier": "层级",
    "owner_unit": "编制单位",
    "parent_plan_id": "上级预案编号",
    "link_status": "衔接状态",
    "link_issue": "未衔接原因",
    "chain": "衔接链",
    "street_label": "街道",
    "drills_last_12_months": "近12个月演练（次）",
    "last_drilled_on": "最近演练日期",
    "scope_note": "说明",
}
TIER_HEADERS = {
    "tier": "层级",
    "plans": "现行预案（个）",
    "drilled": "近12个月已演练（个）",
    "coverage_pct": "演练覆盖率（%）",
    "not_linked": "未衔接到区级预案（个）",
}
DRILL_HEADERS = {
    "drilled_on": "演练日期",
    "drill_id": "演练编号",
    "drill_form": "演练形式",
    "participants": "参演人数（人）",
    "plan_id": "预案编号",
    "plan_name": "预案名称",
    "plan_tier_label": "预案层级",
    "street_label": "街道",
}
RESOURCE_HEADERS = {
    "street_name": "街道",
    "resource_type": "资源类型",
    "resources": "资源（项）",
    "quantity_by_unit": "数量（按计量单位）",
    "last_updated_on": "最近更新日期",
}


# --- small helpers ----------------------------------------------------------------------------


def chain_ids(chain: Any) -> list[str]:
    """The plan ids of a chain "QJ-001 > JD-WL > SQ-WL-01", top first."""
    if components.missing(chain):
        return []
    return [part.strip() for part in str(chain).split(">") if part.strip()]


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
        wanted.update(chain_ids(chain))
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
            levels.append(max(len(chain_ids(row.chain)) - 1, 0))
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


def _dot_text(text: Any) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


GRAPH_HEADER = [
    '  graph [rankdir=LR, nodesep=0.15, ranksep=0.5, fontname="sans-serif"];',
    '  node [shape=box, style="rounded,filled", fontname="sans-serif", fontsize=11, '
    'fillcolor="#F3F6FA", color="#4C78A8"];',
    '  edge [color="#8899AA", arrowsize=0.6];',
]


def plan_graph(tree: pd.DataFrame, *, collapse_communities: bool) -> str | None:
    """A graphviz (DOT) drawing of the plans linked to the district plan.

    The district plan, department, street and community plans are nodes; linked enterprise plans
    are counted on the nearest non-enterprise plan above them (and community plans on their
    street plan when ``collapse_communities``). Plans not drilled in the last 12 months have an
    orange fill; plans outside the street filter (shown for the chain) are grey. None when no
    plan reaches the district plan.
    """
    plans = tree.set_index("plan_id", drop=False)
    linked = plans[plans["reaches_district_plan"].fillna(False).astype(bool)]

    collapsed_tiers = {"企业"} | ({"社区"} if collapse_communities else set())
    counts: dict[str, dict[str, int]] = {}
    for row in linked.itertuples():
        if row.tier not in collapsed_tiers:
            continue
        # The nearest plan above it that stays a node.
        holder = None
        for pid in reversed(chain_ids(row.chain)[:-1]):
            if pid in linked.index and linked.at[pid, "tier"] not in collapsed_tiers:
                holder = pid
                break
        if holder is not None:
            counts.setdefault(holder, {}).setdefault(row.tier, 0)
            counts[holder][row.tier] += 1

    lines = ["digraph plans {", *GRAPH_HEADER]
    shown: set[str] = set()
    for row in linked.itertuples():
        if row.tier in collapsed_tiers:
            continue
        name = row.plan_name if not components.missing(row.plan_name) else row.plan_id
        label = [f"{name}", f"{row.plan_id} · {row.tier}"]
        extra = counts.get(row.plan_id, {})
        if extra:
            label.append("  ".join(f"{t}预案 {n} 个" for t, n in extra.items()))
        attrs = [f'label="{_dot_text(chr(10).join(label))}"']
        if not bool(row.in_scope):
            attrs.append(f'color="{CONTEXT_COLOR}", fontcolor="{CONTEXT_COLOR}", fillcolor="#F5F5F5"')
        elif not bool(row.drilled_in_last_12_months):
            attrs.append('fillcolor="#FFF4E5"')
        lines.append(f'  "{_dot_text(row.plan_id)}" [{", ".join(attrs)}];')
        shown.add(row.plan_id)
    if not shown:
        return None
    for row in linked.itertuples():
        if row.plan_id in shown and not components.missing(row.parent_plan_id) and row.parent_plan_id in shown:
            lines.append(f'  "{_dot_text(row.parent_plan_id)}" -> "{_dot_text(row.plan_id)}";')
    lines.append("}")
    return "\n".join(lines)


def broken_graph(tree: pd.DataFrame) -> str | None:
    """A graphviz (DOT) drawing of the plans that do not reach the district plan, in red with
    their issue, with their links among themselves and a dashed node for a parent that is not on
    the current list; None when every plan is linked."""
    plans = tree.set_index("plan_id", drop=False)
    broken = plans[~plans["reaches_district_plan"].fillna(False).astype(bool)]
    if broken.empty:
        return None
    lines = ["digraph broken {", *GRAPH_HEADER]
    shown: set[str] = set()
    for row in broken.itertuples():
        name = row.plan_name if not components.missing(row.plan_name) else row.plan_id
        issue = row.link_issue if not components.missing(row.link_issue) else "未衔接"
        label = f"{name}\n{row.plan_id} · {row.tier}\n{issue}"
        lines.append(
            f'  "{_dot_text(row.plan_id)}" [label="{_dot_text(label)}", color="{TARGET_COLOR}", '
            f'fontcolor="{TARGET_COLOR}", fillcolor="#FDECEA", penwidth=1.5];'
        )
        shown.add(row.plan_id)
    ghosts = sorted({str(p) for p in broken["parent_plan_id"].dropna() if str(p) not in plans.index})
    for ghost in ghosts:
        lines.append(
            f'  "{_dot_text(ghost)}" [label="{_dot_text(ghost)}\\n（不在现行预案清单）", '
            f'style="dashed", color="{TARGET_COLOR}", fontcolor="{TARGET_COLOR}", fillcolor="white"];'
        )
        shown.add(ghost)
    for row in broken.itertuples():
        if not components.missing(row.parent_plan_id) and str(row.parent_plan_id) in shown:
            lines.append(
                f'  "{_dot_text(row.parent_plan_id)}" -> "{_dot_text(row.plan_id)}" '
                f'[color="{TARGET_COLOR}"];'
            )
    lines.append("}")
    return "\n".join(lines)


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

    with st.sidebar:
        st.header("筛选条件")
        selected = components.street_filter(
            streets_df,
            key=KEY_STREETS,
            help="按预案编制单位所在街道筛选（社区、企业预案随其上级街道预案）。"
            "区级和部门预案不属于任何街道，只在全区视图中计入统计。",
        )
        period = None
        if years is not None:
            period = components.period_filter(
                years,
                key=KEY_YEARS,
                label="演练年度",
                help="演练次数统计的年度范围；官方演练覆盖率显示所选最后一年。",
            )
        st.button("恢复默认筛选", on_click=_reset, icon=":material/restart_alt:")
        st.caption("筛选条件保存在网址中，复制浏览器地址即可分享当前视图。")
        published = data.published_at()
        if published is not None:
            st.caption(f"数据发布时间：{published:%Y-%m-%d %H:%M}（北京时间）")
    return selected, period


# --- charts -----------------------------------------------------------------------------------


def _tier_chart(tiers: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    chart_df = tiers[tiers["plans"] > 0].assign(
        status=lambda df: df["coverage_pct"].map(lambda p: "全部演练" if p >= 100 else "有未演练预案")
    )
    bars = (
        alt.Chart(chart_df)
        .mark_bar()
        .encode(
            x=alt.X("coverage_pct:Q", title="演练覆盖率（%）", scale=alt.Scale(domain=[0, 105])),
            y=alt.Y("tier:N", title="预案层级", sort=TIERS),
            color=alt.Color(
                "status:N",
                title="状态",
                scale=alt.Scale(domain=["有未演练预案", "全部演练"], range=[BAD_COLOR, OK_COLOR]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("tier:N", title="层级"),
                alt.Tooltip("plans:Q", title="现行预案（个）"),
                alt.Tooltip("drilled:Q", title="近12个月已演练（个）"),
                alt.Tooltip("coverage_pct:Q", title="覆盖率（%）", format=".1f"),
            ],
        )
    )
    rule_df = pd.DataFrame({"target": [100.0], "label": ["要求 100%"]})
    rule = (
        alt.Chart(rule_df)
        .mark_rule(color=TARGET_COLOR, strokeDash=[6, 4], size=2)
        .encode(x="target:Q", tooltip=[alt.Tooltip("label:N", title="要求")])
    )
    text = (
        alt.Chart(rule_df)
        .mark_text(align="right", baseline="top", dx=-4, dy=2, color=TARGET_COLOR)
        .encode(x="target:Q", y=alt.value(0), text="label:N")
    )
    return alt.layer(bars, rule, text).properties(
        height=380,
        title=alt.TitleParams(
            "各层级预案近12个月演练覆盖率（%）",
            subtitle=f"{subtitle}；红色虚线为要求（每个预案每年至少演练一次）",
            anchor="start",
        ),
    )


def _drills_chart(drills: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    tiers = TIERS + sorted(set(drills["plan_tier_label"]) - set(TIERS))
    colors = TIER_COLORS + ["#BAB0AC"] * (len(tiers) - len(TIERS))
    per_year = (
        drills.groupby(["drill_year", "plan_tier_label"], as_index=False)
        .agg(drills=("drill_id", "count"), participants=("participants", "sum"))
    )
    per_year["tier_order"] = per_year["plan_tier_label"].map({t: i for i, t in enumerate(tiers)})
    return (
        alt.Chart(per_year)
        .mark_bar()
        .encode(
            x=alt.X("drill_year:O", title="年份", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(drills):Q", title="演练（次）", stack="zero", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "plan_tier_label:N",
                title="预案层级",
                scale=alt.Scale(domain=tiers, range=colors),
                sort=tiers,
                legend=alt.Legend(orient="bottom"),
            ),
            order=alt.Order("tier_order:Q"),
            tooltip=[
                alt.Tooltip("drill_year:O", title="年份"),
                alt.Tooltip("plan_tier_label:N", title="预案层级"),
                alt.Tooltip("sum(drills):Q", title="演练（次）"),
                alt.Tooltip("sum(participants):Q", title="参演人数（人）"),
            ],
        )
        .properties(
            height=300,
            title=alt.TitleParams("各年度应急演练次数（次）", subtitle=subtitle, anchor="start"),
        )
    )


def _resources_chart(resources: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    types = RESOURCE_TYPES + sorted(set(resources["resource_type"]) - set(RESOURCE_TYPES))
    colors = (RESOURCE_COLORS * 3)[: len(types)]
    street_order = list(dict.fromkeys(resources["street_name"]))
    chart_df = resources.assign(
        type_order=resources["resource_type"].map({t: i for i, t in enumerate(types)})
    )
    return (
        alt.Chart(chart_df)
        .mark_bar()
        .encode(
            x=alt.X("sum(resources):Q", title="应急资源（项）", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("street_name:N", title="街道", sort=street_order),
            color=alt.Color(
                "resource_type:N",
                title="资源类型",
                scale=alt.Scale(domain=types, range=colors),
                sort=types,
                legend=alt.Legend(orient="bottom"),
            ),
            order=alt.Order("type_order:Q"),
            tooltip=[
                alt.Tooltip("street_name:N", title="街道"),
                alt.Tooltip("resource_type:N", title="资源类型"),
                alt.Tooltip("sum(resources):Q", title="资源（项）"),
                alt.Tooltip("quantity_by_unit:N", title="数量"),
            ],
        )
        .properties(
            height=200 + 30 * len(street_order),
            title=alt.TitleParams(
                "各街道应急资源（项）",
                subtitle=f"{subtitle}；登记条目数，各类数量见下表",
                anchor="start",
            ),
        )
    )


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
        help="近12个月内至少演练过一次的现行预案占全部现行预案的比例，要求100%。",
        border=True,
    )
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
    linked_dot = plan_graph(tree, collapse_communities=not selected)
    broken_dot = broken_graph(tree)
    left, right = st.columns([3, 2]) if broken_dot else (st.container(), None)
    with left:
        st.markdown("**已衔接到区级预案的预案体系**")
        if linked_dot:
            st.graphviz_chart(linked_dot, width="content")
        else:
            st.info("所选街道没有衔接到区级预案的预案。")
        if not selected:
            st.caption("全区视图中社区、企业预案按上级街道或部门预案合并计数；选择街道可展开到社区。")
    if right is not None:
        with right:
            st.markdown(":red[**未衔接到区级预案的预案（红色）**]")
            st.graphviz_chart(broken_dot, width="content")
            st.caption("虚线框为预案所写的上级预案编号，但该预案不在现行预案清单中。")

    table = tree_table(tree)

    def _red(row: pd.Series) -> list[str]:
        if row["衔接状态"] == NOT_LINKED:
            return [f"color: {TARGET_COLOR}; font-weight: 600"] * len(row)
        if row["说明"]:
            return [f"color: {CONTEXT_COLOR}"] * len(row)
        return [""] * len(row)

    shown = table[list(PLAN_HEADERS)].rename(columns=PLAN_HEADERS)
    with st.expander("全部预案清单（按衔接关系缩进）", expanded=bool(selected)):
        st.dataframe(
            shown.style.apply(_red, axis=1),
            hide_index=True,
            width="stretch",
            column_config={
                "最近演练日期": st.column_config.DateColumn(format="YYYY-MM-DD"),
                "近12个月演练（次）": st.column_config.NumberColumn(format="%d"),
            },
        )
    components.download_buttons(
        table, "应急_预案衔接", PLAN_HEADERS, key="emergency_plans", sheet_name="预案衔接"
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
            indicators = data.load_official_indicators()
        except data.DataUnavailable as exc:
            components.show_unavailable(exc)
            return
        official = indicators.loc[indicators["year"] == hi, "drill_coverage"]
        c1, c2, c3 = st.columns(3)
        c1.metric(f"演练（{period_text}）", f"{len(drills)} 次", border=True)
        c2.metric(
            f"参演人数（{period_text}）",
            f"{int(drills['participants'].fillna(0).sum()):,} 人",
            border=True,
        )
        official_value = None if official.empty else official.iloc[0]
        c3.metric(
            f"预案演练覆盖率（{hi}年，全区）",
            "—" if components.missing(official_value) else f"{100.0 * float(official_value):.1f}%",
            help="官方指标：当年至少演练一次的现行预案 / 现行预案（全区口径，不随街道筛选变化）。",
            border=True,
        )
    left, right = st.columns(2)
    with left:
        st.altair_chart(_tier_chart(tiers, f"现行预案，{scope}"), width="stretch")
    with right:
        if drills is None:
            st.info("数据集市中暂无演练记录。")
        elif drills.empty:
            st.info(f"{period_text}所选街道没有演练记录。")
        else:
            drills = drills.assign(
                plan_tier_label=drills["plan_tier"].where(drills["plan_tier"].notna(), "不在现行清单"),
                street_label=drills["street_name"].where(drills["street_name"].notna(), NO_STREET),
            )
            st.altair_chart(
                _drills_chart(drills, f"{period_text}，{scope}；按所演练预案的层级"), width="stretch"
            )
    st.dataframe(
        tiers[list(TIER_HEADERS)].rename(columns=TIER_HEADERS),
        hide_index=True,
        width="stretch",
        column_config={"演练覆盖率（%）": st.column_config.NumberColumn(format="%.1f")},
    )
    components.download_buttons(
        tiers, "应急_分层级演练覆盖率", TIER_HEADERS, key="emergency_tiers", sheet_name="演练覆盖率"
    )
    if drills is not None and not drills.empty:
        with st.expander(f"演练明细（{period_text}，{scope}，共 {len(drills)} 次）"):
            st.dataframe(
                drills[list(DRILL_HEADERS)].rename(columns=DRILL_HEADERS),
                hide_index=True,
                width="stretch",
                column_config={"演练日期": st.column_config.DateColumn(format="YYYY-MM-DD")},
            )
            components.download_buttons(
                drills, f"应急_演练明细_{lo}-{hi}", DRILL_HEADERS, key="emergency_drills",
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
    st.altair_chart(_resources_chart(resources, scope), width="stretch")
    table = resources.assign(quantity_by_unit=resources["quantity_by_unit"].fillna("—"))
    st.dataframe(
        table[list(RESOURCE_HEADERS)].rename(columns=RESOURCE_HEADERS),
        hide_index=True,
        width="stretch",
        column_config={"最近更新日期": st.column_config.DateColumn(format="YYYY-MM-DD")},
    )
    components.download_buttons(
        table, "应急_应急资源", RESOURCE_HEADERS, key="emergency_resources", sheet_name="应急资源"
    )


# --- page -------------------------------------------------------------------------------------


def render() -> None:
    st.title("应急管理")
    st.caption("应急预案是否逐级衔接到区级总体预案、是否按要求演练，以及各街道的应急资源。")
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
    scope = components.scope_text(names, selected, "全区")

    scope_plans = plans_in_scope(plans, selected)
    try:
        by_tier = data.load_plans_by_tier(selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if plans.empty:
        st.info("数据集市中暂无现行应急预案（marts.fct_emergency_plans 为空）。")
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
