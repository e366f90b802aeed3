"""The operations database: alarms, the audit of every change of their state, the notification
outbox. The platform's first write path.

PostgreSQL in production, an embedded SQLite file in the demo; the URL is the setting
CITYSAFETY_OPERATIONS_DB_URL (`citysafety.config.operations_db_url`). A URL that cannot be
parsed, names a database other than SQLite or PostgreSQL, or whose driver is not installed stops
with a `ConfigError` naming it: there is no fallback to another database.

The schema is the ORM below and the hand-written Alembic revisions in `migrations/` (the tests
compare them); `upgrade()` brings a database to the newest revision without any alembic.ini:

    python -m citysafety.act.store upgrade

Tables:
- `alarms`: one row per alarm episode of a monitoring point, keyed by `alarm_key`
  (`<point_id>@<episode start, ISO with offset>`); its status moves 待签收 → 已签收 → 已到场 →
  已处置 → 已归档 by the actions 签收, 到场, 处置完毕 (with a note), 归档, each stamping its time;
  an alarm not acknowledged in its grade's time is escalated (`escalation_level`,
  `escalated_at`; citysafety.act.escalation, audited as the action 升级 by `system`);
- `alarm_events`: one row per accepted change (who, with which scope, from which address, when,
  from and to which status), written in the same transaction as the change;
- `notifications`: the outbox (`citysafety.act.outbox`).

All instants are stored in UTC and read back as aware UTC datetimes; a naive instant given to
this module is Asia/Shanghai time, as everywhere in the platform's data.

Writes take a session (`with session() as s: ...`, one transaction, committed when the block
ends, rolled back on an error), so that an alarm, its notifications and its audit are written
together or not at all.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from citysafety import config
from citysafety.act.robots import CHANNELS
from citysafety.config import ConfigError
from citysafety.sql import literal

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
SHANGHAI = ZoneInfo("Asia/Shanghai")
BACKENDS = ("sqlite", "postgresql")

# --- the state machine --------------------------------------------------------------------------

PENDING, ACKNOWLEDGED, ON_SITE, HANDLED, ARCHIVED = "待签收", "已签收", "已到场", "已处置", "已归档"
STATUSES = (PENDING, ACKNOWLEDGED, ON_SITE, HANDLED, ARCHIVED)
ACK, ARRIVE, HANDLE, ARCHIVE = "签收", "到场", "处置完毕", "归档"
ACTIONS = (ACK, ARRIVE, HANDLE, ARCHIVE)
# action -> (the status it leaves, the status it reaches, the column stamped with its time)
TRANSITIONS: dict[str, tuple[str, str, str]] = {
    ACK: (PENDING, ACKNOWLEDGED, "acknowledged_at"),
    ARRIVE: (ACKNOWLEDGED, ON_SITE, "arrived_at"),
    HANDLE: (ON_SITE, HANDLED, "handled_at"),
    ARCHIVE: (HANDLED, ARCHIVED, "archived_at"),
}
NEXT_ACTION = {src: action for action, (src, _dst, _col) in TRANSITIONS.items()}
# Open: not archived yet (归档 closes the loop, the last step of 预警发布 → 响应处置 → 信息反馈 → 归档管理).
OPEN_STATUSES = (PENDING, ACKNOWLEDGED, ON_SITE, HANDLED)
WHOLE_DISTRICT = "全区"

NOTIFICATION_STATUSES = ("pending", "sending", "sent", "dead")


class ActionRefused(Exception):
    """An action on an alarm was refused; the message (Chinese) says why, for the user."""


class UnknownAction(ActionRefused):
    pass


class OutOfOrder(ActionRefused):
    pass


class OutOfScope(ActionRefused):
    pass


class UnknownAlarm(ActionRefused):
    pass


# --- the schema (the migrations in migrations/versions create exactly this) -------------------------

NAMING = {
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def instant(value: datetime | None) -> datetime | None:
    """An aware UTC datetime; a naive one is Asia/Shanghai time."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(timezone.utc)


