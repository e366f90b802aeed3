"""The demo stand-in for the grid-governance database (网格化治理平台): a SQLite file.

In production the platform pulls table `hazard_reports` from PostgreSQL (Airflow connection
`grid_db`); in the demo the same table lives in `<home>/demo_sources/grid/grid.sqlite`, filled by
`demo.feeds.grid`, and `demo_connection_env` hands the pipeline an
`AIRFLOW_CONN_GRID_DB` that points at it. The table follows the delivery agreement
(../shared/feeds/README.md); `supervised` is an integer 0/1 in SQLite, a boolean in PostgreSQL.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Iterable
from urllib.parse import quote

from citysafety.config import Settings, settings

TABLE = "hazard_reports"
COLUMNS = ("report_id", "found_on", "street", "community", "grid_code", "uscc", "description",
           "level", "deadline", "rectified_on", "status", "supervised", "reporter_name",
           "reporter_id_no", "reporter_phone", "updated_at")

_DDL = """create table hazard_reports (
    report_id      {text} primary key,
    found_on       date not null,
    street         {text},
    community      {text},
    grid_code      {text},
    uscc           {text},
    description    {text},
    level          {text} not null check (level in ('一般', '重大')),
    deadline       date,
    rectified_on   date,
    status         {text} not null check (status in ('待整改', '整改中', '已整改', '已销号')),
    supervised     {bool} not null default {false}{bool_check},
    reporter_name  {text},
    reporter_id_no {text},
    reporter_phone {text},
    updated_at     timestamp not null
)"""
DDL_SQLITE = _DDL.format(text="text", bool="integer", false="0",
                         bool_check=" check (supervised in (0, 1))")
DDL_POSTGRES = _DDL.format(text="varchar", bool="boolean", false="false", bool_check="")
INDEX = "create index hazard_reports_updated_at on hazard_reports (updated_at, report_id)"


def db_path(cfg: Settings | None = None) -> Path:
    cfg = cfg or settings()
    return cfg.home / "demo_sources" / "grid" / "grid.sqlite"


def sqlite_uri(path: Path) -> str:
    """Connection URI of a SQLite file (Airflow and SQLAlchemy read it alike): sqlite:////abs/path."""
    return f"sqlite:///{quote(str(Path(path).resolve()), safe='/')}"


def demo_connection_env(cfg: Settings | None = None) -> dict[str, str]:
    """{"AIRFLOW_CONN_GRID_DB": <sqlite URI>} when the demo database exists, else {}."""
    path = db_path(cfg)
    return {"AIRFLOW_CONN_GRID_DB": sqlite_uri(path)} if path.is_file() else {}


def sqlite_value(value):
    """How the grid system stores a value in SQLite: ISO text dates, 0/1 booleans."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def insert_sql(placeholder: str = "?") -> str:
    return (f"insert into {TABLE} ({', '.join(COLUMNS)}) "
            f"values ({', '.join([placeholder] * len(COLUMNS))})")


def write_db(path: Path, rows: Iterable[dict]) -> int:
    """Create or update the demo database so that it holds exactly `rows` (dicts by column).

    The file is built aside and renamed into place, so a pull reading the old file is not
    disturbed, and the same rows always give the same bytes (rows inserted by report_id).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    part.unlink(missing_ok=True)
    ordered = sorted(rows, key=lambda r: r["report_id"])
    con = sqlite3.connect(part)
    try:
        con.execute(DDL_SQLITE)
        con.execute(INDEX)
        con.executemany(insert_sql(), [[sqlite_value(r.get(c)) for c in COLUMNS] for r in ordered])
        con.commit()
    finally:
        con.close()
    os.replace(part, path)
    return len(ordered)
