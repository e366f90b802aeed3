"""Tests of the 告警处置 page (dashboards/views/alarms.py) with AppTest, signed in, over a real
SQLite operations database in a tmp folder (CITYSAFETY_OPERATIONS_DB_URL), migrated by
`store.upgrade` and filled by `store.record_alarm` / `store.act`, as the live path fills it.

- A street office sees only its street's open alarms, oldest first, and acknowledges one: the
  store then holds the new status and an audit row with the actor and the address.
- Only the next action is offered (one button: 签收, then 到场, …): an out-of-order click is
  impossible; a click on a stale page (someone else acted first) shows the store's refusal.
- 处置完毕 without a note is refused with the store's Chinese message and nothing is written.
- The leader sees every open alarm of the district with its age; archived alarms are gone.
- No operations database: a Chinese message, never a traceback, and no file created.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from citysafety.act import store
from citysafety.act.store import Alarm, AlarmEvent
from citysafety.share import labels
from citysafety.share import policy as P
from dashboard_harness import table_with
from dashboards import auth
from dashboards.signin_store import LOCAL_ADDRESS
from demo import accounts

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboards" / "app.py"
PAGE = "views/alarms.py"
PASSWORD = "alarms-test"
USERS = ("leader", "street_wl", "street_ts")
T = labels.ALARMS_TEXTS


@pytest.fixture
def ops(tmp_path, monkeypatch):
    """A tmp CITYSAFETY_HOME (no warehouse: this page reads none), a users file, and a migrated
    SQLite operations database with alarms in 武林 and 天水 (one of them archived)."""
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYSAFETY_AUTH", raising=False)
    policy = P.load()
    entries = {}
    for name in USERS:
        principal = policy.principal(name)
        entries[name] = {"role": principal.kind,
                         "scope": None if principal.kind == P.LEADER else principal.streets[0],
                         "password_hash": P.hash_password(PASSWORD, iterations=1000)}
    users = accounts.write_users(tmp_path / "secrets" / "users.json", entries)
    monkeypatch.setenv("CITYSAFETY_USERS", str(users))
    url = f"sqlite:///{tmp_path / 'ops' / 'operations.db'}"
    monkeypatch.setenv("CITYSAFETY_OPERATIONS_DB_URL", url)
    store.upgrade(url)
    now = store.utcnow()
    ids = {}
    with store.session(url) as s:
        for name, point, source, street, grade, minutes_ago in (
            ("wl_old", "H1-P1", "H1", "WL", "Ⅰ", 95),
            ("ts", "H2-P1", "H2", "TS", "Ⅲ", 60),
            ("wl_new", "H3-P1", "H3", "WL", "Ⅱ", 20),
            ("wl_done", "H1-P2", "H1", "WL", "Ⅳ", 300),
        ):
            alarm = store.record_alarm(s, point_id=point, hazard_source_id=source, street_code=street, grade=grade,
                                       started_at=now - timedelta(minutes=minutes_ago), now=now)
            ids[name] = alarm.id
        for action, note in (("签收", None), ("到场", None), ("处置完毕", "已关阀"), ("归档", None)):
            store.act(s, ids["wl_done"], action, actor="street_wl", scope_streets=["WL"], note=note)
    yield url, ids
    store.dispose(url)


def sign_in(username: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.text_input(key=auth.USERNAME_KEY).input(username)
    at.text_input(key=auth.PASSWORD_KEY).input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def open_table(at: AppTest):
    return table_with(at, "告警编号")  # a table shown in parts (too wide) joined back


def action_buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.button if b.label in store.ACTIONS]


def status(url: str, alarm_id: int) -> str:
    with store.session(url) as s:
        return s.get(Alarm, alarm_id).status


def events(url: str, alarm_id: int) -> list[AlarmEvent]:
    with store.session(url) as s:
        return list(s.scalars(sa.select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id).order_by(AlarmEvent.id)))


def click(at: AppTest) -> AppTest:
    at.button(key="alarms_act").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_street_office_sees_its_street_only_and_acknowledges(ops):
    url, ids = ops
    at = sign_in("street_wl")
    table = open_table(at)
    assert list(table["告警编号"]) == [ids["wl_old"], ids["wl_new"]]  # oldest first, no 天水, no archived
    assert set(table["街道"]) == {"武林街道"}
    assert list(table["预警等级"]) == ["Ⅰ级（红色）", "Ⅱ级（橙色）"]
    assert list(table["状态"]) == ["待签收", "待签收"]
    assert list(table["危险源"]) == ["H1", "H3"] and list(table["监测点"]) == ["H1-P1", "H3-P1"]
    assert {m.label: m.value for m in at.metric}["未归档告警"] == "2 起"
    assert "天水" not in "".join(at.selectbox(key="alarms_pick").options)
    # The oldest is chosen; its next action is the only one offered.
    assert at.selectbox(key="alarms_pick").value == ids["wl_old"]
    assert action_buttons(at) == ["签收"]
    click(at)
    assert status(url, ids["wl_old"]) == store.ACKNOWLEDGED
    [event] = events(url, ids["wl_old"])
    assert (event.action, event.from_status, event.to_status) == ("签收", "待签收", "已签收")
    assert event.actor == "street_wl" and event.actor_scope == "WL" and event.remote_addr == LOCAL_ADDRESS
    assert any(f"已签收：告警 {ids['wl_old']} 现为“已签收”" in s.value for s in at.success)
    assert list(open_table(at)["状态"]) == ["已签收", "待签收"]
    history = table_with(at, "操作人")
    assert list(history["操作"]) == ["签收"] and list(history["操作人"]) == ["street_wl"]
    assert list(history["来源地址"]) == [LOCAL_ADDRESS]
    # The other street's alarm is untouched.
    assert status(url, ids["ts"]) == store.PENDING


def test_only_the_next_action_is_offered_in_order(ops):
    url, ids = ops
    at = sign_in("street_wl")
    seen = []
    for expected in ("签收", "到场", "处置完毕", "归档"):
        assert action_buttons(at) == [expected]  # one button, never another step
        seen.append(expected)
        if expected == "处置完毕":
            at.text_area(key="alarms_note").input("已关闭进料阀，液位回落").run()
        click(at)
    assert [e.action for e in events(url, ids["wl_old"])] == seen
    assert status(url, ids["wl_old"]) == store.ARCHIVED
    assert events(url, ids["wl_old"])[2].note == "已关闭进料阀，液位回落"
    # Archived: gone from the list; the other alarm is chosen.
    assert list(open_table(at)["告警编号"]) == [ids["wl_new"]]
    assert at.selectbox(key="alarms_pick").value == ids["wl_new"]


def test_a_stale_click_shows_the_stores_refusal(ops):
    url, ids = ops
    first, second = sign_in("street_wl"), sign_in("street_wl")
    click(first)
    click(second)  # the same alarm, still shown 待签收 on the second page
    assert any("当前状态为“已签收”，不能“签收”" in e.value for e in second.error)
    assert len(events(url, ids["wl_old"])) == 1


def test_handled_without_a_note_is_refused(ops):
    url, ids = ops
    with store.session(url) as s:
        for action in ("签收", "到场"):
            store.act(s, ids["wl_old"], action, actor="street_wl", scope_streets=["WL"])
    at = sign_in("street_wl")
    assert action_buttons(at) == ["处置完毕"]
    assert at.text_area(key="alarms_note").label == T["note"]
    click(at)
    assert any("处置完毕须填写处置情况" in e.value for e in at.error)
    assert status(url, ids["wl_old"]) == store.ON_SITE
    assert len(events(url, ids["wl_old"])) == 2
    at.text_area(key="alarms_note").input("   ").run()
    click(at)
    assert status(url, ids["wl_old"]) == store.ON_SITE  # blanks are no note
    at.text_area(key="alarms_note").input("已组织排查，监测值回落").run()
    click(at)
    assert status(url, ids["wl_old"]) == store.HANDLED
    assert events(url, ids["wl_old"])[-1].note == "已组织排查，监测值回落"
    assert action_buttons(at) == ["归档"]


def test_leader_sees_every_open_alarm_with_its_age(ops):
    url, ids = ops
    at = sign_in("leader")
    table = open_table(at)
    assert list(table["告警编号"]) == [ids["wl_old"], ids["ts"], ids["wl_new"]]
    assert list(table["街道"]) == ["武林街道", "天水街道", "武林街道"]
    ages = list(table["已历时（分钟）"])
    for age, expected in zip(ages, (95, 60, 20)):
        assert expected <= age <= expected + 2, ages
    assert list(table["升级情况"]) == ["未升级"] * 3
    m = {m.label: m.value for m in at.metric}
    assert m["未归档告警"] == "3 起" and m["待签收"] == "3 起"
    assert m["最久未归档"] in {"95 分钟", "96 分钟", "97 分钟"}
    # The leader may act on any street's alarm (the store decides: scope None is the district).
    at.selectbox(key="alarms_pick").set_value(ids["ts"]).run()
    click(at)
    [event] = events(url, ids["ts"])
    assert event.actor == "leader" and event.actor_scope == store.WHOLE_DISTRICT


def test_escalated_alarm_is_marked(ops):
    url, ids = ops
    with store.session(url) as s:
        s.get(Alarm, ids["wl_new"]).escalation_level = 1
    at = sign_in("street_wl")
    table = open_table(at).set_index("告警编号")
    assert table.loc[ids["wl_new"], "升级情况"] == "已升级1级"
    assert table.loc[ids["wl_old"], "升级情况"] == "未升级"


def test_no_operations_database_shows_a_message(ops, tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "operations.db"
    monkeypatch.setenv("CITYSAFETY_OPERATIONS_DB_URL", f"sqlite:///{missing}")
    at = sign_in("street_wl")
    assert any(T["not_configured"] in i.value for i in at.info)
    assert not at.dataframe and not action_buttons(at)
    assert not missing.exists()  # a page creates no database


def test_an_empty_database_shows_a_message(ops, tmp_path, monkeypatch):
    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()  # a file without the tables
    monkeypatch.setenv("CITYSAFETY_OPERATIONS_DB_URL", f"sqlite:///{empty}")
    at = sign_in("leader")
    assert any(T["not_configured"] in i.value for i in at.info)
    store.dispose(f"sqlite:///{empty}")


def test_a_bad_url_shows_a_message(ops, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_OPERATIONS_DB_URL", "mysql://someone@host/db")
    at = sign_in("leader")
    assert any(i.value.startswith(T["config_error"]) for i in at.info)


def test_the_page_is_granted_to_the_offices_that_act():
    policy = P.load()
    for name in ("leader", "emb", "safety_office", "street_wl", "street_ts"):
        grants = policy.page_grants(policy.principal(name))
        assert grants is None or "alarms" in grants, name
    for name in ("fire", "traffic", "stats", "grid"):
        assert "alarms" not in policy.page_grants(policy.principal(name)), name
