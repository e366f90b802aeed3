"""登录审计: who signed in, failed, was throttled, signed out or downloaded what, and from where.

Reads the sign-in store (``$CITYSAFETY_HOME/secrets/signin.sqlite``, ``dashboards.signin_store``),
never the warehouse. Shown only to principals with ``pages: all`` in policy/access.yml (区领导,
区安委办); the page checks that itself too. Filters: a user name and a period (Beijing dates, both
days included); the table downloads as CSV and XLSX (the download is logged as well).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from citysafety.share import labels
from dashboards import auth, frame
from dashboards import signin_store as S

LOCAL_TZ = dt.timezone(dt.timedelta(hours=8))  # Beijing time, no daylight saving
KEY_USER = "signin_audit_user"
KEY_PERIOD = "signin_audit_period"
QP_USER = "user"  # the filters live in the URL as on every page: ?user=traffic&from=…&to=…
EARLIEST = dt.date(2000, 1, 1)  # the date picker's first day: any day the log may hold
ALL_USERS = "（全部用户）"
DEFAULT_DAYS = 30


def events_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["at_utc", "at_epoch", "username", "address", "event", "success",
                                     "reason", "detail"])
    df["time_local"] = [dt.datetime.fromtimestamp(e, tz=LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
                        for e in df["at_epoch"]]
    df["event_name"] = df["event"].map(lambda v: S.LABELS.get(v, v))
    df["result"] = df["success"].map(lambda v: "成功" if v else "失败")
    df["reason_name"] = [("" if r == S.OK else S.LABELS.get(r, r)) for r in df["reason"]]
    df["username"] = df["username"].fillna("（无）")
    df["detail"] = df["detail"].fillna("")
    return df


def main() -> None:
    if not auth.can_read_audit():
        st.error("您的账号无权查看登录审计。", icon=":material/lock:")
        st.stop()
    frame.header("登录审计", "登录成功与失败（及原因）、尝试过多被限制、退出登录、刷新页面恢复会话、数据下载和打开质量报告的记录；"
                 "时间为北京时间，来源地址“本机”表示从本机访问。")
    store = auth.store()
    today = dt.datetime.now(LOCAL_TZ).date()
    with frame.sidebar(from_mart=False):  # the sign-in store, not the mart
        chosen = frame.select_filter({name: name for name in store.usernames()}, key=KEY_USER,
                                     param=QP_USER, label="用户", all_label=ALL_USERS)
        user = chosen or ALL_USERS
        start, end = frame.period_filter(
            (EARLIEST, today), key=KEY_PERIOD, label="日期",
            default=(today - dt.timedelta(days=DEFAULT_DAYS - 1), today),
            help=f"默认为最近{DEFAULT_DAYS}天（北京时间，含首尾两天）。",
        )
    since = dt.datetime.combine(start, dt.time(), LOCAL_TZ).timestamp()
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), LOCAL_TZ).timestamp()
    rows = store.events(since=since, until=until, username=None if user == ALL_USERS else user)
    df = events_frame(rows)
    signins = df[df["event"] == S.SIGNIN]
    cols = st.columns(4)
    cols[0].metric("登录成功", f"{int(signins['success'].sum())} 次")
    cols[1].metric("登录失败", f"{int((signins['success'] == 0).sum())} 次")
    cols[2].metric("其中被限制", f"{int((signins['reason'] == S.THROTTLED).sum())} 次")
    cols[3].metric("数据下载", f"{int((df['event'] == S.DOWNLOAD).sum())} 次")
    scope = "全部用户" if user == ALL_USERS else f"用户 {user}"
    st.subheader(f"审计记录（{scope}，{start:%Y-%m-%d} 至 {end:%Y-%m-%d}，{len(df)} 条）")
    if df.empty:
        st.info("所选范围内没有记录。")
        return
    frame.table(df, {c: h for c, h in labels.SIGNIN_AUDIT_HEADERS.items() if c != "at_utc"})
    frame.download_buttons(df, f"登录审计_{start:%Y%m%d}_{end:%Y%m%d}", labels.SIGNIN_AUDIT_HEADERS,
                           key="signin_audit", sheet_name="登录审计")


if __name__ == "__main__":
    main()