class UTCDateTime(TypeDecorator):
    """An instant, stored in UTC (timestamptz on PostgreSQL, UTC text on SQLite), read back aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the operations store takes aware datetimes only (use store.instant())")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _in(values: Iterable[str]) -> str:
    """`('a', 'b')`: the allowed values of a CHECK constraint (constants of this module)."""
    return "(" + ", ".join(literal(v) for v in values) + ")"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime}


class Alarm(Base):
    __tablename__ = "alarms"
    __table_args__ = (
        sa.CheckConstraint(f"status in {_in(STATUSES)}", name="status"),
        sa.Index(None, "street_code", "status"),
        sa.Index(None, "status", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    hazard_source_id: Mapped[str | None] = mapped_column(sa.String(64))
    point_id: Mapped[str] = mapped_column(sa.String(64))
    street_code: Mapped[str | None] = mapped_column(sa.String(16))
    grade: Mapped[str | None] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(8), default=PENDING)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
    handling_note: Mapped[str | None] = mapped_column(sa.Text)
    # Escalation (citysafety.act.escalation, revision 0002): the step of the ladder reached
    # (0: not escalated) and when the last step was taken.
    escalation_level: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    escalated_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"Alarm(id={self.id}, key={self.alarm_key!r}, street={self.street_code}, status={self.status})"


class AlarmEvent(Base):
    """The audit: one row per accepted change of an alarm's state. Never updated or deleted."""

    __tablename__ = "alarm_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_id: Mapped[int] = mapped_column(sa.ForeignKey("alarms.id", ondelete="RESTRICT"), index=True)
    action: Mapped[str] = mapped_column(sa.String(16))
    from_status: Mapped[str] = mapped_column(sa.String(8))
    to_status: Mapped[str] = mapped_column(sa.String(8))
    actor: Mapped[str] = mapped_column(sa.String(128))
    actor_scope: Mapped[str] = mapped_column(sa.String(256))
    remote_addr: Mapped[str | None] = mapped_column(sa.String(64))
    note: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(index=True)


class Notification(Base):
    """The outbox: one message to one endpoint (citysafety.act.outbox)."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.CheckConstraint(f"status in {_in(NOTIFICATION_STATUSES)}", name="status"),
        sa.CheckConstraint(f"channel in {_in(CHANNELS)}", name="channel"),
        sa.Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    alarm_id: Mapped[int | None] = mapped_column(sa.ForeignKey("alarms.id", ondelete="RESTRICT"), index=True)
    recipient: Mapped[str] = mapped_column(sa.String(128))
    channel: Mapped[str] = mapped_column(sa.String(16))
    endpoint: Mapped[str] = mapped_column(sa.String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(sa.String(8), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    sent_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]

    def __repr__(self) -> str:
        return (f"Notification(id={self.id}, key={self.idempotency_key!r}, endpoint={self.endpoint!r}, "
                f"status={self.status}, attempts={self.attempts})")


# --- the engine ------------------------------------------------------------------------------------

_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()


def _shown(text: str) -> str:
    """A URL as it may be shown: never its password."""
    return text.split("@")[-1]


def database_url(url: str | None = None) -> sa.URL:
    """The operations database's URL, checked: parsable, SQLite or PostgreSQL, a synchronous
    driver that is installed. Anything else raises `ConfigError` (fail closed: no fallback)."""
    text = (url or config.operations_db_url()).strip()
    try:
        parsed = sa.make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        raise ConfigError(f"CITYSAFETY_OPERATIONS_DB_URL 无法解析：{_shown(text)!r}（应为 SQLAlchemy 地址，"
                          "如 postgresql+psycopg://用户@主机:5432/库名 或 sqlite:////路径/operations.db）"
                          " (the operations database URL cannot be parsed)") from None
    backend = parsed.get_backend_name()
    if backend not in BACKENDS:
        raise ConfigError(f"运营数据库只支持 PostgreSQL 或 SQLite，现为 {backend!r}"
                          f" (CITYSAFETY_OPERATIONS_DB_URL: unsupported database {backend!r})")
    try:
        dialect = parsed.get_dialect()
        dialect.import_dbapi()
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"运营数据库驱动 {parsed.drivername!r} 未安装或不存在：{exc}（PostgreSQL 请用 "
                          "postgresql+psycopg://…）"
                          f" (CITYSAFETY_OPERATIONS_DB_URL: driver {parsed.drivername!r} is not installed)") from None
    if getattr(dialect, "is_async", False):
        raise ConfigError(f"运营数据库驱动 {parsed.drivername!r} 是异步驱动，此处须用同步驱动（postgresql+psycopg）"
                          f" (CITYSAFETY_OPERATIONS_DB_URL: {parsed.drivername!r} is an async driver)")
    return parsed


def shown_url(url: str | None = None) -> str:
    return database_url(url).render_as_string(hide_password=True)


def engine(url: str | None = None) -> sa.Engine:
    """The engine of the operations database (one per URL and process)."""
    parsed = database_url(url)
    key = parsed.render_as_string(hide_password=False)
    with _engines_lock:
        found = _engines.get(key)
        if found is None:
            found = _engines[key] = _create_engine(parsed)
    return found


def _create_engine(parsed: sa.URL) -> sa.Engine:
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        made = sa.create_engine(parsed, connect_args={"timeout": 30})

        @sa.event.listens_for(made, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("pragma foreign_keys = on")
            cursor.execute("pragma journal_mode = wal")  # the app reads while the dispatcher writes
            cursor.execute("pragma synchronous = full")  # each commit on disk, even through a power cut
            cursor.close()

        return made
    return sa.create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10})


def dispose(url: str | None = None) -> None:
    """Close the pooled connections of one database's engine (all engines when url is "*")."""
    with _engines_lock:
        if url == "*":
            keys = list(_engines)
        else:
            keys = [database_url(url).render_as_string(hide_password=False)]
        for key in keys:
            made = _engines.pop(key, None)
            if made is not None:
                made.dispose()


