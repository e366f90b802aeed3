"""风险: the district's city safety risk inventory (城市安全风险清单), latest quarterly snapshot.

* Counts by level (红/橙/黄/蓝, the level of L×S) for the chosen streets
  (``marts.agg_risk_points_by_street``).
* A map of the eight streets (offline, ``dashboards.maps``), each coloured by the highest level
  among its risk points, and the counts per level by street.
* Counts by category and level (``marts.fct_risk_points``, grouped in SQL).
* The risk points themselves, filtered by street, level, category and check result; rows whose
  风险值/风险等级 do not match L×S (flagged by the mart) are marked with their reason.

The inventory is a snapshot (no period). Filters (sidebar) are kept in the URL:
``?streets=WL,TS&level=红&category=工业企业&check=flagged``.
"""

from __future__ import annotations


import pandas as pd
import streamlit as st

from citysafety.share import labels
from dashboards import charts, components, data, frame, maps

# --- constants --------------------------------------------------------------------------------

KEY_STREETS = "risk_streets"
KEY_LEVEL = "risk_level"
KEY_CATEGORY = "risk_category"
KEY_CHECK = "risk_check"
QP_LEVEL = "level"
QP_CATEGORY = "category"
QP_CHECK = "check"
CHECK_FLAGGED = "flagged"

LEVELS = charts.RISK_LEVEL_ORDER  # 红, 橙, 黄, 蓝
LEVEL_NAMES = charts.RISK_LEVEL_NAMES
ALL_LEVELS = charts.RISK_ALL_LEVELS
FLAG_ROW_COLOR = "#FFE9A8"
RIGHT_HALF_PX = 430  # a table in the right of two columns: 443 px wide at 1366 px

LEVEL_FILTER_OPTIONS = {
    **{level: f"{level}色（{data.RISK_LEVELS[level]}）" for level in LEVELS},
    data.UNRATED: data.UNRATED,
}

# Latin spellings a shared link may use for a level (``?level=red``); the URL then says 红.
LEVEL_ALIASES = {**dict(zip(("red", "orange", "yellow", "blue"), LEVELS)), "unrated": data.UNRATED}

FLAGGED_TEXT = "⚠ 存疑"
CONSISTENT_TEXT = "一致"


# --- small helpers ----------------------------------------------------------------------------


def street_level_table(by_street: pd.DataFrame, streets_df: pd.DataFrame, selected: list[str]) -> pd.DataFrame:
    """One row per street in scope (selected, or every street; the unknown street only when it
    has points): counts per level, total, flagged, highest level."""
    names = components.street_names(streets_df)
    present = set(by_street["street_code"].astype(str))
    codes = selected or [c for c in names if c != "UNKNOWN" or c in present]
    pivot = by_street.pivot_table(
        index="street_code", columns="risk_level", values="risk_points", aggfunc="sum", fill_value=0
    ).reindex(index=codes, columns=ALL_LEVELS, fill_value=0)
    flagged = by_street.groupby("street_code")["flagged_points"].sum().reindex(codes, fill_value=0)
    table = pivot.astype("int64")
    table["total"] = table.sum(axis=1)
    table["flagged"] = flagged.astype("int64")
    # the street's reddest level is the mart's (agg_risk_points_by_street.street_highest_level)
    highest = by_street.groupby("street_code")["street_highest_level"].first()
    table["highest"] = [highest.get(code, charts.RISK_NO_POINTS) for code in table.index]
    table = table.reset_index(names="street_code")
    table.insert(1, "street_name", table["street_code"].map(lambda c: names.get(c, c)))
    table.columns.name = None
    return table


# --- filters (sidebar + URL) ------------------------------------------------------------------


