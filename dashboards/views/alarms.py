"""告警处置: the open alarms of the signed-in user's scope and the loop 签收 → 到场 → 处置完毕 → 归档.

* The alarms not archived yet (``citysafety.act.store.open_alarms``) in the user's streets
  (``auth.allowed_streets``: a street office its street, the leader and district departments
  every street), oldest first, with grade, street, hazard source, point, status, age in minutes
  and escalation.
* For the chosen alarm, the one next action the store allows (``store.NEXT_ACTION``) as a
  button; 处置完毕 with the handling note. The button calls ``store.act`` with the user's name,
  scope and address; a refusal shows the store's own Chinese message. Nothing here decides
  whether an action is allowed.
* The chosen alarm's history (``store.history``): who did what, when, from where.

The page writes to the operations database only, through ``dashboards.alarms_data`` (which
goes through ``citysafety.act.store``); it reads nothing of the published warehouse.
"""

from __future__ import annotations

import streamlit as st

from citysafety.share import labels
from dashboards import alarms_data, auth, frame

T = labels.ALARMS_TEXTS

KEY_PICK = "alarms_pick"
KEY_NOTE = "alarms_note"
KEY_ACT = "alarms_act"
FLASH_KEY = "alarms_flash"
TIME_FORMAT = "YYYY-MM-DD HH:mm"


def _act(alarm_id: int, action: str) -> None:
    """The button's callback: one step through the store; the outcome shown on the next run."""
    user = auth.current_user()
    note = st.session_state.get(KEY_NOTE) if action == alarms_data.HANDLE else None
    try:
        status = alarms_data.act(
            alarm_id,
            action,
            actor="" if user is None else user.username,
            scope_streets=auth.allowed_streets(user),
            remote_addr=auth.client_address(),
            note=note,
        )
    except alarms_data.ActionRefused as exc:
        st.session_state[FLASH_KEY] = ("error", T["refused"] + str(exc))
        return
    except alarms_data.OperationsUnavailable as exc:
        st.session_state[FLASH_KEY] = ("error", exc.message)
        return
    st.session_state[FLASH_KEY] = ("success", T["done"].format(action=action, id=alarm_id, status=status))
    st.session_state[KEY_NOTE] = ""


def _flash() -> None:
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash is None:
        return
    kind, text = flash
    if kind == "success":
        st.success(text, icon=":material/check_circle:")
    else:
        st.error(text, icon=":material/block:")


def _summary(alarms) -> None:
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(T["open_total"], f"{len(alarms)} 起", border=True)
    c2.metric(T["pending"], f"{int((alarms['status'] == alarms_data.PENDING).sum())} 起", border=True)
    c3.metric(T["escalated"], f"{int((alarms['escalation_level'] > 0).sum())} 起", border=True)
    c4.metric(T["oldest"], T["minutes"].format(minutes=int(alarms["age_minutes"].max())), border=True)


def _option_text(row) -> str:
    return f"{row.id}号 · {row.grade_name} · {row.street_name} · {row.point_id}（{row.status}）"


def _act_section(alarms) -> None:
    st.subheader(T["act_title"])
    options = {int(r.id): _option_text(r) for r in alarms.itertuples()}
    if st.session_state.get(KEY_PICK) not in options:
        st.session_state[KEY_PICK] = next(iter(options))
    chosen = st.selectbox(T["pick"], list(options), format_func=options.get, key=KEY_PICK)
    row = alarms[alarms["id"] == chosen].iloc[0]
    action = row["next_action"]
    if not action:
        st.info(T["no_next"])
    else:
        if action == alarms_data.HANDLE:
            st.text_area(T["note"], key=KEY_NOTE, help=T["note_help"])
        st.button(action, key=KEY_ACT, type="primary", on_click=_act, args=(int(chosen), action),
                  icon=":material/task_alt:")
    st.subheader(T["history_title"])
    try:
        events = alarms_data.history(int(chosen))
    except alarms_data.OperationsUnavailable as exc:
        st.info(exc.message, icon=":material/info:")
        return
    if events.empty:
        st.caption(T["history_empty"])
        return
    frame.table(events, labels.ALARMS_HISTORY_HEADERS,
                column_config={"时间": st.column_config.DatetimeColumn(format=TIME_FORMAT)})


def render() -> None:
    frame.header(T["title"], T["caption"])
    _flash()
    scope = auth.allowed_streets(auth.current_user())
    try:
        alarms_data.ready()
        alarms = alarms_data.open_alarms(scope)
    except alarms_data.OperationsUnavailable as exc:
        st.info(exc.message, icon=":material/info:")
        return
    if alarms.empty:
        st.success(T["none_open"], icon=":material/check_circle:")
        return
    _summary(alarms)
    st.subheader(T["open_title"])
    frame.table(
        alarms,
        labels.ALARMS_OPEN_HEADERS,
        column_config={"报警开始时间": st.column_config.DatetimeColumn(format=TIME_FORMAT)},
    )
    st.divider()
    _act_section(alarms)


if __name__ == "__main__":
    render()