@contextmanager
def session(url: str | None = None) -> Iterator[Session]:
    """One transaction on the operations database: committed when the block ends, rolled back
    when it raises."""
    with Session(engine(url), expire_on_commit=False) as s, s.begin():
        yield s


def insert(s: Session, table):
    """INSERT for the session's dialect, with ON CONFLICT DO NOTHING available (both backends)."""
    return (postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


# --- migrations -------------------------------------------------------------------------------------

_ADVISORY_LOCK = 0x0C17_5AFE  # one upgrade at a time on a shared PostgreSQL


def _alembic(connection: sa.Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> str | None:
    """Bring the operations database to `revision` (default the newest); returns the revision."""
    from alembic import command

    with engine(url).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})
        command.upgrade(_alembic(conn), revision)
    return current_revision(url)


def downgrade(url: str | None = None, revision: str = "base") -> str | None:
    """Take the operations database back to `revision` (default: nothing, every table dropped)."""
    from alembic import command

    with engine(url).begin() as conn:
        command.downgrade(_alembic(conn), revision)
    return current_revision(url)


def current_revision(url: str | None = None) -> str | None:
    from alembic.migration import MigrationContext

    with engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def require_current(url: str | None = None) -> None:
    """Stop with the reason unless the database is at the newest revision (a writer never
    writes into tables of another shape; the migration is a step of its own, `init`)."""
    have, want = current_revision(url), head_revision()
    if have != want:
        raise ConfigError(f"运营数据库 {shown_url(url)} 的版本为 {have or '（未建）'}，应为 {want}：请运行 "
                          f"python -m citysafety.act.store upgrade (the operations database is not migrated)")


# --- alarms -----------------------------------------------------------------------------------------


def alarm_key(point_id: str, started_at: datetime) -> str:
    """The key of a monitoring point's alarm episode: `<point_id>@<start, Asia/Shanghai, ISO>`."""
    start = instant(started_at).astimezone(SHANGHAI).isoformat(timespec="seconds")
    return f"{point_id}@{start}"


def record_alarm(s: Session, *, point_id: str, started_at: datetime, hazard_source_id: str | None = None,
                 street_code: str | None = None, grade: str | None = None, ended_at: datetime | None = None,
                 key: str | None = None, now: datetime | None = None) -> Alarm:
    """Record an alarm episode, once: recording the same key again (a restart, a re-run, the
    daily path finding the episode the live path found) returns the alarm already there, its
    status untouched. An end (`ended_at`) learnt later is kept; a grade fills an empty one."""
    if not point_id:
        raise ValueError("an alarm needs its monitoring point")
    start, end, now = instant(started_at), instant(ended_at), instant(now) or utcnow()
    key = key or alarm_key(point_id, start)
    s.execute(insert(s, Alarm).values(
        alarm_key=key, hazard_source_id=hazard_source_id, point_id=point_id, street_code=street_code,
        grade=grade, status=PENDING, started_at=start, ended_at=end, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["alarm_key"]))
    alarm = s.scalars(sa.select(Alarm).where(Alarm.alarm_key == key)).one()
    changed = False
    if end is not None and alarm.ended_at != end:
        alarm.ended_at, changed = end, True
    if grade and not alarm.grade:
        alarm.grade, changed = grade, True
    if changed:
        alarm.updated_at = now
        s.flush()
    return alarm


def scope_label(scope_streets: Iterable[str] | None) -> str:
    return WHOLE_DISTRICT if scope_streets is None else "、".join(sorted(set(scope_streets))) or "无"


