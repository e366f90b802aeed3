"""From the published alarm episodes to alarms in the operations store, graded and notified.

`record_published(cfg, now)` reads, from the published warehouse (read-only, as every reader),
the episodes of `marts.fct_sensor_alarm_episodes` that started within the look-back window
(`config.alarm_lookback_hours`, default 24 h: a year of history delivered at once is not a year of
alarms to send today) and, one alarm per transaction:

- records it (`store.record_alarm`, keyed by point and start: the same episode found again — the
  next build, the daily file carrying what the live path already landed — is the same alarm);
- grades and routes it the first time (`routing.route_new_alarm`: the grade from the threshold the
  episode reached and the hazard source's level, both published by the mart; the notices go to
  the outbox in the same transaction as the alarm);
- sends a change (变更) when a later reading raised it to a higher grade (it reached 高高报 after
  its notice went out as 高报) — never a lower one: a grade is not taken back by a notice;
- sends the cancellation (解除) once the mart has its clearing reading (`cleared_at`), and keeps
  that end on the alarm. The response (签收 … 归档) goes on after it: the reading is back to
  normal, what caused it still has to be checked.

Every step is keyed (the alarm by its key, each message by its idempotency key), so running it
again, or two runs at once, records and sends nothing twice. The episodes' rules (what an episode
is, when it ends, the threshold reached, the street) are the mart's; the grade table and the
recipients are `policy/alarms.yml`'s. Nothing here decides either.

`respond_once()` is one pass of the response loop as the `respond_to_alarms` DAG runs it:
record, escalate, dispatch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import sqlalchemy as sa

from citysafety import config
from citysafety.act import escalation, outbox, routing, store
from citysafety.act.store import SHANGHAI, Alarm, Notification, instant, utcnow

log = logging.getLogger(__name__)

EPISODES_TABLE = "marts.fct_sensor_alarm_episodes"
CLEARED_REASON = "监测值已回落至高报阈值以下"

# Local (Asia/Shanghai) timestamps in the mart; `?` the window's start, local.
EPISODES_SQL = f"""
select episode_id, point_id, hazard_source_id, hazard_source_name, hazard_level, street_code,
       metric, unit, started_at, cleared_at, peak_value, high_threshold, high_high_threshold,
       reached_high_high
