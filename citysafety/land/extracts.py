"""Extracts and watermarks of pulled feeds, shared by every pull (citysafety.land.http_api,
citysafety.land.sql_table).

An extract is written like a department delivery (`landing/<source>/<feed>/<feed>_<stamp>.jsonl`,
renamed into place when whole), so it is loaded, quarantined and reconciled exactly like a
delivered file. The watermark (last value of the feed's `Pull.watermark` column seen, and the ids
pulled at exactly that value) is kept beside the extracts in `.watermark.json` (hidden: not a
delivery). A pulled feed whose connection is not configured is skipped with a clear message
(`NotConfigured`).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from citysafety import sources as S
from citysafety.config import Settings
from citysafety.files import atomic_write

WATERMARK_FILE = ".watermark.json"


class NotConfigured(RuntimeError):
    """The connection of a pulled feed is not configured: skip it, say which connection."""


def airflow_connection(feed: S.Feed, conn_id: str):
    """The Airflow connection `conn_id`, or, where Airflow is not installed, the URI of its
    `AIRFLOW_CONN_<ID>` environment variable (a str); NotConfigured when there is neither."""
    missing = NotConfigured(f"{feed.source}/{feed.feed}: Airflow connection {conn_id!r} is not "
                            "configured; skipped")
    try:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:  # no Airflow here: only the environment variable can configure it
        uri = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
        if not uri:
            raise missing from None
        return uri
    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        raise missing from None
    if conn is None:
        raise missing
    return conn


def extract_dir(feed: S.Feed, cfg: Settings) -> Path:
    return cfg.landing / feed.source / feed.feed


def watermark_path(feed: S.Feed, cfg: Settings) -> Path:
    return extract_dir(feed, cfg) / WATERMARK_FILE


def read_watermark(feed: S.Feed, cfg: Settings) -> dict | None:
    path = watermark_path(feed, cfg)
    if not path.exists():
        return None
    return json.loads(path.read_text("utf-8"))


def write_watermark(feed: S.Feed, cfg: Settings, data: dict) -> None:
    atomic_write(watermark_path(feed, cfg), json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))


def ids_field(pull: S.Pull) -> str:
    """The watermark's field naming the ids pulled at its instant: `<key>s_at_watermark`."""
    return f"{pull.key}s_at_watermark"


def stamp() -> str:
    """The UTC time stamp in an extract's name (microseconds: two pulls never share one)."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