def _sidebar_filters(streets_df: pd.DataFrame, categories: list[str]) -> tuple[list[str], str, str, bool]:
    def _reset() -> None:
        st.session_state[KEY_STREETS] = []
        st.session_state[KEY_LEVEL] = frame.ALL
        st.session_state[KEY_CATEGORY] = frame.ALL
        st.session_state[KEY_CHECK] = frame.ALL

    with frame.sidebar(reset=_reset, notes=("风险清单为最新一期季度快照，不按期间筛选。",)):
        selected = frame.street_filter(
            streets_df,
            key=KEY_STREETS,
            help="不选即为全部街道。作用于本页全部统计、地图和明细。",
        )
        level = frame.select_filter(
            LEVEL_FILTER_OPTIONS,
            key=KEY_LEVEL,
            param=QP_LEVEL,
            label="风险等级（明细）",
            all_label="全部等级",
            aliases=LEVEL_ALIASES,
            help="只筛选下方风险点明细；等级按 L×S 核定。",
        )
        category = frame.select_filter(
            {c: c for c in categories},
            key=KEY_CATEGORY,
            param=QP_CATEGORY,
            label="风险类别（明细）",
            all_label="全部类别",
            help="只筛选下方风险点明细。",
        )
        check = frame.select_filter(
            {CHECK_FLAGGED: "仅显示存疑记录"},
            key=KEY_CHECK,
            param=QP_CHECK,
            label="核查结果（明细）",
            all_label="全部记录",
            help="存疑：上报的风险值或风险等级与 L×S 不一致、L/S 缺失或超出1–5、或重复上报。",
        )
    return selected, level, category, check == CHECK_FLAGGED


# --- sections ---------------------------------------------------------------------------------


def _summary_section(levels: pd.DataFrame, scope: str, snapshot: str | None) -> None:
    totals = {level: int(levels[level].sum()) for level in ALL_LEVELS}
    total = int(levels["total"].sum())
    st.subheader(f"风险点分级统计（{scope}）")
    cols = st.columns(6)
    cols[0].metric("风险点总数", f"{total} 处", border=True)
    for col, level in zip(cols[1:5], LEVELS):
        col.metric(f"{level}色 {data.RISK_LEVELS[level]}", f"{totals[level]} 处", border=True)
    cols[5].metric(
        "存疑记录",
        f"{int(levels['flagged'].sum())} 处",
        border=True,
        help="上报的风险值或风险等级与 L×S 不一致、L/S 缺失或超出1–5、或重复上报的风险点（保留并标注）。",
    )
    notes = []
    if totals[data.UNRATED]:
        notes.append(f"另有 {totals[data.UNRATED]} 处风险点无法定级（L、S无效且未上报等级）。")
    notes.append(
        "风险等级按 可能性L × 严重性S 核定：20–25 红色（重大风险），15–16 橙色（较大风险），"
        "9–12 黄色（一般风险），1–8 蓝色（低风险）；L或S无效时采用上报等级。"
    )
    if snapshot:
        notes.append(f"清单期次：{snapshot}。")
    st.caption("".join(notes))


def _map_section(levels: pd.DataFrame, selected: list[str], scope: str, visible: list[str]) -> None:
    st.subheader("风险地图")
    left, right = st.columns([3, 2])
    with left:
        st.altair_chart(charts.risk_map(levels, selected, scope, visible), width="stretch")
        unknown = levels.loc[levels["street_code"] == "UNKNOWN", "total"]
        note = maps.GEOMETRY_NOTE
        if not unknown.empty and int(unknown.iloc[0]):
            note = f"另有 {int(unknown.iloc[0])} 处风险点所属街道不详，未在地图上显示。" + note
        st.caption(
            "图例：街道按其风险点的最高风险等级着色——有红色风险点即为红色，否则看橙色，依此类推；"
            "浅灰为暂无风险点或未在筛选范围内的街道。" + note
        )
    with right:
        st.altair_chart(charts.risk_by_street(levels, scope), width="stretch")
    table = levels.copy()
    headers = {
        **labels.RISK_STREET_HEADERS,
        **{level: f"{level}色 {data.RISK_LEVELS[level]}（处）" for level in LEVELS},
        data.UNRATED: labels.RISK_UNRATED_HEADER,
        **labels.RISK_FLAGGED_HEADERS,
    }
    if not int(table[data.UNRATED].sum()):
        headers.pop(data.UNRATED)
    table["highest_name"] = table["highest"].map(lambda lv: LEVEL_NAMES.get(lv, "—"))
    frame.table(table, headers)
    frame.download_buttons(table, "风险_分街道统计", headers, key="risk_by_street", sheet_name="分街道统计")


