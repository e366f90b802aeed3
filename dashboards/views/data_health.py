"""数据健康: are the departments' deliveries arriving, and how good are they?

* Every feed of the registry, grouped by department (``marts.rpt_data_health_feeds``: names,
  order, cadence, the latest delivered file and the due time of the next are dbt's): its
  freshness now, dbt's due time against the clock (正常 / 逾期 N
  天 / 未收到; always as of now, whatever the period), the files and rows delivered, loaded and
  quarantined in the selected period, and the files by status.
* The top quarantine reasons per feed (``audit.quarantine``, grouped in SQL, delivered values
  masked; ``raw_record`` is never read).
* The delivered street values that map to no street (``marts.agg_street_values``, UNKNOWN).
* dbt source freshness of the last build (``marts.rpt_data_health_source_freshness``, most urgent
  first): warnings shown, errors stopped the publish.
* The last quality gate (``audit.quality_results``) and its report (the Data Docs, shown inside
  the page to the principals allowed to read it, offline: citysafety.mart.datadocs).

Filters (sidebar) are kept in the URL: ``?dept=emb&from=2024-01-01&to=2024-03-31`` (the period is
the day the platform loaded a file, Beijing time, both days included).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import streamlit as st

from citysafety.mart import datadocs
from citysafety.sources import SOURCES
from citysafety.share import labels
from dashboards import auth, components, data, frame

# --- constants --------------------------------------------------------------------------------

KEY_DEPT = "data_health_department"
KEY_PERIOD = "data_health_period"
QP_DEPT = "dept"
TOP_REASONS = 5
QP_DOCS = "docs"  # the quality report's page, relative to its site (one of datadocs.pages)
KEY_DOCS = "data_health_docs_page"
KEY_DOCS_OPEN = "data_health_docs_open"
KEY_DOCS_AUDITED = "data_health_docs_audited"
DOCS_HEIGHT = 900

DEPARTMENTS: dict[str, str] = {s.name: s.department for s in SOURCES}
# marts.rpt_data_health_feeds.status
ON_TIME, OVERDUE, NOT_RECEIVED = "on_time", "overdue", "not_received"
SHARED_TABLES = "全区（共用）"

DELIVERY_HEADERS = {
    **labels.DATA_HEALTH_DELIVERY_HEADERS,
    **{f"files_{status}": name for status, name in data.FILE_STATUSES.items()},
    "files_resent": "同名重新交付",
}
TIME_FORMAT = "YYYY-MM-DD HH:mm"


# --- small helpers ----------------------------------------------------------------------------


def cadence_name(days: Any) -> str:
    """The agreed cadence (whole days, dbt's ``cadence_days``) as a leader says it."""
    if components.missing(days):
        return "—"
    days = int(days)
    name = labels.DATA_HEALTH_CADENCE_NAMES.get(days)
    return f"{name}（{days}天）" if name else f"每{days}天"


def status_now(status: Any, due_at: Any, now: dt.datetime) -> tuple[str, int | None]:
    """(status code, whole days late) of a feed at ``now`` (naive UTC).

    The rule is dbt's (marts.rpt_data_health_feeds: due_at = last delivery + cadence, its
    status as of the build); the page only reads the clock: a delivered feed is overdue once
    now is past due_at, by the whole days since, any part of a day counting as a day, as dbt
    counts them. A feed never delivered or not registered keeps dbt's status."""
    if status not in (ON_TIME, OVERDUE) or components.missing(due_at):
        return str(status), None
    due = pd.Timestamp(due_at).to_pydatetime()
    if now <= due:
        return ON_TIME, None
    return OVERDUE, math.ceil((now - due) / dt.timedelta(days=1))


def feed_table(feeds: pd.DataFrame, now: dt.datetime) -> pd.DataFrame:
    """The feeds as dbt publishes them (``data.load_feed_deliveries``, in display order), with the
    status at ``now`` and the Chinese labels."""
    table = feeds.reset_index(drop=True).copy()
    states = [status_now(s, d, now) for s, d in zip(table["status"], table["due_at"])]
    table["status_now"] = [s[0] for s in states]
    table["freshness"] = table["status_now"].map(labels.DATA_HEALTH_FEED_STATUS).fillna("—")
    table["days_late"] = pd.array([s[1] for s in states], dtype="Int64")
    table["due_local"] = data.utc_to_local(table["due_at"])
    table["last_loaded_local"] = data.utc_to_local(table["last_loaded_at"])
    table["cadence_name"] = table["cadence_days"].map(cadence_name)
    table["last_status_name"] = table["last_status"].map(
        lambda s: None if components.missing(s) else data.FILE_STATUSES.get(s, s)
    )
    table["quarantine_pct"] = [
        round(100.0 * q / d, 2) if d else None
        for q, d in zip(table["rows_quarantined"], table["rows_delivered"])
    ]
    return table


def _period_text(lo: dt.date, hi: dt.date, full: bool) -> str:
    if full:
        return "全部交付"
    return f"{lo:%Y-%m-%d}" if lo == hi else f"{lo:%Y-%m-%d} 至 {hi:%Y-%m-%d}"


# --- filters (sidebar + URL) ------------------------------------------------------------------


def _sidebar_filters(d_min: dt.date, d_max: dt.date) -> tuple[str, dt.date, dt.date]:
    def _reset() -> None:
        st.session_state[KEY_DEPT] = frame.ALL
        st.session_state[KEY_PERIOD] = (d_min, d_max)

    with frame.sidebar(reset=_reset):
        source = frame.select_filter(
            DEPARTMENTS,
            key=KEY_DEPT,
            param=QP_DEPT,
            label="部门",
            all_label="全部",
            help="只显示该部门报送的数据项。质量门禁结果始终为全库。",
        )
        lo, hi = frame.period_filter(
            (d_min, d_max),
            key=KEY_PERIOD,
            label="交付期间（平台接收日期）",
            help="按平台接收（加载）文件的日期筛选交付、隔离统计（北京时间，含首尾两天）。"
            "时效状态始终按截至目前的最近一次交付计算。",
        )
    return source, lo, hi


# --- sections ---------------------------------------------------------------------------------


def _summary_section(table: pd.DataFrame, period: str) -> None:
    registered = table[table["registered"].astype(bool)]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("数据项", f"{len(registered)} 项", border=True)
    c2.metric("按时交付", f"{int((registered['status_now'] == ON_TIME).sum())} 项", border=True)
    c3.metric("逾期", f"{int((registered['status_now'] == OVERDUE).sum())} 项", border=True)
    c4.metric("未收到", f"{int((registered['status_now'] == NOT_RECEIVED).sum())} 项", border=True)

    delivered = int(table["rows_delivered"].sum())
    quarantined = int(table["rows_quarantined"].sum())
    c5, c6, c7, c8 = st.columns(4)
    c5.metric(f"交付文件（{period}）", f"{int(table['files'].sum()):,} 个", border=True)
    c6.metric(f"交付行数（{period}）", f"{delivered:,} 行", border=True)
    c7.metric(f"隔离行数（{period}）", f"{quarantined:,} 行", border=True)
    c8.metric(
        f"隔离占比（{period}）",
        f"{100.0 * quarantined / delivered:.2f}%" if delivered else "—",
        border=True,
    )

    overdue = registered[registered["status_now"] == OVERDUE]
    if not overdue.empty:
        items = "；".join(
            f"{r.department}·{r.title}（逾期 {int(r.days_late)} 天）" for r in overdue.itertuples()
        )
        st.warning(f"以下数据项已超过约定交付周期：{items}", icon=":material/schedule:")
    missing = registered[registered["status_now"] == NOT_RECEIVED]
    if not missing.empty:
        items = "；".join(f"{r.department}·{r.title}" for r in missing.itertuples())
        st.info(f"以下数据项尚未收到任何交付：{items}", icon=":material/inbox:")


def _freshness_section(table: pd.DataFrame) -> None:
    st.subheader("各数据项交付时效")
    st.caption(
        "按部门分组。下次交付截止时间 = 最近交付时间 + 约定交付周期；超过即为逾期（不足一天按一天计）。"
        "时间为平台接收文件的时间（北京时间），不随期间筛选变化。"
    )
    frame.table(
        table,
        labels.DATA_HEALTH_FRESHNESS_HEADERS,
        keys=2,  # 部门 and 数据项 name each row
        column_config={
            "最近交付时间": st.column_config.DatetimeColumn(format=TIME_FORMAT),
            "下次交付截止时间": st.column_config.DatetimeColumn(format=TIME_FORMAT),
            "逾期天数": st.column_config.NumberColumn(format="%d"),
        },
    )
    frame.download_buttons(
        table, "数据健康_交付时效", {**labels.DATA_HEALTH_FRESHNESS_HEADERS, **labels.DATA_HEALTH_FEED_CODES}, key="data_health_freshness", sheet_name="交付时效"
    )


def _delivery_section(table: pd.DataFrame, period: str) -> None:
    st.subheader(f"交付与隔离统计（{period}）")
    st.caption(
        "交付行数 = 加载行数 + 隔离行数；重复交付文件的行全部隔离。右侧为各状态的文件数。"
        "同名重新交付：同一文件名以不同内容再次交付，作为该文件的新版本加载，新旧版本按约定的“以最新为准”规则取数。"
    )
    headers = dict(DELIVERY_HEADERS)
    if int(table["files_other"].sum()):
        headers["files_other"] = "其他状态"
    frame.table(
        table,
        headers,
        keys=2,  # 部门 and 数据项 name each row
        column_config={"隔离占比（%）": st.column_config.NumberColumn(format="%.2f")},
    )
    frame.download_buttons(
        table, "数据健康_交付与隔离", headers, key="data_health_deliveries", sheet_name="交付与隔离"
    )


def _reasons_section(source: str, lo: dt.date | None, hi: dt.date | None, period: str) -> None:
    st.subheader(f"主要隔离原因（{period}）")
    st.caption(
        f"每个数据项按隔离行数列出前{TOP_REASONS}类原因。原因中的具体取值已用“…”隐去，"
        "原始记录可能含个人信息，本页不显示。"
    )
    try:
        reasons = data.load_quarantine_reasons(
            [] if source == frame.ALL else [source], lo, hi, top=TOP_REASONS
        )
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if reasons.empty:
        st.success("所选范围内没有被隔离的记录。", icon=":material/check_circle:")
        return
    reasons["last_quarantined_local"] = data.utc_to_local(reasons["last_quarantined_at"])
    reasons["rank"] = reasons["rank"].astype("int64")
    reasons["reason_text"] = reasons["reason"].map(labels.reason_text)
    frame.table(
        reasons,
        labels.DATA_HEALTH_REASON_HEADERS,
        keys=2,  # 部门 and 数据项 name each row
        column_config={"最近隔离时间": st.column_config.DatetimeColumn(format=TIME_FORMAT)},
    )
    frame.download_buttons(
        reasons, "数据健康_隔离原因", {**labels.DATA_HEALTH_REASON_HEADERS, **labels.DATA_HEALTH_REASON_CODES},
        key="data_health_reasons", sheet_name="隔离原因",
    )


def _unmapped_section(source: str) -> None:
    st.subheader("未能识别街道的取值")
    st.caption(
        "各部门交付的街道名称须与约定写法之一完全一致（如“武林街道”“武林”“下城区武林街道办事处”），"
        "仅包含某街道简称的取值（如“城东新城片区”）不归入该街道，计入“未知街道”，其伤亡等数据仍计入全区。"
        "如确属某街道，请数据管理员将该写法补入街道写法清单。"
    )
    try:
        values = data.load_unmapped_street_values([] if source == frame.ALL else [source])
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if values.empty:
        st.success("所有交付的街道名称均已识别。", icon=":material/check_circle:")
        return
    values["street_raw"] = values["street_raw"].replace("", "（空白）")
    frame.table(values, labels.DATA_HEALTH_UNMAPPED_HEADERS)
    frame.download_buttons(
        values, "数据健康_未识别街道", labels.DATA_HEALTH_UNMAPPED_HEADERS, key="data_health_unmapped", sheet_name="未识别街道"
    )


def _source_freshness_section() -> None:
    st.subheader("数据源新鲜度（每次构建检查）")
    st.caption("按各数据项约定周期检查平台最近一次加载距今多久："
               "超过预警阈值为“预警”，超过超期阈值为“超期”，超期时本次构建不发布。")
    try:
        fresh = data.load_source_freshness()
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if fresh.empty:
        st.info("尚无新鲜度检查结果。")
        return
    fresh["status_name"] = fresh["status"].map(labels.DATA_HEALTH_FRESHNESS_STATUS).fillna(fresh["status"])
    fresh["last_loaded_local"] = data.utc_to_local(fresh["max_loaded_at"])
    period = labels.DURATION_UNITS
    for column in ("warn_after", "error_after"):
        fresh[column] = fresh[column].map(
            lambda v: "—" if components.missing(v) else
            f"{v.split(' ')[0]} {period.get(v.split(' ')[-1], v.split(' ')[-1])}")
    late = int((fresh["status"] == "error").sum())
    warned = int((fresh["status"] == "warn").sum())
    if late:
        st.error(f"{late} 个数据项超期，本次构建未发布。", icon=":material/error:")
    elif warned:
        st.warning(f"{warned} 个数据项超过约定交付周期。", icon=":material/schedule:")
    frame.table(
        fresh,
        labels.DATA_HEALTH_SOURCE_FRESHNESS_HEADERS,
        column_config={"最近加载时间": st.column_config.DatetimeColumn(format=TIME_FORMAT)},
    )


def _table_department(table_name: str) -> str:
    schema, _, name = str(table_name).partition(".")
    source = name.split("__", 1)[0] if schema == "raw" and "__" in name else None
    return DEPARTMENTS.get(source, SHARED_TABLES) if source else SHARED_TABLES


def _column_title(table_name: Any, column_name: Any) -> str:
    """The checked column(s) in Chinese: the table's labels, the reconciliation's, else as given."""
    if components.missing(column_name) or not column_name:
        return ""
    names = []
    for column in str(column_name).split(","):
        title = labels.explicit(str(table_name), column) or labels.RECONCILIATION_COLUMNS.get(column, column)
        names.append(title)
    return "、".join(names)


def _failure_text(row: Any) -> str:
    column = f"（{row.column_title}）" if row.column_title else ""
    count = "" if components.missing(row.unexpected_count) else f"，异常 {int(row.unexpected_count)} 个"
    return f"{row.table_title} · {row.check_title}{column}{count}"


def _quality_results(results: pd.DataFrame) -> None:
    if results.empty:
        st.info("数据仓库中没有质量门禁结果。")
        return
    checked = data.utc_to_local(results["checked_at"]).iloc[0]
    results = results.assign(
        table_title=results["table_name"].map(labels.table_title),
        check_title=results["expectation"].map(labels.check_title),
        column_title=[_column_title(t, c) for t, c in zip(results["table_name"], results["column_name"])],
    )
    failed = results[~results["success"].fillna(False).astype(bool)]
    when = f"检查时间：{checked:%Y-%m-%d %H:%M}（北京时间）"
    if failed.empty:
        st.success(f"共 {len(results)} 项检查，全部通过。{when}", icon=":material/verified:")
    else:
        items = "；".join(_failure_text(r) for r in failed.itertuples())
        st.error(f"共 {len(results)} 项检查，{len(failed)} 项未通过：{items}。{when}", icon=":material/error:")
    table = results.copy()
    table["department"] = table["table_name"].map(_table_department)
    table["result"] = table["success"].map(
        lambda ok: "未知" if components.missing(ok) else ("通过" if bool(ok) else "未通过")
    )
    table["unexpected_count"] = table["unexpected_count"].astype("Int64")
    frame.table(
        table,
        labels.DATA_HEALTH_QUALITY_HEADERS,
        column_config={"异常值数量": st.column_config.NumberColumn(format="%d")},
    )
    frame.download_buttons(
        table, "数据健康_质量门禁", {**labels.DATA_HEALTH_QUALITY_HEADERS, **labels.DATA_HEALTH_QUALITY_CODES},
        key="data_health_quality", sheet_name="质量门禁",
    )


def _docs_run_time(run_time: str | None) -> str:
    """Great Expectations' run folder (``20261203T150635.150118Z``, UTC) in Beijing time."""
    try:
        at = dt.datetime.strptime((run_time or "")[:15], "%Y%m%dT%H%M%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return run_time or "时间未知"
    return f"{at.astimezone(data.LOCAL_TZ):%Y-%m-%d %H:%M:%S}"


def _docs_label(page: datadocs.DocsPage) -> str:
    if page.suite is None:
        return "总览：全部检查套件与验证结果"
    return f"验证结果：{labels.table_title(page.suite)}（{_docs_run_time(page.run_time)}）"


def _data_docs() -> None:
    """The quality report inside this signed-in page (inlined: no file path, no static URL, no
    CDN), for the principals the policy lets read it; each page opened is audited."""
    st.markdown("**质量报告**")
    if not auth.can_read_quality_report():
        st.caption("您的账号无权查看质量报告（覆盖全部部门和街道的数据）。")
        return
    site = data.data_docs_path().parent
    found = datadocs.pages(site)
    if not found:
        st.caption("尚未生成质量报告：数据管道下一次发布数据时生成。")
        return
    paths = [p.path for p in found]
    by_path = {p.path: p for p in found}
    wanted = st.query_params.get(QP_DOCS)
    if st.session_state.get(KEY_DOCS) not in paths:
        st.session_state[KEY_DOCS] = wanted if wanted in paths else paths[0]
    choice = st.selectbox("报告页面", paths, format_func=lambda p: _docs_label(by_path[p]), key=KEY_DOCS,
                          help="报告内的链接同样在本页打开；地址栏中的 docs= 指向所选页面。")
    if not (st.session_state.get(KEY_DOCS_OPEN) or wanted in paths):
        st.button("打开质量报告", key="data_health_docs_button", icon=":material/fact_check:",
                  on_click=lambda: st.session_state.update({KEY_DOCS_OPEN: True}))
        st.caption("报告在本页内显示，样式和脚本随平台提供，无需联网；每次打开都记入登录审计。")
        return
    st.session_state[KEY_DOCS_OPEN] = True
    if st.query_params.get(QP_DOCS) != choice:
        st.query_params[QP_DOCS] = choice
    audited = st.session_state.setdefault(KEY_DOCS_AUDITED, set())
    if choice not in audited:  # once per page and session, not on every rerun
        auth.record_report_open(choice)
        audited.add(choice)
    try:
        report = datadocs.self_contained(site, choice)
    except (FileNotFoundError, OSError, UnicodeDecodeError):
        st.warning("该报告页面已不存在（质量门禁已重新生成报告），请重新选择。", icon=":material/warning:")
        return
    st.iframe(report, height=DOCS_HEIGHT)


def _quality_section() -> None:
    st.subheader("质量门禁（最近一次检查）")
    st.caption("发布前对数据仓库执行的质量检查，结果随数据一同发布；不随部门、期间筛选变化。")
    try:
        _quality_results(data.load_quality_results())
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
    _data_docs()


# --- page -------------------------------------------------------------------------------------


def render() -> None:
    frame.header("数据健康", "各部门数据交付是否按时、数据质量如何：交付时效、隔离记录与质量门禁。")
    try:
        first, last = data.load_delivery_span()
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return

    today = dt.datetime.now(data.LOCAL_TZ).date()
    if first is None:
        d_min = d_max = today
    else:
        d_min = data.utc_to_local(pd.Series([first])).iloc[0].date()
        d_max = max(today, data.utc_to_local(pd.Series([last])).iloc[0].date())
    source, lo, hi = _sidebar_filters(d_min, d_max)
    full = (lo, hi) == (d_min, d_max)
    q_lo, q_hi = (None, None) if full else (lo, hi)
    period = _period_text(lo, hi, full)

    try:
        feeds = data.load_feed_deliveries([] if source == frame.ALL else [source], q_lo, q_hi)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    # the clock, not a rule: dbt's due times are compared with now (naive UTC, as loaded_at)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    table = feed_table(feeds, now)

    if first is None:
        st.info("数据仓库中还没有任何交付记录。")
    _summary_section(table, period)
    st.divider()
    _freshness_section(table)
    st.divider()
    _delivery_section(table, period)
    st.divider()
    _reasons_section(source, q_lo, q_hi, period)
    st.divider()
    _unmapped_section(source)
    st.divider()
    _source_freshness_section()
    st.divider()
    _quality_section()


if __name__ == "__main__":
    render()