def act(s: Session, alarm_id: int, action: str, *, actor: str, scope_streets: Iterable[str] | None,
        remote_addr: str | None = None, note: str | None = None, now: datetime | None = None) -> Alarm:
    """One step of the response: 签收, 到场, 处置完毕 (with a note: what was done) or 归档, in that
    order, by `actor`, whose scope is `scope_streets` (street codes; None: the whole district).

    Raises `ActionRefused` (a subclass saying which: unknown action or alarm, out of scope, out of
    order) with a message in Chinese for the user, and writes nothing. An accepted change writes
    its audit row (actor, scope, remote address, note, time) in the same transaction. Two users
    acting at once: the first wins, the second is refused (the change is a conditional update)."""
    if action not in TRANSITIONS:
        raise UnknownAction(f"无法执行“{action}”：告警只能依次{'、'.join(ACTIONS)}")
    actor = (actor or "").strip()
    if not actor:
        raise ActionRefused("未识别的用户不能处理告警：请先登录")
    alarm = s.get(Alarm, alarm_id)
    if alarm is None:
        raise UnknownAlarm(f"告警 {alarm_id} 不存在")
    scope = None if scope_streets is None else frozenset(scope_streets)
    if scope is not None and alarm.street_code not in scope:
        where = f"街道 {alarm.street_code}" if alarm.street_code else "未落到街道"
        log.warning("refused: %s (scope %s) may not act on alarm %s (%s)", actor, scope_label(scope),
                    alarm_id, alarm.street_code)
        raise OutOfScope(f"{actor} 无权处理告警 {alarm_id}：该告警属于{where}，不在其职责范围"
                         f"（{scope_label(scope)}）内")
    src, dst, stamp = TRANSITIONS[action]
    if alarm.status != src:
        raise OutOfOrder(_out_of_order(alarm, action))
    note = (note or "").strip() or None
    if action == HANDLE and not note:
        raise ActionRefused("处置完毕须填写处置情况")
    now = instant(now) or utcnow()
    values: dict[str, Any] = {"status": dst, stamp: now, "updated_at": now}
    if action == HANDLE:
        values["handling_note"] = note
    done = s.execute(sa.update(Alarm).where(Alarm.id == alarm_id, Alarm.status == src).values(**values)
                     .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # someone else changed it since we read it
        s.refresh(alarm)
        raise OutOfOrder(_out_of_order(alarm, action))
    s.add(AlarmEvent(alarm_id=alarm_id, action=action, from_status=src, to_status=dst, actor=actor,
                     actor_scope=scope_label(scope), remote_addr=remote_addr, note=note, at=now))
    s.flush()
    s.refresh(alarm)
    return alarm


def _out_of_order(alarm: Alarm, action: str) -> str:
    then = NEXT_ACTION.get(alarm.status)
    hint = f"，下一步应为“{then}”" if then else "，已归档的告警不能再处理"
    return f"告警 {alarm.id} 当前状态为“{alarm.status}”，不能“{action}”{hint}"


@dataclass(frozen=True)
class OpenAlarm:
    id: int
    alarm_key: str
    hazard_source_id: str | None
    point_id: str
    street_code: str | None
    grade: str | None
    status: str
    started_at: datetime
    acknowledged_at: datetime | None
    age: timedelta
    escalation_level: int = 0  # the step of the escalation ladder reached (0: not escalated)

    @property
    def age_minutes(self) -> float:
        return self.age.total_seconds() / 60


def open_alarms(s: Session, scope_streets: Iterable[str] | None = None,
                now: datetime | None = None) -> list[OpenAlarm]:
    """Alarms not archived yet within the scope (None: the whole district), oldest first, with
    their age (since the episode started)."""
    now = instant(now) or utcnow()
    query = sa.select(Alarm).where(Alarm.status.in_(OPEN_STATUSES))
    if scope_streets is not None:
        query = query.where(Alarm.street_code.in_(sorted(set(scope_streets))))
    return [OpenAlarm(a.id, a.alarm_key, a.hazard_source_id, a.point_id, a.street_code, a.grade, a.status,
                      a.started_at, a.acknowledged_at, now - a.started_at, a.escalation_level or 0)
            for a in s.scalars(query.order_by(Alarm.started_at, Alarm.id))]


def history(s: Session, alarm_id: int) -> list[AlarmEvent]:
    """An alarm's audit, in order."""
    return list(s.scalars(sa.select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id)
                          .order_by(AlarmEvent.at, AlarmEvent.id)))


# --- command line -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m citysafety.act.store",
                                     description="The operations database (CITYSAFETY_OPERATIONS_DB_URL).")
    parser.add_argument("command", choices=["upgrade", "current"],
                        help="upgrade: migrate to the newest revision; current: show the revision")
    args = parser.parse_args(argv)
    try:
        where = shown_url()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        revision = upgrade() if args.command == "upgrade" else current_revision()
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        print(f"error: 运营数据库 {where} 无法连接 (cannot connect): {reason}", file=sys.stderr)
        return 1
    print(f"operations database {where}: revision {revision or '(none)'} (head {head_revision()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