def _category_section(selected: list[str], scope: str) -> None:
    st.subheader(f"风险类别分布（{scope}）")
    try:
        by_category = data.load_risk_by_category(selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if by_category.empty:
        st.info("所选街道暂无风险点。")
        return
    categories = list(dict.fromkeys(by_category["risk_category"]))  # in the mart's order
    pivot = (
        by_category.pivot_table(index="risk_category", columns="risk_level", values="risk_points",
                                aggfunc="sum", fill_value=0)
        .reindex(index=categories, columns=ALL_LEVELS, fill_value=0)
        .astype("int64")
    )
    pivot["total"] = pivot.sum(axis=1)
    pivot["flagged"] = by_category.groupby("risk_category")["flagged_points"].sum().reindex(categories).fillna(0).astype("int64")
    pivot = pivot.reset_index()
    pivot.columns.name = None
    left, right = st.columns(2)
    with left:
        st.altair_chart(charts.risk_by_category(by_category, categories, scope), width="stretch")
    with right:
        headers = {
            **labels.RISK_CATEGORY_HEADERS,
            **{level: f"{level}色（处）" for level in LEVELS},
            data.UNRATED: labels.RISK_UNRATED_HEADER,
            **labels.RISK_TOTAL_HEADERS,
        }
        if not int(pivot[data.UNRATED].sum()):
            headers.pop(data.UNRATED)
        frame.table(pivot, headers, fit_px=RIGHT_HALF_PX)
        frame.download_buttons(pivot, "风险_分类别统计", headers, key="risk_by_category", sheet_name="分类别统计")


def _points_section(selected: list[str], level: str, category: str, flagged_only: bool, scope: str) -> None:
    parts = [scope]
    if level:
        parts.append(LEVEL_FILTER_OPTIONS.get(level, level))
    if category:
        parts.append(category)
    if flagged_only:
        parts.append("仅存疑记录")
    st.subheader(f"风险点明细（{'，'.join(parts)}）")
    try:
        points = data.load_risk_points(selected, level, category, flagged_only)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    flagged = int(points["flagged"].fillna(False).astype(bool).sum()) if not points.empty else 0
    st.caption(
        f"共 {len(points)} 处，其中存疑 {flagged} 处（黄色底色标出，原因见“存疑原因”列）。"
        "存疑记录照常计入统计，等级按 L×S 核定。"
    )
    if points.empty:
        st.info("没有符合筛选条件的风险点。")
        return
    table = points.copy()
    table["flagged"] = table["flagged"].fillna(False).astype(bool)
    table["check"] = table["flagged"].map(lambda f: FLAGGED_TEXT if f else CONSISTENT_TEXT)
    table["flag_reason_zh"] = table["flag_reason_zh"].fillna("")  # the mart's, in Chinese
    for column in ("likelihood", "severity", "risk_value", "risk_value_computed"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("Int64")
    table["assessed_on"] = pd.to_datetime(table["assessed_on"]).dt.date
    shown = table[list(labels.RISK_POINT_HEADERS)].rename(columns=labels.RISK_POINT_HEADERS)
    mask = table["flagged"].to_numpy()

    def _highlight(row: pd.Series) -> str:
        return f"background-color: {FLAG_ROW_COLOR}" if mask[row.name] else ""

    frame.table(
        shown,
        keys=2,  # 编号 and 名称 in every part
        row_style=_highlight,
        column_config={
            "评估日期": st.column_config.DateColumn(format="YYYY-MM-DD"),
            "存疑原因": st.column_config.TextColumn(width="large"),
        },
    )
    frame.download_buttons(table, "风险_风险点明细", labels.RISK_POINT_HEADERS, key="risk_points", sheet_name="风险点明细")


# --- page -------------------------------------------------------------------------------------


def render() -> None:
    frame.header("城市安全风险清单", "区安委办最新一期城市安全风险清单：风险点按红、橙、黄、蓝四色分级管控。")
    try:
        streets_df = data.load_streets()
        categories = data.load_risk_categories()
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return

    selected, level, category, flagged_only = _sidebar_filters(streets_df, categories)
    names = components.street_names(streets_df)
    scope = frame.scope_text(names, selected)

    try:
        by_street = data.load_risk_by_street(selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if not categories:
        st.info("暂无风险清单数据，请确认数据管道已成功运行。")
        return
    snapshots = by_street["snapshot_quarter"].dropna()
    levels = street_level_table(by_street, streets_df, selected)

    _summary_section(levels, scope, None if snapshots.empty else str(snapshots.max()))
    st.divider()
    # The map draws the streets of the user's own data (a street office: its street only).
    _map_section(levels, selected, scope, streets_df["street_code"].astype(str).tolist())
    st.divider()
    _category_section(selected, scope)
    st.divider()
    _points_section(selected, level, category, flagged_only, scope)


if __name__ == "__main__":
    render()
