"""Escalation: an alarm not acknowledged (签收) in its grade's time goes one step up the ladder.

`escalate_due(session, now)` takes every alarm still 待签收 whose grade's acknowledgement time
(`policy/alarms.yml`: 红 5, 橙 15, 黄 30, 蓝 60 minutes) has run out since it was recorded
(`created_at`) or last escalated (`escalated_at`), and, in the caller's transaction:

- raises `escalation_level` by one and stamps `escalated_at` (a conditional update on the level
  it read: two runs at once escalate once);
- enqueues a message to the next level of the ladder (street office → emb duty officer → leader),
  keyed `<alarm_key>/escalate/<level>`;
- writes the audit row: action 升级, actor `system`, the status unchanged (待签收), the level and
  the recipient in the note.

The first level of the ladder is who got the notice (level 0); level n is `ladder[n]`. Once the
top is reached nothing more is sent, and the alarm stays marked. Running it again at the same
`now` escalates nothing more; an acknowledged alarm is never escalated; an alarm without a grade
(not routed) is left alone and logged. A level whose recipient cannot be resolved for the alarm
(no street for a street office) is still taken and audited, the note saying nobody could be told.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from citysafety.act import outbox, routing
from citysafety.act.store import PENDING, WHOLE_DISTRICT, Alarm, AlarmEvent, SHANGHAI, instant, utcnow

log = logging.getLogger(__name__)

ESCALATE = "升级"
SYSTEM = "system"


@dataclass(frozen=True)
class Escalated:
    alarm_id: int
    alarm_key: str
    level: int  # the level reached
    recipient: str | None  # who was told (None: could not be resolved)
    key: str | None  # the outbox message's key


def escalation_key(alarm: Alarm, level: int) -> str:
    return f"{alarm.alarm_key}/escalate/{level}"


def due_at(alarm: Alarm, rule: routing.GradeRule) -> datetime:
    """When `alarm` is due for its next escalation."""
    return (alarm.escalated_at or alarm.created_at) + timedelta(minutes=rule.ack_minutes)


def _message(policy: routing.RoutingPolicy, alarm: Alarm, rule: routing.GradeRule, level: int,
             target: routing.Target, now: datetime) -> tuple[str, str]:
    street = routing.street_names().get(alarm.street_code or "") or "未落到街道"
    waited = (now - (alarm.escalated_at or alarm.created_at)).total_seconds() / 60
    title = f"【{rule.label}预警升级】{street} 告警超时未签收"
    text = "\n".join([
        f"- 预警编号：{routing.notice_number(alarm)}",
        f"- 预警级别：{rule.label}",
        f"- 升级至：第 {level} 级，{target.name_zh}（{target.recipient}）",
        f"- 原因：超过签收时限 {rule.ack_minutes} 分钟仍未签收（已等待 {waited:.0f} 分钟）",
        f"- 开始时间：{alarm.started_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
        f"- 地点（街道）：{street}",
        f"- 危险源：{alarm.hazard_source_id or '—'}",
        f"- 监测点：{alarm.point_id}",
        f"- 处置要求：请立即督促责任单位签收并处置。{rule.requirement}",
        f"- 发布单位：{policy.issuing_unit}",
    ])
    return title, text


def escalate_due(s: Session, now: datetime | None = None, *,
                 policy: routing.RoutingPolicy | None = None) -> list[Escalated]:
    """Escalate, one step each, the alarms still 待签收 past their grade's time; what was done."""
    policy = policy or routing.load()
    now = instant(now) or utcnow()
    top = len(policy.ladder) - 1
    candidates = s.scalars(sa.select(Alarm).where(Alarm.status == PENDING, Alarm.escalation_level < top)
                           .order_by(Alarm.created_at, Alarm.id)).all()
    done: list[Escalated] = []
    for alarm in candidates:
        if alarm.grade is None:
            log.warning("escalation: alarm %s has no grade (not routed): not escalated", alarm.alarm_key)
            continue
        rule = policy.rule(alarm.grade)
        if now < due_at(alarm, rule):
            continue
        level = alarm.escalation_level + 1
        target = policy.target(policy.ladder[level], alarm)
        title_text = _message(policy, alarm, rule, level, target, now) if target else None
        taken = s.execute(sa.update(Alarm)
                          .where(Alarm.id == alarm.id, Alarm.status == PENDING,
                                 Alarm.escalation_level == alarm.escalation_level)
                          .values(escalation_level=level, escalated_at=now, updated_at=now)
                          .execution_options(synchronize_session=False))
        if taken.rowcount != 1:  # acknowledged or escalated by someone else meanwhile
            continue
        key = None
        if target is not None:
            key = escalation_key(alarm, level)
            outbox.enqueue(s, key, target.recipient, target.channel, target.endpoint, *title_text,
                           alarm_id=alarm.id, now=now)
            note = f"超过签收时限 {rule.ack_minutes} 分钟未签收，升级至第 {level} 级：{target.name_zh}（{target.recipient}）"
        else:
            note = (f"超过签收时限 {rule.ack_minutes} 分钟未签收，升级至第 {level} 级：{policy.ladder[level]}，"
                    "但该告警无法确定接收人，未发送通知")
            log.warning("escalation: alarm %s level %s: %s cannot be resolved", alarm.alarm_key, level,
                        policy.ladder[level])
        s.add(AlarmEvent(alarm_id=alarm.id, action=ESCALATE, from_status=PENDING, to_status=PENDING, actor=SYSTEM,
                         actor_scope=WHOLE_DISTRICT, remote_addr=None, note=note, at=now))
        s.flush()
        s.refresh(alarm)
        done.append(Escalated(alarm.id, alarm.alarm_key, level, target.recipient if target else None, key))
    return done
