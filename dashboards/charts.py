"""Every chart of the dashboard pages (Altair / Vega-Lite), built here and only here.

Pages pass data frames and Chinese subtitles in and lay the returned charts out with
``st.altair_chart(..., width="stretch")``. The shared pieces keep the charts alike:

* ``band_height``: the height of a chart with one bar per street, category or source. Streamlit
  fits the whole chart (title, axis and legend included) into the height, so a chart with one
  street kept a hairline of a bar (issue 13); the plot keeps room for ``MIN_BANDS`` bands.
* ``reference_rule``: a dashed target or reference line with its label placed outside the data
  (above the plot for a horizontal rule) so the label never sits on the lines.
* ``DAY_AXIS``: a daily time axis with one label per day at most (not each date twice).

Colours are chosen here (``TARGET_COLOR`` and the per-page palettes); words come from the
pages and ``citysafety.share.labels``.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from citysafety.share import labels
from citysafety.sources import feed
from dashboards import components, data, maps
from dashboards.frame import DISTRICT

TARGET_COLOR = "#C0392B"  # targets and reference lines, every page
MIN_BANDS = 3  # a bar chart keeps room for three bars even when one street is shown
BAND_PX = 30
DAY_MS = 24 * 60 * 60 * 1000
# Temporal axis of daily data: at least a day between ticks (short windows ticked every 12 h and
# printed each date twice).
DAY_AXIS = alt.Axis(format="%m-%d", labelAngle=0, tickMinStep=DAY_MS, labelOverlap="greedy")


def band_height(bands: int, overhead: int = 200, per_band: int = BAND_PX) -> int:
    """Height of a chart with one band (bar or stack) per item: ``overhead`` for title, subtitle,
    axis and legend, and ``per_band`` pixels for each of at least ``MIN_BANDS`` bands."""
    return overhead + per_band * max(int(bands), MIN_BANDS)


def reference_rule(
    value: float, label: str, *, axis: str = "y", tooltip_title: str = "目标", color: str = TARGET_COLOR
) -> list[alt.Chart]:
    """A dashed rule at ``value`` and its label, as layers to add to a chart.

    A horizontal rule (``axis="y"``) is labelled just above the line at the left edge; a vertical
    one (``axis="x"``) at the top of the plot, to the left of the line."""
    frame = pd.DataFrame({"target": [float(value)], "label": [label]})
    rule = (
        alt.Chart(frame)
        .mark_rule(color=color, strokeDash=[6, 4], size=2)
        .encode(**{axis: "target:Q"}, tooltip=[alt.Tooltip("label:N", title=tooltip_title)])
    )
    if axis == "y":
        text = (
            alt.Chart(frame)
            .mark_text(align="left", baseline="bottom", dx=4, dy=-4, color=color)
            .encode(y="target:Q", x=alt.value(0), text="label:N")
        )
    else:
        text = (
            alt.Chart(frame)
            .mark_text(align="right", baseline="top", dx=-4, dy=2, color=color)
            .encode(x="target:Q", y=alt.value(0), text="label:N")
        )
    return [rule, text]


def heading(text: str, subtitle: str | None = None) -> alt.TitleParams:
    """A chart title with its subtitle, left-aligned like the page's text. The subtitle's clauses
    (split at "；") go on lines of their own: on one line vega cut it with "…" in a half-width
    column at 1366 px (issue 13)."""
    lines = [part + ("；" if i < len(parts) - 1 else "")
             for parts in [(subtitle or "").split("；")] for i, part in enumerate(parts)]
    return alt.TitleParams(text, subtitle=lines if len(lines) > 1 else (subtitle or ""), anchor="start")


# --- risk -----------------------------------------------------------------------------------

RISK_LEVEL_ORDER = list(data.RISK_LEVELS)  # 红, 橙, 黄, 蓝
RISK_ALL_LEVELS = [*RISK_LEVEL_ORDER, data.UNRATED]
RISK_LEVEL_NAMES = {**data.RISK_LEVELS, data.UNRATED: "未定级"}
RISK_LEVEL_COLORS = {"红": "#D7191C", "橙": "#F28E1C", "黄": "#F2CF1D", "蓝": "#2C7BB6", data.UNRATED: "#9E9E9E"}
RISK_NO_POINTS = "无风险点"
RISK_NOT_SELECTED = "未选择"
RISK_MAP_DOMAIN = [*RISK_ALL_LEVELS, RISK_NO_POINTS, RISK_NOT_SELECTED]
RISK_MAP_RANGE = [*(RISK_LEVEL_COLORS[level] for level in RISK_ALL_LEVELS), "#E3E3E3", "#F4F4F4"]
RISK_MAP_LEGEND = {
    **{level: f"{level}色 {data.RISK_LEVELS[level]}（{labels.RISK_LEVEL_BANDS[level]}）" for level in RISK_LEVEL_ORDER},
    data.UNRATED: "未定级（L、S无效且未上报等级）",
    RISK_NO_POINTS: "该街道暂无风险点",
    RISK_NOT_SELECTED: "未在街道筛选范围内",
}


def risk_map_frame(levels: pd.DataFrame, selected: list[str], visible: list[str] | None = None) -> pd.DataFrame:
    """Per map street: the colour (highest level / 无风险点 / 未选择), the label and tooltips.
    ``visible``: the streets the user may see (None: every street of the map)."""
    rows = []
    indexed = levels.set_index("street_code")
    for code in maps.street_codes():
        if visible is not None and code not in visible:
            continue
        if selected and code not in selected:
            rows.append({"street_code": code, "color": RISK_NOT_SELECTED, "label": "", "highest_name": "—",
                         "total_text": "—", "levels_text": "未在筛选范围内", "flagged_text": "—"})
            continue
        row = indexed.loc[code] if code in indexed.index else None
        counts = {level: int(row[level]) if row is not None else 0 for level in RISK_ALL_LEVELS}
        total = sum(counts.values())
        color = str(row["highest"]) if row is not None else RISK_NO_POINTS
        levels_text = " · ".join(f"{level} {counts[level]}" for level in RISK_LEVEL_ORDER)
        if counts[data.UNRATED]:
            levels_text += f" · 未定级 {counts[data.UNRATED]}"
        rows.append({
            "street_code": code,
            "color": color,
            "label": f"{total}处",
            "highest_name": RISK_LEVEL_NAMES.get(color, color) if color != RISK_NO_POINTS else "—",
            "total_text": f"{total} 处",
            "levels_text": levels_text,
            "flagged_text": f"{int(row['flagged']) if row is not None else 0} 处",
        })
    return pd.DataFrame(rows)


def risk_level_color(title: str = "风险等级") -> alt.Color:
    return alt.Color(
        "risk_level:N",
        title=title,
        scale=alt.Scale(domain=RISK_ALL_LEVELS, range=[RISK_LEVEL_COLORS[level] for level in RISK_ALL_LEVELS]),
        sort=RISK_ALL_LEVELS,
        legend=alt.Legend(orient="bottom", columns=2, labelLimit=200, labelExpr=_risk_legend_expr()),
    )


def _risk_legend_expr() -> str:
    pairs = ", ".join(f"'{k}': '{k}色 {v}'" for k, v in data.RISK_LEVELS.items())
    return f"({{{pairs}}})[datum.label] || datum.label"


def risk_map(levels: pd.DataFrame, selected: list[str], scope: str, visible: list[str]) -> alt.TopLevelMixin:
    frame = risk_map_frame(levels, selected, visible)
    return maps.street_map(
        frame,
        only=frame["street_code"].tolist(),
        color_field="color",
        color_domain=RISK_MAP_DOMAIN,
        color_range=RISK_MAP_RANGE,
        legend_title="街道颜色：最高风险等级",
        legend_labels=RISK_MAP_LEGEND,
        title="各街道最高风险等级（风险点数，处）",
        subtitle=f"最新风险清单，{scope}；街道内数字为风险点总数",
        tooltip=[
            ("highest_name", "最高风险等级"),
            ("total_text", "风险点合计"),
            ("levels_text", "各等级风险点（处）"),
            ("flagged_text", "存疑记录"),
        ],
        label_field="label",
        height=640,
    )


def risk_by_street(levels: pd.DataFrame, scope: str) -> alt.TopLevelMixin:
    long = levels.melt(
        id_vars=["street_name"], value_vars=RISK_ALL_LEVELS, var_name="risk_level", value_name="points"
    )
    long = long[(long["risk_level"] != data.UNRATED) | (long["points"] > 0)]
    long["level_order"] = long["risk_level"].map({lv: i for i, lv in enumerate(RISK_ALL_LEVELS)})
    order = levels.sort_values("total", ascending=False, kind="stable")["street_name"].tolist()
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("sum(points):Q", title="风险点（处）", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("street_name:N", title="街道", sort=order),
            color=risk_level_color(),
            order=alt.Order("level_order:Q"),
            tooltip=[
                alt.Tooltip("street_name:N", title="街道"),
                alt.Tooltip("risk_level:N", title="风险等级"),
                alt.Tooltip("sum(points):Q", title="风险点（处）"),
            ],
        )
        .properties(
            height=band_height(len(order), overhead=240),
            title=heading("分街道、分等级风险点数（处）", scope),
        )
    )


def risk_by_category(by_category: pd.DataFrame, categories: list[str], scope: str) -> alt.TopLevelMixin:
    chart_df = by_category.copy()
    chart_df["level_order"] = chart_df["risk_level"].map({lv: i for i, lv in enumerate(RISK_ALL_LEVELS)})
    return (
        alt.Chart(chart_df)
        .mark_bar()
        .encode(
            x=alt.X("sum(risk_points):Q", title="风险点（处）", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("risk_category:N", title="风险类别", sort=categories),
            color=risk_level_color(),
            order=alt.Order("level_order:Q"),
            tooltip=[
                alt.Tooltip("risk_category:N", title="风险类别"),
                alt.Tooltip("risk_level:N", title="风险等级"),
                alt.Tooltip("sum(risk_points):Q", title="风险点（处）"),
                alt.Tooltip("sum(flagged_points):Q", title="其中存疑（处）"),
            ],
        )
        .properties(
            height=band_height(len(categories), overhead=240, per_band=32),
            title=heading("分类别、分等级风险点数（处）", scope),
        )
    )


# --- hazards --------------------------------------------------------------------------------

GRAIN_MONTH = "month"  # the trend by month (else by year), as the pages' ?grain=month
HAZARD_FOUND = "排查发现"
HAZARD_RECTIFIED = "已整改"
HAZARD_OPEN_NOT_DUE = "未整改（未逾期）"
HAZARD_OPEN_OVERDUE = "逾期未整改"
HAZARD_SUPERVISED = "已挂牌督办"
HAZARD_NOT_SUPERVISED = "未挂牌督办"
HAZARD_RATE_RECTIFIED = "隐患整改率"
HAZARD_RATE_SUPERVISED = "重大隐患挂牌督办率"
HAZARD_COLORS = {HAZARD_FOUND: "#4C78A8", HAZARD_RECTIFIED: "#54A24B", HAZARD_OPEN_NOT_DUE: "#F2B134",
                 HAZARD_OPEN_OVERDUE: "#D62728", HAZARD_RATE_RECTIFIED: "#54A24B",
                 HAZARD_RATE_SUPERVISED: "#B279A2", HAZARD_SUPERVISED: "#4C78A8", HAZARD_NOT_SUPERVISED: "#D62728"}


def hazard_series_color(domain: list[str], title: str | None = None) -> alt.Color:
    return alt.Color(
        "series:N",
        title=title,
        scale=alt.Scale(domain=domain, range=[HAZARD_COLORS[d] for d in domain]),
        sort=domain,
        legend=alt.Legend(orient="bottom"),
    )


def _two_series_by_street(table: pd.DataFrame, series: list[tuple[str, pd.Series]], sort_by: list[str],
                          x_title: str, status_title: str, tip_title: str, title: str,
                          subtitle: str) -> alt.TopLevelMixin:
    """Horizontal bars per street, two stacked series (the first drawn first), streets in the
    order of `sort_by` (descending)."""
    names = [name for name, _ in series]
    long = pd.DataFrame({
        "street_name": list(table["street_name"]) * len(series),
        "series": [name for name, _ in series for _ in range(len(table))],
        "hazards": [v for _, values in series for v in list(values)],
    })
    long["series_order"] = long["series"].map({name: k for k, name in enumerate(names)})
    order = table.sort_values(sort_by, ascending=False, kind="stable")["street_name"].tolist()
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("sum(hazards):Q", title=x_title, axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("street_name:N", title="街道", sort=order),
            color=hazard_series_color(names),
            order=alt.Order("series_order:Q"),
            tooltip=[
                alt.Tooltip("street_name:N", title="街道"),
                alt.Tooltip("series:N", title=status_title),
                alt.Tooltip("sum(hazards):Q", title=tip_title),
            ],
        )
        .properties(height=band_height(len(order)), title=heading(title, subtitle))
    )


def hazards_open_by_street(table: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    return _two_series_by_street(
        table, [(HAZARD_OPEN_OVERDUE, table["open_overdue"]),
                (HAZARD_OPEN_NOT_DUE, table["open"] - table["open_overdue"])],
        ["open", "open_overdue"], "未整改隐患（项）", "状态", "隐患（项）", "分街道未整改隐患（项）", subtitle)


def hazards_major_by_street(table: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    return _two_series_by_street(
        table, [(HAZARD_NOT_SUPERVISED, table["major_not_supervised"]),
                (HAZARD_SUPERVISED, table["major_supervised"])],
        ["major", "major_not_supervised"], "重大隐患（项）", "督办情况", "重大隐患（项）",
        "分街道重大隐患挂牌督办情况（项）", subtitle)


def hazards_counts(trend: pd.DataFrame, grain: str, subtitle: str) -> alt.TopLevelMixin:
    long = trend.melt(id_vars=["period", "period_label"], value_vars=["found", "rectified"],
                      var_name="column", value_name="hazards")
    long["series"] = long["column"].map({"found": HAZARD_FOUND, "rectified": HAZARD_RECTIFIED})
    x_title = "发现月份" if grain == GRAIN_MONTH else "发现年份"
    x_axis = alt.Axis(labelAngle=-45 if grain == GRAIN_MONTH else 0)
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("period:O", title=x_title, axis=x_axis),
            xOffset=alt.XOffset("series:N", sort=[HAZARD_FOUND, HAZARD_RECTIFIED]),
            y=alt.Y("hazards:Q", title="隐患（项）", axis=alt.Axis(tickMinStep=1)),
            color=hazard_series_color([HAZARD_FOUND, HAZARD_RECTIFIED]),
            tooltip=[
                alt.Tooltip("period_label:N", title="期间"),
                alt.Tooltip("series:N", title="类别"),
                alt.Tooltip("hazards:Q", title="隐患（项）"),
            ],
        )
        .properties(
            height=340,
            title=heading("排查发现与已整改隐患（项）", subtitle),
        )
    )


def hazards_rates(trend: pd.DataFrame, grain: str, subtitle: str) -> alt.TopLevelMixin:
    columns = {"rate_pct": HAZARD_RATE_RECTIFIED}
    if grain != GRAIN_MONTH:
        columns["supervised_pct"] = HAZARD_RATE_SUPERVISED
    long = trend.melt(id_vars=["period", "period_label"], value_vars=list(columns),
                      var_name="column", value_name="rate")
    long["series"] = long["column"].map(columns)
    long = long[long["rate"].notna()]
    x_title = "发现月份" if grain == GRAIN_MONTH else "发现年份"
    x_axis = alt.Axis(labelAngle=-45 if grain == GRAIN_MONTH else 0)
    lines = (
        alt.Chart(long)
        .mark_line(point=alt.OverlayMarkDef(size=60), strokeWidth=2.5)
        .encode(
            x=alt.X("period:O", title=x_title, axis=x_axis, scale=alt.Scale(domain=list(trend["period"]))),
            y=alt.Y("rate:Q", title="比率（%）", scale=alt.Scale(domain=[0, 115]),
                    axis=alt.Axis(values=[0, 20, 40, 60, 80, 100])),
            color=hazard_series_color(list(columns.values())),
            tooltip=[
                alt.Tooltip("period_label:N", title="期间"),
                alt.Tooltip("series:N", title="指标"),
                alt.Tooltip("rate:Q", title="比率（%）", format=".1f"),
            ],
        )
    )
    # The label sits above the 100% line, in room kept free by the axis (lines near 100% used to
    # run through it).
    reference = reference_rule(100.0, "100% 参考线（全部整改/全部督办）", tooltip_title="参考线")
    chart_title = "隐患整改率（%）" if grain == GRAIN_MONTH else "隐患整改率与重大隐患挂牌督办率（%）"
    return alt.layer(lines, *reference).properties(height=340, title=heading(chart_title, subtitle))


# --- monitoring ----------------------------------------------------------------------------


MONITORING_OK_COLOR = "#54A24B"
MONITORING_BAD_COLOR = "#E45756"
MONITORING_HIGH_COLOR = "#F58518"


def monitoring_coverage(coverage: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    chart_df = coverage.assign(
        coverage_pct=coverage["coverage_24h"] * 100.0,
        label=coverage["hazard_source_name"].fillna(coverage["hazard_source_id"])
        + "（" + coverage["hazard_source_id"] + "）",
        status=coverage["fully_covered"].map(lambda full: "达到100%" if full else "低于100%"),
    )
    order = chart_df.sort_values(["coverage_24h", "hazard_source_id"])["label"].tolist()
    bars = (
        alt.Chart(chart_df)
        .mark_bar()
        .encode(
            x=alt.X("coverage_pct:Q", title="监测覆盖率（%）", scale=alt.Scale(domain=[0, 105])),
            # Whole names: cut at the default 180 px, enterprises' names looked alike.
            y=alt.Y("label:N", title="重大危险源", sort=order, axis=alt.Axis(labelLimit=420)),
            color=alt.Color(
                "status:N",
                title="状态",
                scale=alt.Scale(domain=["低于100%", "达到100%"], range=[MONITORING_BAD_COLOR, MONITORING_OK_COLOR]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="危险源"),
                alt.Tooltip("street_name:N", title="街道"),
                alt.Tooltip("points:Q", title="监测点（个）"),
                alt.Tooltip("points_reporting_24h:Q", title="近24小时在线（个）"),
                alt.Tooltip("coverage_pct:Q", title="覆盖率（%）", format=".1f"),
            ],
        )
    )
    rule = reference_rule(100.0, "要求 100%", axis="x", tooltip_title="要求")
    return alt.layer(bars, *rule).properties(
        height=band_height(len(order), overhead=220, per_band=36),
        title=heading(
            "各重大危险源在线监测覆盖率（%）",
            f"近24小时有读数的监测点占比，{subtitle}；红色虚线为要求（100%，全部监测点在线）",
        ),
    )


def monitoring_alarms_daily(daily: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    long = pd.concat(
        [
            daily[["day"]].assign(level="高高报", episodes=daily["high_high_episodes"], order=0),
            daily[["day"]].assign(
                level="高报", episodes=daily["episodes"] - daily["high_high_episodes"], order=1
            ),
        ],
        ignore_index=True,
    )
    long["day"] = pd.to_datetime(long["day"])
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("yearmonthdate(day):T", title="日期", axis=DAY_AXIS),
            y=alt.Y("sum(episodes):Q", title="报警（起）", stack="zero", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "level:N",
                title="报警级别",
                scale=alt.Scale(domain=["高高报", "高报"], range=[MONITORING_BAD_COLOR, MONITORING_HIGH_COLOR]),
                legend=alt.Legend(orient="bottom"),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("yearmonthdate(day):T", title="日期", format="%Y-%m-%d"),
                alt.Tooltip("level:N", title="报警级别"),
                alt.Tooltip("sum(episodes):Q", title="报警（起）"),
            ],
        )
        .properties(
            height=300,
            title=heading(
                "每日报警次数（起）",
                f"按报警开始日期，{subtitle}；一次报警 = 监测点连续超过高报阈值的一段读数",
            ),
        )
    )


# --- overview ------------------------------------------------------------------------------


OVERVIEW_DEPT_ORDER = list(data.DEPARTMENTS.values())  # 工矿商贸, 火灾, 道路交通
OVERVIEW_DEPT_COLORS = ["#4C78A8", "#E45756", "#F58518"]


def overview_projection(
    kpi: pd.DataFrame, column: str, p: Any, title: str, unit: str, fmt_text: Any, fmt: str
) -> alt.TopLevelMixin:
    actual = kpi.loc[kpi[column].notna() & (kpi["year"] <= p.last_year), ["year", column]]
    actual = actual.rename(columns={column: "value"}).assign(series="实际值")
    actual["year"] = actual["year"].astype(int)
    path = pd.DataFrame(
        {"year": [int(p.last_year), data.TARGET_YEAR], "value": [p.last_value, p.value],
         "series": "按当前速度推算"}
    )
    years = list(range(data.BASE_YEAR, data.TARGET_YEAR + 1))
    x = alt.X("year:O", title="年份", axis=alt.Axis(labelAngle=0), scale=alt.Scale(domain=years))
    y = alt.Y("value:Q", title=unit, scale=alt.Scale(zero=True))
    tooltip = [
        alt.Tooltip("year:O", title="年份"),
        alt.Tooltip("series:N", title="类别"),
        alt.Tooltip("value:Q", title=f"{title}（{unit}）", format=fmt),
    ]
    solid = (
        alt.Chart(actual)
        .mark_line(point=alt.OverlayMarkDef(size=60), strokeWidth=2.5, color="#4C78A8")
        .encode(x=x, y=y, tooltip=tooltip)
    )
    dashed = (
        alt.Chart(path)
        .mark_line(point=alt.OverlayMarkDef(size=60, color="#7F7F7F"), strokeWidth=2.5,
                   strokeDash=[6, 4], color="#7F7F7F")
        .encode(x=x, y=y, tooltip=tooltip)
    )
    label = (
        alt.Chart(path.tail(1))
        .mark_text(align="center", baseline="bottom", dy=-8, color="#555555")
        .encode(x=x, y=y, text=alt.Text("value:Q", format=fmt))
    )
    target_df = pd.DataFrame({"target": [p.target], "label": [f"2020年目标 ≤ {fmt_text(p.target)} {unit}"]})
    rule = (
        alt.Chart(target_df)
        .mark_rule(color=TARGET_COLOR, strokeDash=[6, 4], size=2)
        .encode(y="target:Q", tooltip=[alt.Tooltip("label:N", title="目标")])
    )
    text = (
        alt.Chart(target_df)
        .mark_text(align="left", baseline="bottom", dx=4, dy=-4, color=TARGET_COLOR)
        .encode(y="target:Q", x=alt.value(0), text="label:N")
    )
    return alt.layer(solid, dashed, label, rule, text).properties(
        height=320,
        title=heading(f"2020年{title}推算（{unit}）", f"全区；蓝线实际值，灰虚线按{data.BASE_YEAR}–{p.last_year}年年均变化外推，红线为目标"),
    )


def overview_dept_color() -> alt.Color:
    return alt.Color(
        "department_name:N",
        title="部门",
        scale=alt.Scale(domain=OVERVIEW_DEPT_ORDER, range=OVERVIEW_DEPT_COLORS),
        sort=OVERVIEW_DEPT_ORDER,
        legend=alt.Legend(orient="bottom"),
    )


def _first_value(df: pd.DataFrame, column: str) -> Any:
    values = df[column].dropna()
    return None if values.empty else values.iloc[0]


def _target_line(label: str, target: float) -> list[alt.Chart]:
    """A dashed red line at the target with its label above it, on the left."""
    target_df = pd.DataFrame({"target": [target], "label": [label]})
    rule = (
        alt.Chart(target_df)
        .mark_rule(color=TARGET_COLOR, strokeDash=[6, 4], size=2)
        .encode(y="target:Q", tooltip=[alt.Tooltip("label:N", title="目标")])
    )
    text = (
        alt.Chart(target_df)
        .mark_text(align="left", baseline="bottom", dx=4, dy=-4, color=TARGET_COLOR)
        .encode(y="target:Q", x=alt.value(0), text="label:N")
    )
    return [rule, text]


def overview_deaths_trend(kpi: pd.DataFrame) -> alt.TopLevelMixin:
    long = kpi.melt(
        id_vars=["year"],
        value_vars=list(labels.OVERVIEW_KPI_DEPT_COLUMNS),
        var_name="column",
        value_name="deaths",
    )
    long["department_name"] = long["column"].map(labels.OVERVIEW_KPI_DEPT_COLUMNS)
    long["dept_order"] = long["department_name"].map({d: i for i, d in enumerate(OVERVIEW_DEPT_ORDER)})
    long["year"] = long["year"].astype(int)
    long["deaths"] = pd.to_numeric(long["deaths"], errors="coerce").fillna(0)
    bars = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("year:O", title="年份", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(deaths):Q", title="死亡人数（人）", stack="zero"),
            color=overview_dept_color(),
            order=alt.Order("dept_order:Q"),
            tooltip=[
                alt.Tooltip("year:O", title="年份"),
                alt.Tooltip("department_name:N", title="部门"),
                alt.Tooltip("sum(deaths):Q", title="死亡人数（人）"),
            ],
        )
    )
    layers: list[alt.Chart] = [bars]
    target = _first_value(kpi, "deaths_target_2020")
    if target is not None:
        layers += _target_line(f"2020年目标 ≤ {components.fmt_count(target)} 人", float(target))
    return alt.layer(*layers).properties(
        height=340,
        title=heading("各类生产安全事故死亡人数（人）", "全区，2016年以来按部门堆叠；红色虚线为2020年目标（比2016年下降40%）"),
    )


def overview_rate_trend(kpi: pd.DataFrame) -> alt.TopLevelMixin:
    rates = kpi.loc[kpi["deaths_per_100m_gdp"].notna(), ["year", "deaths_per_100m_gdp", "gdp_status"]].copy()
    rates["year"] = rates["year"].astype(int)
    rates["gdp_status"] = rates["gdp_status"].fillna("—")
    line = (
        alt.Chart(rates)
        .mark_line(point=alt.OverlayMarkDef(size=70), color="#4C78A8", strokeWidth=2.5)
        .encode(
            x=alt.X("year:O", title="年份", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("deaths_per_100m_gdp:Q", title="死亡率（人/亿元）", scale=alt.Scale(zero=True)),
            tooltip=[
                alt.Tooltip("year:O", title="年份"),
                alt.Tooltip("deaths_per_100m_gdp:Q", title="死亡率（人/亿元）", format=".4f"),
                alt.Tooltip("gdp_status:N", title="GDP口径"),
            ],
        )
    )
    layers: list[alt.Chart] = [line]
    target = _first_value(kpi, "rate_target_2020")
    if target is not None:
        layers += _target_line(f"2020年目标 ≤ {components.fmt_rate(target)} 人/亿元", float(target))
    return alt.layer(*layers).properties(
        height=340,
        title=heading("亿元GDP生产安全事故死亡率（人/亿元）", "全区，2016年以来；红色虚线为2020年目标（比2016年下降55%）"),
    )


def overview_by_department(by_dept: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    return (
        alt.Chart(by_dept)
        .mark_bar()
        .encode(
            x=alt.X("deaths:Q", title="死亡人数（人）", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("department_name:N", title="部门", sort=OVERVIEW_DEPT_ORDER),
            color=overview_dept_color().legend(None),
            tooltip=[
                alt.Tooltip("department_name:N", title="部门"),
                alt.Tooltip("deaths:Q", title="死亡（人）"),
                alt.Tooltip("injuries:Q", title="受伤（人）"),
                alt.Tooltip("events:Q", title="事件（起）"),
            ],
        )
        .properties(
            height=240,
            title=heading("分部门死亡人数（人）", subtitle),
        )
    )


def overview_by_street(by_street: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    """Stacked bars per street (every street of ``by_street``, zeros included), most deaths on top."""
    long = by_street[["street_name", *OVERVIEW_DEPT_ORDER]].melt(
        id_vars=["street_name"], value_vars=OVERVIEW_DEPT_ORDER, var_name="department_name", value_name="deaths"
    )
    long["dept_order"] = long["department_name"].map({d: i for i, d in enumerate(OVERVIEW_DEPT_ORDER)})
    street_order = by_street["street_name"].tolist()
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("sum(deaths):Q", title="死亡人数（人）", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("street_name:N", title="街道", sort=street_order),
            color=overview_dept_color(),
            order=alt.Order("dept_order:Q"),
            tooltip=[
                alt.Tooltip("street_name:N", title="街道"),
                alt.Tooltip("department_name:N", title="部门"),
                alt.Tooltip("sum(deaths):Q", title="死亡（人）"),
            ],
        )
        .properties(
            height=band_height(len(street_order), overhead=250),
            title=heading("分街道死亡人数（人）", subtitle),
        )
    )


# --- enforcement ---------------------------------------------------------------------------


ENFORCEMENT_RESULT_COLORS = {"合格": "#54A24B", "责令整改": "#F2B134", "行政处罚": "#E45756", "停产整顿": "#8B1A1A"}
ENFORCEMENT_OTHER_RESULT_COLOR = "#9E9E9E"
ENFORCEMENT_PENALTY_COLOR = "#B5533C"
ENFORCEMENT_COVERAGE_COLOR = "#4C78A8"
ENFORCEMENT_DISTRICT_COLOR = "#333333"


def _enforcement_x(grain: str) -> alt.X:
    return alt.X(
        "period:O",
        title="检查月份" if grain == GRAIN_MONTH else "检查年份",
        axis=alt.Axis(labelAngle=-45 if grain == GRAIN_MONTH else 0),
    )


def enforcement_results(trend: pd.DataFrame, results: list[str], grain: str, subtitle: str) -> alt.TopLevelMixin:
    long = trend[["period", "period_label", *results]].melt(
        id_vars=["period", "period_label"], value_vars=results, var_name="result", value_name="inspections"
    )
    long["result_order"] = long["result"].map({r: i for i, r in enumerate(results)})
    colors = [ENFORCEMENT_RESULT_COLORS.get(r, ENFORCEMENT_OTHER_RESULT_COLOR) for r in results]
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=_enforcement_x(grain),
            y=alt.Y("sum(inspections):Q", title="执法检查（次）", stack="zero", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("result:N", title="检查结果", scale=alt.Scale(domain=results, range=colors),
                            sort=results, legend=alt.Legend(orient="bottom")),
            order=alt.Order("result_order:Q"),
            tooltip=[
                alt.Tooltip("period_label:N", title="期间"),
                alt.Tooltip("result:N", title="检查结果"),
                alt.Tooltip("sum(inspections):Q", title="执法检查（次）"),
            ],
        )
        .properties(
            height=340,
            title=heading("执法检查次数（次），按检查结果", subtitle),
        )
    )


def enforcement_penalties(trend: pd.DataFrame, grain: str, subtitle: str) -> alt.TopLevelMixin:
    return (
        alt.Chart(trend)
        .mark_bar(color=ENFORCEMENT_PENALTY_COLOR)
        .encode(
            x=_enforcement_x(grain),
            y=alt.Y("penalty_10k_yuan:Q", title="罚款金额（万元）"),
            tooltip=[
                alt.Tooltip("period_label:N", title="期间"),
                alt.Tooltip("penalty_10k_yuan:Q", title="罚款金额（万元）", format=",.2f"),
                alt.Tooltip("penalised:Q", title="罚款案件（起）"),
            ],
        )
        .properties(
            height=340,
            title=heading("行政处罚罚款金额（万元）", subtitle),
        )
    )


def enforcement_insurance_by_street(coverage: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    order = coverage.sort_values("coverage_pct", ascending=True, kind="stable", na_position="last")["street_name"].tolist()
    bars = (
        alt.Chart(coverage)
        .mark_bar(color=ENFORCEMENT_COVERAGE_COLOR)
        .encode(
            x=alt.X("coverage_pct:Q", title="安责险覆盖率（%）", scale=alt.Scale(domain=[0, 100])),
            y=alt.Y("street_name:N", title="街道", sort=order),
            tooltip=[
                alt.Tooltip("street_name:N", title="街道"),
                alt.Tooltip("coverage_pct:Q", title="覆盖率（%）", format=".1f"),
                alt.Tooltip("insured:Q", title="在保单位（家）"),
                alt.Tooltip("units:Q", title="在册单位（家）"),
            ],
        )
    )
    rule = reference_rule(100.0, "100% 参考线", axis="x", tooltip_title="参考线")
    return alt.layer(bars, *rule).properties(
        height=band_height(len(order), overhead=160),
        title=heading("各街道安责险覆盖率（%，当前）", subtitle),
    )


def enforcement_insurance_trend(trend: pd.DataFrame, series: list[str], subtitle: str) -> alt.TopLevelMixin:
    palette = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#72B7B2", "#EECA3B", "#9D755D", "#FF9DA6", "#BAB0AC"]
    colors = [ENFORCEMENT_DISTRICT_COLOR if s == DISTRICT else palette[(i - 1) % len(palette)] for i, s in enumerate(series)]
    line = (
        alt.Chart(trend)
        .mark_line(point=alt.OverlayMarkDef(size=60), strokeWidth=2.5)
        .encode(
            x=alt.X("year:O", title="年份", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("coverage_pct:Q", title="安责险覆盖率（%）", scale=alt.Scale(domain=[0, 115]),
                    axis=alt.Axis(values=[0, 20, 40, 60, 80, 100])),
            color=alt.Color("street_name:N", title="范围", scale=alt.Scale(domain=series, range=colors),
                            sort=series, legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("year:O", title="年份"),
                alt.Tooltip("street_name:N", title="范围"),
                alt.Tooltip("coverage_pct:Q", title="覆盖率（%）", format=".1f"),
            ],
        )
    )
    reference = reference_rule(100.0, "100% 参考线（全部投保）", tooltip_title="参考线")
    return alt.layer(line, *reference).properties(
        height=360 + 20 * ((len(series) + 2) // 3),
        title=heading("安责险覆盖率（%），按年", subtitle),
    )


# --- emergency -----------------------------------------------------------------------------


EMERGENCY_TIERS = list(feed("emergency", "plans").column("tier").choices)  # the registry's, in order
EMERGENCY_TIER_COLORS = ["#4C78A8", "#72B7B2", "#F58518", "#54A24B", "#B279A2"]
EMERGENCY_RESOURCE_TYPES = list(feed("emergency", "resources").column("resource_type").choices)
EMERGENCY_RESOURCE_COLORS = ["#4C78A8", "#F58518", "#54A24B", "#BAB0AC", "#9D755D"]
EMERGENCY_OK_COLOR = "#54A24B"
EMERGENCY_BAD_COLOR = "#E45756"
EMERGENCY_CONTEXT_COLOR = "#9E9E9E"


def _dot_text(text: Any) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


GRAPH_HEADER = [
    '  graph [rankdir=LR, nodesep=0.15, ranksep=0.5, fontname="sans-serif"];',
    # margin: graphviz sizes a box with its own font metrics, narrower than the browser's CJK
    # glyphs; the default margin left plan names touching (or crossing) the box (issue 13).
    '  node [shape=box, style="rounded,filled", fontname="sans-serif", fontsize=11, margin="0.2,0.08", '
    'fillcolor="#F3F6FA", color="#4C78A8"];',
    '  edge [color="#8899AA", arrowsize=0.6];',
]


def emergency_plan_graph(tree: pd.DataFrame, *, collapse_communities: bool) -> str | None:
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
        for pid in reversed(components.plan_chain(row.chain)[:-1]):
            if pid in linked.index and linked.at[pid, "tier"] not in collapsed_tiers:
                holder = pid
                break
        if holder is not None:
            counts.setdefault(holder, {}).setdefault(row.tier, 0)
            counts[holder][row.tier] += 1

    lines = ['digraph "已衔接到区级预案的预案" {', *GRAPH_HEADER]  # the name is the SVG's tooltip
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
            attrs.append(f'color="{EMERGENCY_CONTEXT_COLOR}", fontcolor="{EMERGENCY_CONTEXT_COLOR}", fillcolor="#F5F5F5"')
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


def emergency_broken_graph(tree: pd.DataFrame) -> str | None:
    """A graphviz (DOT) drawing of the plans that do not reach the district plan, in red with
    their issue, with their links among themselves and a dashed node for a parent that is not on
    the current list; None when every plan is linked."""
    plans = tree.set_index("plan_id", drop=False)
    broken = plans[~plans["reaches_district_plan"].fillna(False).astype(bool)]
    if broken.empty:
        return None
    lines = ['digraph "未衔接到区级预案的预案" {', *GRAPH_HEADER]
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


def emergency_drills_by_tier(tiers: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    chart_df = tiers[tiers["plans"] > 0].assign(
        status=lambda df: df["coverage_pct"].map(lambda p: "全部演练" if p >= 100 else "有未演练预案")
    )
    bars = (
        alt.Chart(chart_df)
        .mark_bar()
        .encode(
            x=alt.X("coverage_pct:Q", title="演练覆盖率（%）", scale=alt.Scale(domain=[0, 105])),
            y=alt.Y("tier:N", title="预案层级", sort=EMERGENCY_TIERS),
            color=alt.Color(
                "status:N",
                title="状态",
                scale=alt.Scale(domain=["有未演练预案", "全部演练"], range=[EMERGENCY_BAD_COLOR, EMERGENCY_OK_COLOR]),
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
    rule = reference_rule(100.0, "要求 100%", axis="x", tooltip_title="要求")
    return alt.layer(bars, *rule).properties(
        height=band_height(len(chart_df), overhead=230),
        title=heading("各层级预案近12个月演练覆盖率（%）", f"{subtitle}；红色虚线为要求（每个预案每年至少演练一次）"),
    )


def emergency_drills_by_year(per_year: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    """Drills per year stacked by tier: the rows of ``data.load_drills_by_year`` (the mart's
    counts and tier order)."""
    tiers = EMERGENCY_TIERS + sorted(set(per_year["plan_tier_label"]) - set(EMERGENCY_TIERS))
    colors = EMERGENCY_TIER_COLORS + ["#BAB0AC"] * (len(tiers) - len(EMERGENCY_TIERS))
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
            title=heading("各年度应急演练次数（次）", subtitle),
        )
    )


def emergency_resources(resources: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    types = EMERGENCY_RESOURCE_TYPES + sorted(set(resources["resource_type"]) - set(EMERGENCY_RESOURCE_TYPES))
    colors = (EMERGENCY_RESOURCE_COLORS * 3)[: len(types)]
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
            height=band_height(len(street_order)),
            title=heading("各街道应急资源（项）", f"{subtitle}；登记条目数，各类数量见下表"),
        )
    )


# --- demonstration -------------------------------------------------------------------------


DEMONSTRATION_PLANNED_COLOR = "#9ECAE9"
DEMONSTRATION_NAMED_COLOR = "#54A24B"


def demonstration_progress_by_street(by_street: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    """Per street, side by side: the units planned to be named in the year and, of them, those
    named by its last snapshot (``units_planned``, ``units_planned_named`` as published), the
    streets in the order given (the district's)."""
    texts = labels.DEMONSTRATION_TEXTS
    series = [texts["chart_planned"], texts["chart_planned_named"]]
    order = list(dict.fromkeys(by_street["street_name"]))
    long = pd.DataFrame({
        "street_name": list(by_street["street_name"]) * len(series),
        "series": [name for name in series for _ in range(len(by_street))],
        "units": [*by_street["units_planned"], *by_street["units_planned_named"]],
    })
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("units:Q", title=texts["chart_units"], axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("street_name:N", title=texts["chart_street"], sort=order),
            yOffset=alt.YOffset("series:N", sort=series),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(domain=series, range=[DEMONSTRATION_PLANNED_COLOR, DEMONSTRATION_NAMED_COLOR]),
                sort=series,
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("street_name:N", title=texts["chart_street"]),
                alt.Tooltip("series:N", title="类别"),
                alt.Tooltip("units:Q", title=texts["chart_units"]),
            ],
        )
        .properties(
            height=band_height(len(order), overhead=160, per_band=40),
            title=heading(texts["chart_title"], subtitle),
        )
    )


