"""The operations database's alarms, their audit and the outbox, copied into the build copy.

Each build reads the operations database (`citysafety.act.store`: SQLite in the demo, PostgreSQL
in production; `config.operations_db_url()`) into the schema `operations` of the build copy, so
that dbt computes the response figures (marts.fct_alarm_responses,
marts.agg_alarm_response_by_month) from the state the database holds when the build starts:

- `operations.alarms`, `operations.alarm_events`, `operations.notifications`, only the columns
  the figures need (`COLUMNS`). Left out: the alarms' `handling_note` (free text), who acted,
  their scope, address and note on each audit row (`actor`, `actor_scope`, `remote_addr`,
  `note`: personal or free text), the outbox's recipients, endpoints, payloads and errors.
  Nothing of them leaves the operations database through the mart.
- Every instant is written as Asia/Shanghai wall time (a naive `timestamp`), as every time of the
  mart; the store keeps them in UTC.

Read-only on the operations side: SQLite is opened `mode=ro`; PostgreSQL in a read-only
repeatable-read transaction (`default_transaction_read_only` on the session as well), so the
three tables are one consistent snapshot and nothing is ever written there.

Fail closed: a URL that cannot be used (`store.database_url` refuses it) or a database that does
not answer stops the build with a message naming it (never a build with the figures silently
empty). One case gives empty tables of the right shape instead: a database that was never made
(the demo's default SQLite file not created yet, or a database without the operations tables,
i.e. never upgraded) - a fresh platform still builds, with no alarm responded to. A SQLite file
named explicitly by CITYSAFETY_OPERATIONS_DB_URL must exist: a wrong path is not "no alarms".
A database holding some of the three tables but not all is refused (half-migrated).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from citysafety import config
from citysafety.config import ConfigError, Settings

log = logging.getLogger(__name__)

SCHEMA = "operations"
SHANGHAI = ZoneInfo("Asia/Shanghai")
_TS = pa.timestamp("us")
# The copied columns and their types in the build copy (the operations schema is the ORM's,
# citysafety.act.store; later columns such as an escalation level are not read).
COLUMNS: dict[str, dict[str, pa.DataType]] = {
    "alarms": {
        "id": pa.int64(), "alarm_key": pa.string(), "hazard_source_id": pa.string(), "point_id": pa.string(),
        "street_code": pa.string(), "grade": pa.string(), "status": pa.string(), "started_at": _TS,
        "ended_at": _TS, "created_at": _TS, "updated_at": _TS, "acknowledged_at": _TS, "arrived_at": _TS,
        "handled_at": _TS, "archived_at": _TS,
    },
    "alarm_events": {
        "id": pa.int64(), "alarm_id": pa.int64(), "action": pa.string(), "from_status": pa.string(),
        "to_status": pa.string(), "at": _TS,
    },
    "notifications": {
        "id": pa.int64(), "alarm_id": pa.int64(), "channel": pa.string(), "status": pa.string(),
        "attempts": pa.int64(), "created_at": _TS, "sent_at": _TS,
    },
}
_DUCKDB = {pa.int64(): "bigint", pa.string(): "varchar", _TS: "timestamp"}


class OperationsUnavailable(RuntimeError):
    """The operations database named by the settings cannot be read: the build stops."""


def _explicit() -> bool:
    return bool((os.environ.get("CITYSAFETY_OPERATIONS_DB_URL") or "").strip())


def operations_url(cfg: Settings) -> str:
    """The database to read: CITYSAFETY_OPERATIONS_DB_URL when set, else the demo's embedded
    file of this build's home (the file `config.operations_db_url()` names for that home; its
    folder is not created here)."""
    if _explicit():
        return config.operations_db_url()
    return f"sqlite:///{cfg.home / 'operations' / 'operations.db'}"


def _local(value: datetime | None) -> datetime | None:
    """An instant of the store (aware UTC) as Asia/Shanghai wall time, naive."""
    if value is None:
        return None
    if value.tzinfo is None:  # the store reads back aware datetimes; a bare one is UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(SHANGHAI).replace(tzinfo=None)


def empty() -> dict[str, pa.Table]:
    return {name: pa.table({c: pa.array([], t) for c, t in cols.items()}) for name, cols in COLUMNS.items()}


def _engine(parsed: sa.URL) -> sa.Engine:
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").expanduser()
        target = f"file:{quote(str(path.resolve()))}?mode=ro"
        # autocommit at the driver: the reads below open their one transaction themselves
        return sa.create_engine("sqlite://", poolclass=sa.pool.NullPool,
                                creator=lambda: sqlite3.connect(target, uri=True, isolation_level=None))
    return sa.create_engine(parsed, poolclass=sa.pool.NullPool,
                            connect_args={"connect_timeout": 10,
                                          "options": "-c default_transaction_read_only=on"})


def read(cfg: Settings) -> dict[str, pa.Table]:
    """The three tables as Arrow tables of `COLUMNS` (empty when the database was never made).
    Raises ConfigError (an unusable URL) or OperationsUnavailable (a database that does not answer
    or is half-migrated)."""
    from citysafety.act import store  # the ORM: the tables' names and types, read back aware

    url = operations_url(cfg)
    parsed = store.database_url(url)  # ConfigError for a URL it cannot use: fail closed
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").expanduser()
        if not parsed.database or parsed.database == ":memory:" or str(parsed.database).startswith("file:"):
            raise ConfigError(f"运营数据库须为 SQLite 文件路径：{shown} (the operations database must be a "
                              "SQLite file path)")
        if not path.is_file():
            if _explicit():
                raise OperationsUnavailable(
                    f"运营数据库文件不存在：{path}（CITYSAFETY_OPERATIONS_DB_URL 已设置；请检查路径，或运行 "
                    f"python -m citysafety.act.store upgrade） (the operations database {shown} does not exist)")
            log.info("operations database %s not made yet: empty response tables", shown)
            return empty()
    orm = {t.name: t for t in store.Base.metadata.sorted_tables}
    made = _engine(parsed)
    try:
        with made.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
                transaction = conn.begin()
            else:
                transaction = None
                conn.exec_driver_sql("begin")  # one snapshot of the three tables
            try:
                present = set(sa.inspect(conn).get_table_names()) & set(COLUMNS)
                if not present:
                    log.info("operations database %s has no operations tables (never upgraded): empty "
                             "response tables", shown)
                    return empty()
                if present != set(COLUMNS):
                    raise OperationsUnavailable(
                        f"运营数据库 {shown} 只有 {'、'.join(sorted(present))} 表，缺少 "
                        f"{'、'.join(sorted(set(COLUMNS) - present))}：请运行 python -m citysafety.act.store upgrade"
                        " (the operations database is half-migrated)")
                out = {}
                for name, cols in COLUMNS.items():
                    table = orm[name]
                    rows = conn.execute(sa.select(*(table.c[c] for c in cols)).order_by(table.c.id)).all()
                    arrays = {}
                    for i, (col, kind) in enumerate(cols.items()):
                        values = [r[i] for r in rows]
                        if kind == _TS:
                            values = [_local(v) for v in values]
                        arrays[col] = pa.array(values, kind)
                    out[name] = pa.table(arrays)
                return out
            finally:
                if transaction is not None:
                    transaction.rollback()
                elif conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("rollback")
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sqlite3.OperationalError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise OperationsUnavailable(f"运营数据库 {shown} 无法读取，构建停止：{reason}"
                                    f" (cannot read the operations database; the build stops)") from None
    finally:
        made.dispose()


def load(con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> dict[str, int]:
    """Replace operations.<table> in the build copy (in the caller's transaction)."""
    con.execute(f"create schema if not exists {SCHEMA}")
    counts = {}
    for name, cols in COLUMNS.items():
        data = tables[name]
        view = f"_operations_{name}"
        con.register(view, data)
        try:
            select = ", ".join(f'cast("{c}" as {_DUCKDB[t]}) as "{c}"' for c, t in cols.items())
            con.execute(f"create or replace table {SCHEMA}.{name} as select {select} from {view}")
        finally:
            con.unregister(view)
        counts[f"{SCHEMA}.{name}"] = data.num_rows
    return counts
