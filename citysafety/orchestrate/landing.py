"""Deliveries noticed when they land: the event-driven schedule of the ingest DAGs.

Each department's ingest DAG is scheduled on an Asset of its landing folders
(`landing/<source>/`) watched by a `LandingTrigger` (Airflow 3's event-driven scheduling: an
AssetWatcher whose trigger runs in the triggerer). The trigger looks every few seconds
(config.landing_poll_seconds) for settled files the department's ingest would load now
(`citysafety.raw.ingest.pending_files`: not its name's current version, not being written) and
fires once for each new set of them; a file it saw still being written is looked at again the
moment it will have settled (config.landing_quiet_seconds after its last change), not at the
next poll: a file that lands at 09:00 is ingested at 09:00, by its
own department only, not at the next daily run. The DAG keeps a daily run for the feeds it pulls
(HTTP API, grid database), which no file landing announces.

Firing twice for the same files costs one ingest run that finds nothing new (skipped, no
rebuild); never firing for a file would leave it unloaded until the daily run. So the trigger
remembers only what it signalled in this triggerer process: after a restart it fires again for
whatever is still pending.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from citysafety import config
from citysafety import sources as S

CLASSPATH = f"{__name__}.LandingTrigger"


# feed id -> (store.look_signature, what was pending then), for this triggerer process.
_LOOKED: dict[str, tuple[tuple, list[str]]] = {}


def pending(source: str) -> list[str]:
    """`<feed>/<file name>@<sha256>` of every file of the department waiting to be loaded.

    A look at a feed whose landing folder and loads are as they were at the last look answers
    as that look did: a full look (the ledger of every load, each landed file's hash from the
    cache) took ~0.3 s of CPU for the seven departments of a small home, a core's sixth at a
    look every 2 s, taken from the build running beside it."""
    from citysafety.raw.ingest import pending_files
    from citysafety.raw.store import look_signature

    cfg = config.settings()
    waiting = []
    for feed in S.source(source).feeds:
        key = f"{cfg.home}:{feed.id}"
        signature = look_signature(feed, cfg)
        kept = _LOOKED.get(key)
        if signature is not None and kept is not None and kept[0] == signature:
            files = kept[1]
        else:
            files = [f"{feed.feed}/{path.name}@{sha}" for path, sha, _ in pending_files(feed, cfg)]
            if signature is not None:
                _LOOKED[key] = (signature, files)
        waiting += files
    return sorted(waiting)


def settles_in(source: str) -> float | None:
    """Seconds until the first file of the department still being written will have settled
    (store.settles_in), None when none is."""
    from citysafety.raw.store import settles_in as feed_settles_in

    cfg = config.settings()
    waits = [w for feed in S.source(source).feeds if (w := feed_settles_in(feed, cfg)) is not None]
    return min(waits) if waits else None


def look(source: str) -> tuple[list[str], float | None]:
    """What `pending` answers, and `settles_in` after it."""
    return pending(source), settles_in(source)


# A file that settles within a poll is looked at again then, but never sooner than this.
MIN_LOOK_SECONDS = 0.05


class LandingTrigger(BaseEventTrigger):
    """Fires when a department's landing folders hold settled files not loaded yet."""

    def __init__(self, source: str, poke_interval: float, **_: Any):
        super().__init__()
        self.source = source
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return CLASSPATH, {"source": self.source, "poke_interval": self.poke_interval}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        signalled: list[str] = []
        while True:
            try:
                # Reading the raw store's ledger and hashing new files is blocking file I/O.
                waiting, settling = await asyncio.to_thread(look, self.source)
            except Exception:  # noqa: BLE001 - a storage hiccup: look again next time
                self.log.exception("landing/%s: could not list the deliveries", self.source)
                waiting, settling = signalled, None
            # A new file, or one of the signalled ones loaded while others still wait (a file
            # whose load failed is signalled again once, not at every look).
            if waiting and waiting != signalled:
                self.log.info("landing/%s: %d file(s) to load: %s", self.source, len(waiting),
                              ", ".join(w.split("@")[0] for w in waiting[:20]))
                yield TriggerEvent({"source": self.source, "files": waiting})
            signalled = waiting
            # A file seen being written is taken the moment it has settled: with a poll of 2 s
            # and 2 s of quiet, a delivery otherwise waited 2-4 s (3 on average) before its ingest.
            await asyncio.sleep(self.poke_interval if settling is None
                                else min(self.poke_interval, max(settling, MIN_LOOK_SECONDS)))


def landing_asset(source: S.Source):
    """The Asset of a department's landing folders, updated by its LandingTrigger."""
    from airflow.sdk import Asset, AssetWatcher

    return Asset(
        name=f"landing_{source.name}",
        uri=f"file:///landing/{source.name}",
        watchers=[AssetWatcher(name=f"landing_{source.name}",
                               trigger=LandingTrigger(source=source.name,
                                                      poke_interval=config.landing_poll_seconds()))],
    )