# --- education -----------------------------------------------------------------------------


EDUCATION_PEOPLE_COLOR = "#4C78A8"
EDUCATION_COVERAGE_COLOR = "#54A24B"


def _education_street_bars(streets: pd.DataFrame, field: str, axis_title: str, value_format: str,
                           color: str, title: str, subtitle: str, details: list[str],
                           domain: list[float] | None = None) -> alt.TopLevelMixin:
    """Horizontal bars of one published column per street, the streets in the order given (the
    district's, so that the page's two street charts read row by row); ``details``: the columns
    behind the value, in the tooltip."""
    headers = labels.EDUCATION_STREET_HEADERS
    order = list(dict.fromkeys(streets["street_name"]))
    scale = alt.Scale(domain=domain) if domain else alt.Undefined
    return (
        alt.Chart(streets[["street_name", field, *details]])
        .mark_bar(color=color)
        .encode(
            x=alt.X(f"{field}:Q", title=axis_title, scale=scale),
            y=alt.Y("street_name:N", title=labels.EDUCATION_TEXTS["chart_street"], sort=order),
            tooltip=[
                alt.Tooltip("street_name:N", title=labels.EDUCATION_TEXTS["chart_street"]),
                alt.Tooltip(f"{field}:Q", title=axis_title, format=value_format),
                *(alt.Tooltip(f"{c}:Q", title=headers[c], format=",") for c in details),
            ],
        )
        .properties(height=band_height(len(order), overhead=160), title=heading(title, subtitle))
    )


