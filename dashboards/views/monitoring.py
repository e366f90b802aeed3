"""监测: major hazard sources under online monitoring, their coverage and their alarms.

* Monitoring coverage per major hazard source (``marts.agg_monitoring_coverage``): the share of
  its monitoring points that sent a reading in the 24 hours before the data's as-of time, with the
  100 % requirement drawn as a line; sources below it stand out in red.
* The daily alarm trend over the selected period (``marts.agg_sensor_alarms_daily``, grouped in
  SQL).
* The recent alarm episodes, last 7 or 30 days of data (``marts.fct_sensor_alarm_episodes``, read
  with a bound lower date and a LIMIT: a year of episodes can be large).
* 告警响应 (``marts.agg_alarm_response_by_month``), for the months of the selected period: per grade
  the alarms, acknowledged, on site, closed, escalated and still open (counts, summed over the
  rows), and the published p50/p95 minutes to acknowledge and to close row by row (percentiles do
  not add up): the district's rows (ALL) with no street chosen, else the chosen streets' rows.

A hazard source's street is the street of the unit operating it (``marts.dim_enterprises`` by
unit code); a source whose unit is not in the registry counts under 未知街道.

Filters (sidebar) are kept in the URL:
``?streets=WL,TS&source=XC-WXY-001&days=30&from=2024-05-01&to=2024-05-31``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from citysafety.act import routing
from citysafety.share import labels
from dashboards import charts, components, data, frame

# --- constants --------------------------------------------------------------------------------

KEY_STREETS = "monitoring_streets"
KEY_SOURCE = "monitoring_source"
KEY_WINDOW = "monitoring_window"
KEY_PERIOD = "monitoring_period"
QP_SOURCE = "source"
QP_WINDOW = "days"

WINDOWS = {days: labels.monitoring_window_name(days) for days in data.ALARM_WINDOW_DAYS}
DEFAULT_WINDOW = data.ALARM_WINDOW_DAYS[0]
EPISODE_LIMIT = 500

TIME_FORMAT = "YYYY-MM-DD HH:mm"


# --- small helpers ----------------------------------------------------------------------------


def _scope_text(streets_df: pd.DataFrame, selected: list[str], source_name: str | None) -> str:
    names = components.street_names(streets_df)
    scope = frame.scope_text(names, selected, "全区")
    return f"{scope}·{source_name}" if source_name else scope


# --- filters (sidebar + URL) ------------------------------------------------------------------


def _sidebar_filters(
    streets_df: pd.DataFrame, bounds: tuple[dt.date, dt.date] | None
) -> tuple[list[str], str, dict[str, str], int, tuple[dt.date, dt.date] | None]:
    def _reset() -> None:
        st.session_state[KEY_STREETS] = []
        st.session_state[KEY_SOURCE] = frame.ALL
        st.session_state[KEY_WINDOW] = DEFAULT_WINDOW
        if bounds is not None:
            st.session_state[KEY_PERIOD] = bounds

    with frame.sidebar(reset=_reset):
        selected = frame.street_filter(
            streets_df,
            key=KEY_STREETS,
            help="按危险源所属单位的街道筛选（单位不在企业名录中的危险源计入未知街道）。",
        )
        sources = data.load_monitoring_coverage(selected)
        options = {
            str(r.hazard_source_id): f"{r.hazard_source_name}（{r.hazard_source_id}）"
            for r in sources.sort_values("hazard_source_id").itertuples()
        }
        source = frame.select_filter(
            options,
            key=KEY_SOURCE,
            param=QP_SOURCE,
            label="危险源",
            all_label="全部危险源",
            help="只看一个重大危险源的覆盖率和报警。",
        )
        days = frame.radio_filter(
            WINDOWS,
            key=KEY_WINDOW,
            param=QP_WINDOW,
            label="最近报警",
            default=DEFAULT_WINDOW,
            help="报警明细显示截至数据最新时间的最近7天或30天（含当天）。",
        )
        period = None
        if bounds is not None:
            period = frame.period_filter(
                bounds,
                key=KEY_PERIOD,
                label="报警趋势期间",
                help="每日报警趋势图的日期范围（按报警开始日期，含首尾两天）。",
            )
    return selected, source, options, days, period


# --- sections ---------------------------------------------------------------------------------


def _summary_section(coverage: pd.DataFrame, window_counts: dict[str, int], days: int) -> None:
    points = int(coverage["points"].sum())
    reporting = int(coverage["points_reporting_24h"].sum())
    below = coverage[~coverage["fully_covered"].astype(bool)]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("重大危险源", f"{len(coverage)} 个", border=True)
    c2.metric(
        "监测点（近24小时在线）",
        f"{reporting} / {points} 个",
        help="近24小时内至少有一条读数的监测点 / 全部监测点。",
        border=True,
    )
    c3.metric(
        "在线监测覆盖率",
        components.pct(reporting, points),
        help="近24小时在线的监测点占全部监测点的比例，要求100%。",
        border=True,
    )
    c4.metric("覆盖率低于100%的危险源", f"{len(below)} 个", border=True)
    # the window's counts: marts.rpt_monitoring_alarm_windows summed over the selection
    episodes = window_counts["episodes"]
    high_high = window_counts["high_high_episodes"]
    alarming = window_counts["hazard_sources_alarming"]
    c5, c6, c7 = st.columns(3)
    c5.metric(f"报警（{WINDOWS[days]}）", f"{episodes} 起", border=True)
    c6.metric(f"高高报（{WINDOWS[days]}）", f"{high_high} 起", border=True)
    c7.metric(f"报警危险源（{WINDOWS[days]}）", f"{alarming} 个", border=True)
    if not below.empty:
        items = "；".join(
            f"{r.hazard_source_name}（{r.street_name}，{r.points_reporting_24h}/{r.points} 个点在线）"
            for r in below.itertuples()
        )
        st.error(f"以下重大危险源监测覆盖率低于100%：{items}", icon=":material/sensors_off:")


def _coverage_section(coverage: pd.DataFrame, scope: str) -> None:
    st.subheader(f"重大危险源在线监测覆盖率（{scope}）")
    if coverage.empty:
        st.info("所选范围内没有重大危险源。")
        return
    st.altair_chart(charts.monitoring_coverage(coverage, scope), width="stretch")
    table = coverage.copy()
    table["coverage_pct"] = (table["coverage_24h"] * 100.0).round(1)
    table["status"] = table["fully_covered"].map(lambda full: "✅ 全部在线" if full else "❌ 低于100%")
    table["unit_name"] = table["unit_name"].fillna("（不在企业名录）")
    frame.table(
        table,
        labels.MONITORING_SOURCE_HEADERS,
        column_config={
            "监测覆盖率（%）": st.column_config.ProgressColumn(
                format="%.1f%%", min_value=0, max_value=100
            ),
            "最近读数时间": st.column_config.DatetimeColumn(format=TIME_FORMAT),
        },
    )
    frame.download_buttons(
        table, "监测_危险源覆盖率", labels.MONITORING_SOURCE_HEADERS, key="monitoring_sources", sheet_name="危险源覆盖率"
    )


def _trend_section(
    period: tuple[dt.date, dt.date], selected: list[str], source: str, scope: str
) -> None:
    lo, hi = period
    period_text = f"{lo:%Y-%m-%d}" if lo == hi else f"{lo:%Y-%m-%d} 至 {hi:%Y-%m-%d}"
    st.subheader(f"每日报警趋势（{period_text}，{scope}）")
    try:
        daily = data.load_alarms_daily(lo, hi, selected, source)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    days = pd.DataFrame({"day": pd.date_range(lo, hi, freq="D").date})
    daily = days.merge(
        daily.assign(day=pd.to_datetime(daily["day"]).dt.date), on="day", how="left"
    )
    counts = ["episodes", "high_high_episodes", "alarm_readings", "points_alarming", "readings"]
    daily[counts] = daily[counts].fillna(0).astype("int64")
    total = int(daily["episodes"].sum())
    c1, c2, c3 = st.columns(3)
    c1.metric("报警（所选期间）", f"{total} 起", border=True)
    c2.metric("高高报（所选期间）", f"{int(daily['high_high_episodes'].sum())} 起", border=True)
    c3.metric(
        "日均报警（所选期间）",
        f"{total / len(daily):.1f} 起" if len(daily) else "—",
        border=True,
    )
    st.altair_chart(charts.monitoring_alarms_daily(daily, f"{period_text}，{scope}"), width="stretch")
    with st.expander("每日明细"):
        shown = daily[daily["episodes"] + daily["alarm_readings"] > 0]
        frame.table(
            shown,
            labels.MONITORING_TREND_HEADERS,
            column_config={"日期": st.column_config.DateColumn(format="YYYY-MM-DD")},
        )
        frame.download_buttons(
            daily, "监测_每日报警", labels.MONITORING_TREND_HEADERS, key="monitoring_daily", sheet_name="每日报警"
        )


def _episodes_section(
    window: tuple[dt.date, dt.date] | None,
    days: int,
    selected: list[str],
    source: str,
    scope: str,
    window_total: int,
) -> None:
    st.subheader(f"最近报警明细（{WINDOWS[days]}，{scope}）")
    if window is None:
        st.info("暂无传感器数据。")
        return
    start, end_day = window  # the window's days are the mart's (rpt_monitoring_alarm_windows)
    st.caption(
        f"{start:%Y-%m-%d} 至 {end_day:%Y-%m-%d}开始的报警，最新在前。一次报警 = 同一监测点连续超过"
        "高报阈值的一段读数；解除时间为空表示报警尚未解除（之后还没有正常读数）。"
    )
    try:
        episodes = data.load_alarm_episodes(start, end_day, selected, source, limit=EPISODE_LIMIT)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if episodes.empty:
        st.success(f"{WINDOWS[days]}没有报警。", icon=":material/check_circle:")
        return
    if window_total > len(episodes):
        st.caption(f"共 {window_total} 起报警，仅显示最新的 {len(episodes)} 起。")
    table = episodes.copy()
    table["metric_name"] = table["metric"].map(lambda m: data.METRIC_NAMES.get(m, m))
    table["level_name"] = table["reached_high_high"].map(lambda hh: "高高报" if bool(hh) else "高报")
    table["unit_name"] = table["unit_name"].fillna("（不在企业名录）")
    table["cleared_at"] = pd.to_datetime(table["cleared_at"])
    table["state"] = table["cleared_at"].map(lambda t: "未解除" if components.missing(t) else "已解除")
    frame.table(
        table,
        labels.MONITORING_EPISODE_HEADERS,
        column_config={
            "报警开始时间": st.column_config.DatetimeColumn(format=TIME_FORMAT),
            "最后报警读数时间": st.column_config.DatetimeColumn(format=TIME_FORMAT),
            "解除时间": st.column_config.DatetimeColumn(format=TIME_FORMAT),
            "持续时长（分钟）": st.column_config.NumberColumn(format="%.0f"),
        },
    )
    frame.download_buttons(
        table, f"监测_最近报警_{days}天", labels.MONITORING_EPISODE_HEADERS, key="monitoring_episodes", sheet_name="最近报警"
    )


RESPONSE_TABLE = "agg_alarm_response_by_month"
RESPONSE_COUNTS = ["alarms", "acknowledged", "on_site", "closed", "escalated", "still_open"]
RESPONSE_MINUTES = ["p50_minutes_to_acknowledge", "p95_minutes_to_acknowledge",
                    "p50_minutes_to_close", "p95_minutes_to_close"]


def _grade_name(code: str) -> str:
    return labels.alarm_grade_name(code, routing.COLORS.get(code))


def _response_section(
    period: tuple[dt.date, dt.date] | None, selected: list[str], source: str, scope: str
) -> None:
    texts = labels.MONITORING_RESPONSE_TEXTS
    if period is None:
        st.subheader(f"{texts['title']}（{scope}）")
    else:
        lo, hi = period
        months = f"{lo:%Y-%m}" if f"{lo:%Y-%m}" == f"{hi:%Y-%m}" else f"{lo:%Y-%m} 至 {hi:%Y-%m}"
        st.subheader(f"{texts['title']}（{months}，{scope}）")
    st.caption(texts["caption"])
    if not frame.sees(RESPONSE_TABLE):
        st.caption(f":material/lock: {frame.NOT_IN_SCOPE}")
        return
    if source:
        st.caption(texts["no_source"])
    # No street chosen: the district's rows, or a limited account's own streets (it has no ALL).
    streets = selected or frame.viewer_streets() or []
    try:
        rows = data.load_alarm_response(streets, period)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if rows.empty or int(rows["alarms"].sum()) == 0:
        st.info(texts["empty"])
        return
    rows = rows.assign(grade_name=rows["grade"].map(_grade_name))
    rows[RESPONSE_COUNTS] = rows[RESPONSE_COUNTS].astype("int64")
    totals = rows[RESPONSE_COUNTS].sum()
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("告警（所选期间）", f"{int(totals['alarms'])} 起", border=True)
    c2.metric("已签收", f"{int(totals['acknowledged'])} 起", border=True)
    c3.metric("已处置完毕", f"{int(totals['closed'])} 起", border=True)
    c4.metric("尚未结案", f"{int(totals['still_open'])} 起", border=True,
              help="构建数据时尚未归档的告警（含已处置待归档）。")
    st.markdown(f"**{texts['by_grade']}**")
    by_grade = rows.groupby(["grade", "grade_name"], as_index=False)[RESPONSE_COUNTS].sum()
    frame.table(by_grade, labels.MONITORING_RESPONSE_GRADE_HEADERS)
    district = not selected and frame.viewer_streets() is None
    st.markdown(f"**{texts['district'] if district else texts['streets']}**")
    shown = rows[rows["alarms"] > 0]
    headers = dict(labels.MONITORING_RESPONSE_ROW_HEADERS)
    if district:
        headers.pop("street_name")
    minutes = {headers[c]: st.column_config.NumberColumn(format="%.1f") for c in RESPONSE_MINUTES}
    frame.table(shown, headers, keys=3 if not district else 2, column_config=minutes)
    frame.download_buttons(
        shown, "监测_告警响应", headers, key="monitoring_response", sheet_name="告警响应"
    )


# --- page -------------------------------------------------------------------------------------


def render() -> None:
    frame.header(
        "重大危险源监测",
        "重大危险源在线监测：监测点是否在线（近24小时覆盖率）、报警趋势与最近报警。危险源按所属单位的街道归属。",
    )
    try:
        streets_df = data.load_streets()
        as_of, first_day, last_day = data.load_monitoring_span()
        bounds = None if first_day is None else (first_day, max(last_day, first_day))
        selected, source, options, days, period = _sidebar_filters(streets_df, bounds)
        coverage = data.load_monitoring_coverage(selected, source)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return

    scope = _scope_text(streets_df, selected, options.get(source) if source else None)
    try:
        window = data.load_alarm_windows().get(days)
        window_counts = data.load_alarm_window_counts(days, selected, source)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return

    if coverage.empty and first_day is None:
        st.info("数据集市中暂无重大危险源监测数据，请确认数据管道已成功运行。")
        return
    if as_of is not None:
        st.caption(
            f"数据截至 {as_of:%Y-%m-%d %H:%M}（最新读数时间）：覆盖率按此前24小时计算，"
            "最近报警也截至此时。"
        )
    _summary_section(coverage, window_counts, days)
    st.divider()
    _coverage_section(coverage, scope)
    if period is not None:
        st.divider()
        _trend_section(period, selected, source, scope)
    st.divider()
    _episodes_section(window, days, selected, source, scope, window_counts["episodes"])
    st.divider()
    _response_section(period, selected, source, _scope_text(streets_df, selected, None))


if __name__ == "__main__":
    render()
