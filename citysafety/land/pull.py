"""Pulled feeds: the platform fetches them itself and keeps each extract under landing/.

`pull_feed` hands a feed to the pull of its registry declaration (`Feed.pull.kind`): the HTTP
API pull or the SQL table pull. Extracts and watermarks: citysafety.land.extracts.
"""

from __future__ import annotations

from pathlib import Path

from citysafety import sources as S
from citysafety.config import Settings, settings
from citysafety.land import http_api, sql_table


def pull_feed(feed: S.Feed, cfg: Settings | None = None, **kwargs) -> Path | None:
    """Fetch what changed since the watermark; return the extract written (None: nothing new)."""
    cfg = cfg or settings()
    if feed.pull is None:
        raise ValueError(f"{feed.id} is not a pulled feed")
    if feed.pull.kind == "http":
        return http_api.pull(feed, cfg, **kwargs)
    if feed.pull.kind == "sql":
        return sql_table.pull(feed, cfg, **kwargs)
    raise ValueError(f"{feed.id}: no pull of kind {feed.pull.kind!r}")