def education_per_1000_by_street(streets: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    """Attendances per 1,000 residents per street (``attendances_per_1000_residents``)."""
    texts = labels.EDUCATION_TEXTS
    return _education_street_bars(
        streets, "attendances_per_1000_residents", texts["per_1000"], ".2f", EDUCATION_PEOPLE_COLOR,
        texts["chart_per_1000"], subtitle, ["attendances", "residents_10k"])


def education_coverage_by_street(streets: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    """The enterprise training coverage per street (``coverage_pct``: the covered enterprises
    over the active ones, in percent, as the page's table shows it)."""
    texts = labels.EDUCATION_TEXTS
    return _education_street_bars(
        streets, "coverage_pct", labels.EDUCATION_STREET_HEADERS["coverage_pct"], ".1f", EDUCATION_COVERAGE_COLOR,
        texts["chart_coverage"], subtitle, ["enterprises_covered", "active_enterprises"], domain=[0, 100])


def education_people_by_type(types: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    """People reached per activity type (``people_reached``: offline attendances; an online
    course reaches none, its views are in the tooltip), the types in the order given."""
    texts = labels.EDUCATION_TEXTS
    headers = labels.EDUCATION_TYPE_HEADERS
    order = list(dict.fromkeys(types["activity_type"]))
    return (
        alt.Chart(types[["activity_type", "activities", "people_reached", "online_views", "passed"]])
        .mark_bar(color=EDUCATION_PEOPLE_COLOR)
        .encode(
            x=alt.X("people_reached:Q", title=texts["chart_people"], axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("activity_type:N", title=texts["chart_type"], sort=order),
            tooltip=[
                alt.Tooltip("activity_type:N", title=headers["activity_type"]),
                alt.Tooltip("activities:Q", title=headers["activities"], format=","),
                alt.Tooltip("people_reached:Q", title=headers["people_reached"], format=","),
                alt.Tooltip("online_views:Q", title=headers["online_views"], format=","),
                alt.Tooltip("passed:Q", title=headers["passed"], format=","),
            ],
        )
        .properties(height=band_height(len(order), overhead=160), title=heading(texts["chart_types"], subtitle))
    )
