"""The 告警处置 page's reads and writes of the operations database (alarms and their audit).

The dashboards read the published warehouse (``dashboards.data``) and write only here, and only
through ``citysafety.act.store``: the state machine, the scope check and the audit are the
store's (``store.act``), never this module's. What is added here is the shape a page shows: the
open alarms and an alarm's history as DataFrames (times in Beijing time), and the reasons the
operations database cannot be read as one exception with a Chinese message.

The database is ``CITYSAFETY_OPERATIONS_DB_URL`` (default: the demo's SQLite file under
``$CITYSAFETY_HOME/operations``). A SQLite file that does not exist yet is not created by a page
(it would be an empty database), and a database without the ``alarms`` table (never upgraded)
counts as not set up.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from citysafety.act import routing, store
from citysafety.config import ConfigError
from citysafety.share import labels

T = labels.ALARMS_TEXTS
ActionRefused = store.ActionRefused
HANDLE = store.HANDLE
PENDING = store.PENDING

OPEN_COLUMNS = ["id", "grade", "grade_name", "street_code", "street_name", "hazard_source_id", "point_id",
                "status", "started_at", "age_minutes", "escalation_level", "escalation_name", "next_action"]
HISTORY_COLUMNS = ["at", "action", "from_status", "to_status", "actor", "actor_scope", "remote_addr", "note"]


class OperationsUnavailable(Exception):
    """The operations database cannot be read; ``message`` is a Chinese sentence for the page."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message
        self.detail = detail


def grade_name(code: str | None) -> str:
    """Ⅰ级（红色）, from the grade's code (the colours are the routing policy's)."""
    return labels.alarm_grade_name(code, routing.COLORS.get(code or ""))


def _local(value: datetime | None) -> pd.Timestamp | None:
    if value is None:
        return None
    return pd.Timestamp(store.instant(value).astimezone(store.SHANGHAI).replace(tzinfo=None))


def ready(url: str | None = None) -> None:
    """Raise ``OperationsUnavailable`` unless the operations database is set up and reachable."""
    try:
        parsed = store.database_url(url)
    except ConfigError as exc:
        raise OperationsUnavailable(T["config_error"] + str(exc).split(" (")[0], str(exc)) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:") \
                and not Path(database).expanduser().is_file():
            raise OperationsUnavailable(T["not_configured"])
    try:
        with store.engine(url).connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
    except sa.exc.SQLAlchemyError as exc:
        raise OperationsUnavailable(T["unreachable"], str(exc).splitlines()[0]) from None
    if "alarms" not in tables or "alarm_events" not in tables:
        raise OperationsUnavailable(T["not_configured"])


def open_alarms(scope_streets: list[str] | None, url: str | None = None,
                now: datetime | None = None) -> pd.DataFrame:
    """The alarms not archived yet within the scope (None: the whole district), oldest first
    (``store.open_alarms``), with their escalation level and the next action the store allows."""
    names = routing.street_names()
    try:
        with store.session(url) as s:
            found = store.open_alarms(s, scope_streets, now=now)
    except sa.exc.SQLAlchemyError as exc:
        raise OperationsUnavailable(T["unreachable"], str(exc).splitlines()[0]) from None
    rows = []
    for a in found:
        level = a.escalation_level
        rows.append({
            "id": a.id,
            "grade": a.grade,
            "grade_name": grade_name(a.grade),
            "street_code": a.street_code,
            "street_name": names.get(a.street_code or "", T["no_street"]),
            "hazard_source_id": a.hazard_source_id,
            "point_id": a.point_id,
            "status": a.status,
            "started_at": _local(a.started_at),
            "age_minutes": max(0, math.floor(a.age_minutes)),
            "escalation_level": level,
            "escalation_name": T["escalated_level"].format(level=level) if level else T["not_escalated"],
            "next_action": store.NEXT_ACTION.get(a.status),
        })
    return pd.DataFrame(rows, columns=OPEN_COLUMNS)


def history(alarm_id: int, url: str | None = None) -> pd.DataFrame:
    """An alarm's audit in order (``store.history``): who did what, when, from where."""
    try:
        with store.session(url) as s:
            events = store.history(s, int(alarm_id))
            rows = [{"at": _local(e.at), "action": e.action, "from_status": e.from_status,
                     "to_status": e.to_status, "actor": e.actor, "actor_scope": e.actor_scope,
                     "remote_addr": e.remote_addr, "note": e.note} for e in events]
    except sa.exc.SQLAlchemyError as exc:
        raise OperationsUnavailable(T["unreachable"], str(exc).splitlines()[0]) from None
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def act(alarm_id: int, action: str, *, actor: str, scope_streets: list[str] | None, remote_addr: str | None,
        note: str | None = None, url: str | None = None) -> str:
    """One step of the response by ``actor`` (``store.act``, one transaction): the alarm's new
    status. Raises ``ActionRefused`` with the store's Chinese message when the store refuses."""
    try:
        with store.session(url) as s:
            alarm = store.act(s, int(alarm_id), action, actor=actor, scope_streets=scope_streets,
                              remote_addr=remote_addr, note=note)
            return alarm.status
    except sa.exc.SQLAlchemyError as exc:
        raise OperationsUnavailable(T["unreachable"], str(exc).splitlines()[0]) from None