from {EPISODES_TABLE}
where started_at >= ?
order by started_at, point_id
"""


class RecordFailed(RuntimeError):
    """Some episodes could not be recorded or routed; the others were."""


@dataclass(frozen=True)
class Episode:
    """One published alarm episode, as the response reads it (times aware, Asia/Shanghai)."""

    episode_id: str
    point_id: str
    hazard_source_id: str | None
    hazard_source_name: str | None
    hazard_level: str | None
    street_code: str | None
    metric: str | None
    unit: str | None
    started_at: datetime
    cleared_at: datetime | None
    peak_value: float | None
    high_threshold: float | None
    high_high_threshold: float | None
    reached_high_high: bool

    @property
    def threshold_crossed(self) -> str:
        return routing.HIGH_HIGH if self.reached_high_high else routing.HIGH

    @property
    def details(self) -> dict:
        """What the notice shows of the reading (routing.notice)."""
        return {"hazard_source_name": self.hazard_source_name, "metric": self.metric,
                "value": self.peak_value, "unit": self.unit,
                "threshold": self.high_high_threshold if self.reached_high_high else self.high_threshold}


@dataclass
class Recorded:
    """What one pass over the published episodes did."""

    episodes: int = 0
    new_alarms: int = 0
    notified: int = 0  # alarms whose first notice was enqueued in this pass
    changed: int = 0
    cancelled: int = 0
    messages: int = 0  # messages enqueued
    skipped: list[str] = field(default_factory=list)  # why an episode or a recipient was left out


def _local(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=SHANGHAI)


def published_episodes(cfg: config.Settings, since: datetime) -> list[Episode]:
    """The published episodes that started at or after `since` (none before the first publish)."""
    db = cfg.warehouse_db
    if not db.exists():
        return []
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(EPISODES_SQL, [instant(since).astimezone(SHANGHAI).replace(tzinfo=None)]).fetchall()
    finally:
        con.close()
    return [Episode(*row[:8], _local(row[8]), _local(row[9]), *row[10:13], bool(row[13])) for row in rows]


def _has_sent(s, alarm: Alarm, kind: str) -> bool:
    prefix = routing.notice_number(alarm, kind) + "/"
    return s.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.alarm_id == alarm.id, Notification.idempotency_key.startswith(prefix))) > 0


def record_episode(s, episode: Episode, policy: routing.RoutingPolicy, now: datetime, done: Recorded) -> None:
    """Record, route, change or cancel one episode's alarm, in the session's transaction."""
    if not episode.hazard_level:
        done.skipped.append(f"{episode.episode_id}: 危险源等级未知，无法定级（不通知）")
        log.warning("respond: %s", done.skipped[-1])
        return
    before = s.scalar(sa.select(Alarm.id).where(
        Alarm.alarm_key == store.alarm_key(episode.point_id, episode.started_at)))
    alarm = store.record_alarm(s, point_id=episode.point_id, started_at=episode.started_at,
                               hazard_source_id=episode.hazard_source_id, street_code=episode.street_code,
                               ended_at=episode.cleared_at, now=now)
    done.new_alarms += before is None
    rule = policy.grade(episode.threshold_crossed, episode.hazard_level)
    routed: list[routing.Routed] = []
    if alarm.grade is None:
        routed.append(routing.route_new_alarm(s, alarm, episode.hazard_level, episode.threshold_crossed,
                                              policy=policy, now=now, **episode.details))
        done.notified += 1
    elif routing.GRADES.index(rule.code) < routing.GRADES.index(alarm.grade):
        routed.append(routing.route_change(s, alarm, episode.threshold_crossed, kind=routing.CHANGE,
                                           new_grade=rule.code, policy=policy, now=now,
                                           reason=f"监测值达到{episode.threshold_crossed}阈值",
                                           **episode.details))
        done.changed += 1
    if episode.cleared_at is not None and not _has_sent(s, alarm, routing.CANCEL):
        routed.append(routing.route_change(s, alarm, episode.threshold_crossed, kind=routing.CANCEL,
                                           policy=policy, now=now, reason=CLEARED_REASON, **episode.details))
        done.cancelled += 1
    for r in routed:
        done.messages += len(r.enqueued)
        done.skipped += [why for _, why in r.skipped]


def record_published(cfg: config.Settings | None = None, now: datetime | None = None, *,
                     url: str | None = None, policy: routing.RoutingPolicy | None = None) -> Recorded:
    """Record and route the published episodes of the look-back window (module docstring)."""
    cfg = cfg or config.settings()
    policy = policy or routing.load()
    store.require_current(url)
    now = instant(now) or utcnow()
    episodes = published_episodes(cfg, now - timedelta(hours=config.alarm_lookback_hours()))
    done = Recorded(episodes=len(episodes))
    failed: list[str] = []
    for episode in episodes:
        try:
            with store.session(url) as s:  # one alarm, its notices and its audit: all or nothing
                record_episode(s, episode, policy, now, done)
        except (ValueError, sa.exc.IntegrityError) as exc:
            # One episode the policy cannot route must not hold back the others' notices: they
            # are recorded, and the run fails afterwards, naming it (retried at the next run).
            failed.append(f"{episode.episode_id}: {exc}")
            log.error("respond: %s", failed[-1])
    if failed:
        raise RecordFailed(f"{len(failed)} 个报警未能记录或通知（其余已处理）：" + "；".join(failed[:5]))
    log.info("respond: %d episodes in the window, %d new alarms, %d notified, %d changed, %d cancelled, "
             "%d messages", done.episodes, done.new_alarms, done.notified, done.changed, done.cancelled,
             done.messages)
    return done


def escalate(now: datetime | None = None, *, url: str | None = None,
             policy: routing.RoutingPolicy | None = None) -> list[escalation.Escalated]:
    """Escalate the alarms past their grade's time to acknowledge (one transaction)."""
    with store.session(url) as s:
        return escalation.escalate_due(s, now, policy=policy)


def dispatch(url: str | None = None, now: datetime | None = None, limit: int = 200) -> outbox.Dispatched:
    """Send what the outbox has due, in batches, until nothing due is left or a batch sends nothing."""
    total = outbox.Dispatched()
    while True:
        batch = outbox.dispatch_due(url, now, limit=limit)
        for name in ("claimed", "sent", "retried", "dead", "released"):
            setattr(total, name, getattr(total, name) + getattr(batch, name))
        if batch.claimed < limit or not batch.sent:
            return total


def respond_once(cfg: config.Settings | None = None, now: datetime | None = None,
                 url: str | None = None) -> dict:
    """One pass of the loop: record and route, escalate, dispatch. What each did."""
    policy = routing.load()
    recorded = record_published(cfg, now, url=url, policy=policy)
    escalated = escalate(now, url=url, policy=policy)
    sent = dispatch(url, now)
    return {"recorded": recorded, "escalated": len(escalated), "dispatched": sent}
