"""Routing and escalation of alarms (citysafety.act.routing, citysafety.act.escalation), on real
databases: an empty SQLite file and a fresh PostgreSQL database (`citysafety_ops_<random>` on
127.0.0.1:5432, dropped after; PostgreSQL unreachable: skipped with the reason, failed under
CI=true), as in tests/test_operations.py.

- The policy `policy/alarms.yml`: the grade table (threshold crossed × hazard level → Ⅰ..Ⅳ), the
  acknowledgement times, the recipients and the ladder; a broken policy stops with a message
  saying where (missing file, broken YAML, unknown grade, recipient, principal, channel, street).
- The notice carries every field of a warning notice in Chinese; a change or a cancellation
  names the first notice's number.
- Routing enqueues one message per recipient of the grade, once (routed again: nothing new).
- Escalation: each grade at its own time (`now=`, no sleeping), one step at a time up the
  ladder, idempotent at the same `now`, never for an acknowledged alarm, stopping at the top,
  audited (升级 by system); the migration 0002 adds its columns on both databases.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from citysafety.act import escalation, routing, store
from citysafety.act.endpoints import Endpoint
from citysafety.act.routing import RoutingPolicyError
from citysafety.act.store import Alarm, AlarmEvent, Notification
from operations_db import db_url, ops, pg_url, sqlite_url  # noqa: F401 (fixtures)

T0 = datetime(2026, 3, 2, 0, 30, tzinfo=timezone.utc)  # 08:30 in Hangzhou
POLICY = routing.POLICY_FILE


# ------------------------------------------------------------------ databases


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYSAFETY_OPERATIONS_DB_URL", raising=False)
    return tmp_path / "home"


@pytest.fixture(scope="module")
def policy():
    return routing.load()


def new_alarm(s, point="P-WL-07", source="H-WL-01", street="WL", minutes=0):
    return store.record_alarm(s, point_id=point, hazard_source_id=source, street_code=street,
                              started_at=T0 + timedelta(minutes=minutes), now=T0 + timedelta(minutes=minutes))


def messages(s) -> dict[str, tuple[str, str, str]]:
    return {n.idempotency_key: (n.recipient, n.endpoint, n.channel)
            for n in s.scalars(sa.select(Notification).order_by(Notification.id))}


# ------------------------------------------------------------------ the policy


@pytest.mark.parametrize("threshold, level, expected", [
    ("高高报", "一级", "Ⅰ"), ("高高报", "二级", "Ⅰ"), ("高高报", "三级", "Ⅱ"), ("高高报", "四级", "Ⅱ"),
    ("高报", "一级", "Ⅱ"), ("高报", "二级", "Ⅲ"), ("高报", "三级", "Ⅲ"), ("高报", "四级", "Ⅳ"),
    ("high_high", "一级", "Ⅰ"), ("high", "四级", "Ⅳ"),
])
def test_the_grade_table(policy, threshold, level, expected):
    assert routing.grade(threshold, level, policy) == expected
    assert routing.grade(threshold, level) == expected  # the default policy file


def test_the_policy_shape(policy):
    assert {c: (g.color, g.ack_minutes) for c, g in policy.grades.items()} == {
        "Ⅰ": ("红色", 5), "Ⅱ": ("橙色", 15), "Ⅲ": ("黄色", 30), "Ⅳ": ("蓝色", 60)}
    assert policy.grades["Ⅰ"].label == "Ⅰ级（红色）"
    assert policy.ladder == ("street_office", "emb_duty", "leader")
    assert policy.grades["Ⅰ"].notify == ("enterprise", "street_office", "emb_duty")
    assert policy.grades["Ⅳ"].notify == ("enterprise", "street_office")
    assert policy.street_offices["WL"] == ("street_wl", "street_wl", "dingtalk")
    assert policy.recipients["emb_duty"].principal == "emb" and policy.recipients["leader"].principal == "leader"
    with pytest.raises(ValueError, match="未知的阈值类型 'low'"):
        policy.grade("low", "一级")
    with pytest.raises(ValueError, match="未知的危险源等级 '五级'"):
        policy.grade("高报", "五级")
    # against the webhooks file: every endpoint there, on the policy's channel
    available = {name: Endpoint(name, channel, "https://robot.example/x") for name, channel in
                 policy.endpoint_names().items()}
    available["enterprise_H-WL-01"] = Endpoint("enterprise_H-WL-01", "webhook", "https://e.example/x")
    routing.check_endpoints(policy, available, ["H-WL-01"])
    available["emb_duty"] = Endpoint("emb_duty", "dingtalk", "https://robot.example/x")
    del available["street_ts"]
    with pytest.raises(RoutingPolicyError, match=r"emb_duty（策略为 wecom，webhooks 文件为 dingtalk）.*"
                                                 r"enterprise_H-TS-02（webhooks 文件中没有）.*street_ts（webhooks 文件中没有）"):
        routing.check_endpoints(policy, available, ["H-WL-01", "H-TS-02"])


def broken(tmp_path: Path, change) -> Path:
    doc = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "alarms.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, says", [
    (lambda d: d["grade_table"]["高报"].update({"四级": "Ⅴ"}), "grade_table.高报.四级 是未知的预警级别 'Ⅴ'"),
    (lambda d: d["grade_table"]["高高报"].pop("三级"), "grade_table.高高报 须写出每个危险源等级"),
    (lambda d: d["grade_table"].pop("高报"), "grade_table（分级表） 须且只须写出 高高报、高报 两行"),
    (lambda d: d["grades"].pop("Ⅳ"), "grades（预警级别） 须且只须写出 Ⅰ、Ⅱ、Ⅲ、Ⅳ"),
    (lambda d: d["grades"]["Ⅰ"].update({"ack_minutes": 0}), "grades.Ⅰ.ack_minutes 签收时限须为 1 到 1440 的整数分钟"),
    (lambda d: d["grades"]["Ⅱ"].update({"color": "红色"}), "grades.Ⅱ.color 须为 橙色"),
    (lambda d: d["grades"]["Ⅲ"]["notify"].append("everyone"), "grades.Ⅲ.notify 有未知的接收对象 ['everyone']"),
    (lambda d: d["grades"]["Ⅳ"].update({"notify": []}), "grades.Ⅳ.notify 须列出至少一个接收对象"),
    (lambda d: d["recipients"]["emb_duty"].update({"principal": "emb_nightshift"}),
     "recipients.emb_duty.principal 'emb_nightshift' 不是 policy/access.yml 中的责任主体"),
    (lambda d: d["recipients"]["leader"].update({"channel": "sms"}), "recipients.leader 的渠道 channel 须为"),
    (lambda d: d["recipients"]["leader"].pop("endpoint"), "recipients.leader.endpoint 须为非空文字"),
    (lambda d: d["recipients"]["enterprise"].update({"endpoint": "enterprises"}), "须含 {hazard_source_id}"),
    (lambda d: d["recipients"]["enterprise"].update({"endpoint": "e_{uscc}"}), "只能使用占位符 {hazard_source_id}"),
    (lambda d: d["street_offices"].pop("WH"), "street_offices（街道办事处接收端） 须为每个街道"),
    (lambda d: d["street_offices"].update({"XX": {"endpoint": "x", "channel": "webhook"}}), "多 ['XX']"),
    (lambda d: d.update({"escalation": ["street_office", "district_duty"]}),
     "escalation（升级链） 有未知的接收对象 ['district_duty']"),
    (lambda d: d.update({"escalation": []}), "escalation（升级链） 须列出至少一级接收对象"),
    (lambda d: d.update({"escalation": ["emb_duty", "leader"]}) or d["grades"]["Ⅳ"]["notify"].remove("enterprise"),
     "第一级 emb_duty 须在每个级别的 notify 中（缺 ['Ⅳ']）"),
    (lambda d: d.update({"fallback": "everyone"}), "顶层 有未知字段 ['fallback']"),
    (lambda d: d.pop("issuing_unit"), "issuing_unit（发布单位） 须为非空文字"),
])
def test_a_broken_policy_stops_with_a_clear_message(tmp_path, change, says):
    with pytest.raises(RoutingPolicyError, match=re.escape(says)):
        routing.load(broken(tmp_path, change))


def test_a_missing_or_unreadable_policy_stops(tmp_path):
    with pytest.raises(RoutingPolicyError, match="不存在：没有它，告警不推送给任何人"):
        routing.load(tmp_path / "nowhere.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("grades: [Ⅰ\n  - :", encoding="utf-8")
    with pytest.raises(RoutingPolicyError, match="无法解析"):
        routing.load(bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(RoutingPolicyError, match="顶层 须为非空的映射"):
        routing.load(bad)


# ------------------------------------------------------------------ the notice


def test_the_notice_carries_every_field_in_chinese(policy):
    alarm = Alarm(id=7, alarm_key="P-WL-07@2026-03-02T08:30:00+08:00", point_id="P-WL-07", hazard_source_id="H-WL-01",
                  street_code="WL", started_at=T0)
    made = routing.notice(alarm, "Ⅰ", "高高报", policy=policy, now=T0 + timedelta(minutes=1),
                          hazard_source_name="液氨储罐区", metric="gas", value=42.5, threshold=40, unit="%LEL")
    assert made.number == "P-WL-07@2026-03-02T08:30:00+08:00/notice"
    assert made.title == "【Ⅰ级（红色）预警发布】重大危险源在线监测超高高报阈值·武林街道"
    fields = dict(line[2:].split("：", 1) for line in made.text.splitlines())
    assert fields == {
        "预警编号": made.number,
        "预警类型": "重大危险源在线监测超高高报阈值",
        "预警级别": "Ⅰ级（红色）",
        "发布时间": "2026-03-02 08:31",
        "开始时间": "2026-03-02 08:30",
        "地点（街道）": "武林街道（WL）",
        "危险源": "液氨储罐区（H-WL-01）",
        "监测点": "P-WL-07（可燃气体浓度 42.5 %LEL，高高报阈值 40 %LEL）",
        "处置要求": policy.grades["Ⅰ"].requirement,
        "签收时限": "5 分钟内在平台签收，逾期未签收将逐级上报",
        "发布单位": "下城区应急管理局（区城市安全风险监测预警中心）",
    }
    assert fields["处置要求"].startswith("企业立即启动应急预案") and " " not in fields["处置要求"]
    blue = routing.notice(alarm, "Ⅳ", "high", policy=policy, now=T0)
    assert "预警级别：Ⅳ级（蓝色）" in blue.text and "超高报阈值" in blue.text and "60 分钟内" in blue.text
    # a change and a cancellation name the first notice
    changed = routing.notice(alarm, "Ⅱ", "高高报", policy=policy, kind="变更", now=T0, reason="复核为三级危险源")
    assert changed.number == f"{alarm.alarm_key}/change/Ⅱ" and changed.title.startswith("【Ⅱ级（橙色）预警变更】")
    assert f"原预警编号：{made.number}（本通知是对该预警的变更）" in changed.text and "变更原因：复核为三级危险源" in changed.text
    cancelled = routing.notice(alarm, "Ⅰ", "高高报", policy=policy, kind="解除", now=T0)
    assert cancelled.number == f"{alarm.alarm_key}/cancel" and f"原预警编号：{made.number}" in cancelled.text
    assert "签收时限" not in cancelled.text and "预警解除" in cancelled.text
    nowhere = Alarm(id=8, alarm_key="P-X@2026", point_id="P-X", street_code=None, started_at=T0)
    assert "地点（街道）：未落到街道" in routing.notice(nowhere, "Ⅲ", "高报", policy=policy, now=T0).text


# ------------------------------------------------------------------ routing


def test_routing_enqueues_each_recipient_once(ops, policy):
    with store.session(ops) as s:
        red = new_alarm(s)
        routed = routing.route_new_alarm(s, red, "一级", "high_high", policy=policy, now=T0,
                                         hazard_source_name="液氨储罐区")
        blue = new_alarm(s, point="P-TS-02", source="H-TS-02", street="TS")
        routing.route_new_alarm(s, blue, "四级", "high", policy=policy, now=T0)
        lost = new_alarm(s, point="P-00", source=None, street=None)
        partial = routing.route_new_alarm(s, lost, "二级", "高报", policy=policy, now=T0)
    k = red.alarm_key
    assert (routed.grade, routed.number, routed.already, routed.skipped) == ("Ⅰ", f"{k}/notice", [], [])
    assert routed.enqueued == [f"{k}/notice/enterprise", f"{k}/notice/street_office", f"{k}/notice/emb_duty"]
    assert [p[0] for p in partial.skipped] == ["enterprise", "street_office"]  # left out, never sent elsewhere
    assert "没有街道" in partial.skipped[1][1]
    with store.session(ops) as s:
        assert messages(s) == {
            f"{k}/notice/enterprise": ("enterprise:H-WL-01", "enterprise_H-WL-01", "webhook"),
            f"{k}/notice/street_office": ("street_wl", "street_wl", "dingtalk"),
            f"{k}/notice/emb_duty": ("emb", "emb_duty", "wecom"),
            f"{blue.alarm_key}/notice/enterprise": ("enterprise:H-TS-02", "enterprise_H-TS-02", "webhook"),
            f"{blue.alarm_key}/notice/street_office": ("street_ts", "street_ts", "dingtalk"),
            f"{lost.alarm_key}/notice/emb_duty": ("emb", "emb_duty", "wecom"),
        }
        assert [s.get(Alarm, a.id).grade for a in (red, blue, lost)] == ["Ⅰ", "Ⅳ", "Ⅲ"]
        payload = s.scalars(sa.select(Notification).where(Notification.endpoint == "street_wl")).one().payload
        assert payload["msgtype"] == "markdown" and "危险源：液氨储罐区（H-WL-01）" in payload["markdown"]["text"]

    # routed again (a restart, the daily path): nothing new
    with store.session(ops) as s:
        again = routing.route_new_alarm(s, s.get(Alarm, red.id), "一级", "高高报", policy=policy,
                                        now=T0 + timedelta(minutes=3))
        assert again.enqueued == [] and len(again.already) == 3
        assert s.scalar(sa.select(sa.func.count()).select_from(Notification)) == 6
        with pytest.raises(ValueError, match="已定为 Ⅰ 级，现算得 Ⅳ 级"):
            routing.route_new_alarm(s, s.get(Alarm, red.id), "四级", "高报", policy=policy, now=T0)

    # a change reaches whom the first notice reached (plus whom the new grade adds), once
    with store.session(ops) as s:
        up = routing.route_change(s, s.get(Alarm, blue.id), "高高报", kind="变更", new_grade="Ⅱ", policy=policy,
                                  reason="升至高高报", now=T0 + timedelta(minutes=10))
        assert up.enqueued == [f"{blue.alarm_key}/change/Ⅱ/{r}" for r in ("enterprise", "street_office", "emb_duty")]
        assert s.get(Alarm, blue.id).grade == "Ⅱ"
        off = routing.route_change(s, s.get(Alarm, red.id), "高高报", kind="解除", policy=policy, now=T0)
        assert off.enqueued == [f"{k}/cancel/{r}" for r in ("enterprise", "street_office", "emb_duty")]
        text = s.scalars(sa.select(Notification).where(Notification.idempotency_key == f"{k}/cancel/emb_duty")).one()
        assert f"原预警编号：{k}/notice" in text.payload["markdown"]["content"]
    with store.session(ops) as s:
        assert routing.route_change(s, s.get(Alarm, red.id), "高高报", kind="解除", policy=policy, now=T0).enqueued == []
        with pytest.raises(ValueError, match="还没有发布过预警通知"):
            routing.route_change(s, new_alarm(s, point="P-new"), "高报", kind="解除", policy=policy, now=T0)


def test_routing_commits_with_the_callers_transaction(ops, policy):
    with pytest.raises(RuntimeError):
        with store.session(ops) as s:
            routing.route_new_alarm(s, new_alarm(s), "一级", "高高报", policy=policy, now=T0)
            raise RuntimeError("the caller failed")
    with store.session(ops) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Alarm)) == 0


# ------------------------------------------------------------------ escalation


def test_escalation_by_grade_up_the_ladder_once_audited(ops, policy):
    alarms = {}
    with store.session(ops) as s:
        for code, (level, threshold) in {"Ⅰ": ("一级", "高高报"), "Ⅱ": ("一级", "高报"), "Ⅲ": ("二级", "高报"),
                                         "Ⅳ": ("四级", "高报")}.items():
            a = new_alarm(s, point=f"P-{len(alarms)}", source=f"H-{len(alarms)}", street="CH")
            routing.route_new_alarm(s, a, level, threshold, policy=policy, now=T0)
            alarms[code] = a.id
        acked = new_alarm(s, point="P-acked", street="CH")
        routing.route_new_alarm(s, acked, "一级", "高高报", policy=policy, now=T0)
        ungraded = new_alarm(s, point="P-ungraded", street="CH")

    def run(minutes):
        with store.session(ops) as s:
            return [(e.alarm_id, e.level, e.recipient) for e in
                    escalation.escalate_due(s, T0 + timedelta(minutes=minutes), policy=policy)]

    with store.session(ops) as s:
        store.act(s, acked.id, "签收", actor="ch_officer", scope_streets=["CH"], now=T0 + timedelta(minutes=4))
    assert run(4) == []  # nobody's time has run out
    assert run(5) == [(alarms["Ⅰ"], 1, "emb")]  # red: 5 minutes; the acknowledged one is left alone
    assert run(5) == []  # again at the same time: nothing more
    assert run(9) == []  # the next step's time runs from the escalation
    assert run(10) == [(alarms["Ⅰ"], 2, "leader")]
    assert run(15) == [(alarms["Ⅱ"], 1, "emb")]  # orange: 15; red is at the top: nothing more
    assert run(30) == [(alarms["Ⅱ"], 2, "leader"), (alarms["Ⅲ"], 1, "emb")]
    assert run(60) == [(alarms["Ⅲ"], 2, "leader"), (alarms["Ⅳ"], 1, "emb")]
    with store.session(ops) as s:
        store.act(s, alarms["Ⅳ"], "签收", actor="ch_officer", scope_streets=["CH"], now=T0 + timedelta(minutes=61))
    assert run(600) == []  # blue acknowledged after its escalation: no further step; the rest at the top

    with store.session(ops) as s:
        red = s.get(Alarm, alarms["Ⅰ"])
        assert (red.escalation_level, red.escalated_at, red.status) == (2, T0 + timedelta(minutes=10), "待签收")
        assert (s.get(Alarm, alarms["Ⅳ"]).escalation_level, s.get(Alarm, alarms["Ⅳ"]).status) == (1, "已签收")
        assert s.get(Alarm, acked.id).escalation_level == 0 and s.get(Alarm, ungraded.id).escalation_level == 0
        sent = messages(s)
        assert sent[f"{red.alarm_key}/escalate/1"] == ("emb", "emb_duty", "wecom")
        assert sent[f"{red.alarm_key}/escalate/2"] == ("leader", "leader", "wecom")
        assert sum("/escalate/" in k for k in sent) == 7
        text = s.scalars(sa.select(Notification).where(
            Notification.idempotency_key == f"{red.alarm_key}/escalate/2")).one().payload["markdown"]["content"]
        assert "升级至：第 2 级，区领导（leader）" in text and "超过签收时限 5 分钟仍未签收" in text
        trail = [(e.action, e.from_status, e.to_status, e.actor, e.actor_scope, e.note, e.at)
                 for e in store.history(s, red.id)]
        assert trail == [
            ("升级", "待签收", "待签收", "system", "全区", "超过签收时限 5 分钟未签收，升级至第 1 级：区应急管理局值班员（emb）",
             T0 + timedelta(minutes=5)),
            ("升级", "待签收", "待签收", "system", "全区", "超过签收时限 5 分钟未签收，升级至第 2 级：区领导（leader）",
             T0 + timedelta(minutes=10)),
        ]
        assert s.scalar(sa.select(sa.func.count()).select_from(AlarmEvent).where(AlarmEvent.action == "升级")) == 7
        # the open alarms still answer, escalated or not
        assert {a.id for a in store.open_alarms(s, ["CH"], now=T0)} >= {red.id, ungraded.id}


# ------------------------------------------------------------------ the migration


def test_migration_0002_adds_the_escalation_columns(db_url):
    assert store.upgrade(db_url, "0001") == "0001"
    with store.engine(db_url).begin() as conn:  # an alarm from before the revision
        conn.execute(sa.text("insert into alarms (alarm_key, point_id, status, started_at, created_at, updated_at) "
                             "values ('old', 'P', '待签收', :t, :t, :t)"), {"t": T0.replace(tzinfo=None)})
    assert store.upgrade(db_url) == store.head_revision() == "0002"
    with store.engine(db_url).connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), store.Base.metadata) == []
    with store.session(db_url) as s:
        old = s.scalars(sa.select(Alarm)).one()
        assert (old.escalation_level, old.escalated_at) == (0, None)
    assert store.downgrade(db_url, "0001") == "0001"
    with store.engine(db_url).connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("alarms")}
        assert "escalation_level" not in columns and "escalated_at" not in columns and "handling_note" in columns
        checks = {c["name"] for c in sa.inspect(conn).get_check_constraints("alarms")}
        assert "ck_alarms_status" in checks  # the table was not rebuilt without its constraint
    assert store.downgrade(db_url) is None
