"""Pulled feeds: the platform fetches them itself and keeps each extract under landing/.

An extract is written like a department delivery (`landing/<source>/<feed>/<feed>_<stamp>.jsonl`,
renamed into place when whole), so it is loaded, quarantined and reconciled exactly like a
delivered file. The watermark (last `updated_at` seen) is kept beside the extracts in
`.watermark.json` (hidden: not a delivery). A pulled feed whose connection is not configured is
skipped with a clear message.
"""

from __future__ import annotations

from pathlib import Path

from citysafety import sources as S
from citysafety.config import Settings, settings


class NotConfigured(RuntimeError):
    """The connection of a pulled feed is not configured: skip it, say which connection."""


def pull_feed(feed: S.Feed, cfg: Settings | None = None, **kwargs) -> Path | None:
    """Fetch what changed since the watermark; return the extract written (None: nothing new)."""
    cfg = cfg or settings()
    if feed.pull == "http":
        from citysafety.pull.http_api import pull

        return pull(feed, cfg, **kwargs)
    if feed.pull == "sql":
        from citysafety.pull.sql_table import pull

        return pull(feed, cfg, **kwargs)
    raise ValueError(f"{feed.id} is not a pulled feed")
