"""A delivery starts its department's ingest when it lands, and the build rebuilds what it changed.

- `LandingTrigger` (citysafety.orchestrate.landing), run as the triggerer runs it (its async
  generator, here in an event loop of the test), on a real landing folder and raw store: it fires
  once for the files waiting, not again while they wait, again for a new file, and not after
  they are loaded; a file still being written waits.
- `citysafety.mart.plan` on the project's real manifest: a run not started by deliveries builds
  everything; after a publish, a delivery of one feed selects that feed's downstream models and
  the audit trail's; a new as-of date adds the models that read it; a build that was not
  published leaves its feeds to the next one; a changed project builds everything.
The scheduler runs both for real in tests/test_build_under_scheduler.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time

import pytest

import deliveries
from citysafety import config
from citysafety import sources as S
from citysafety.mart import plan
from citysafety.orchestrate.landing import LandingTrigger, pending
from citysafety.raw import ingest, store


def _events(trigger: LandingTrigger, seconds: float) -> list[dict]:
    """The events the trigger fires within `seconds` (it never ends by itself)."""

    async def collect() -> list[dict]:
        got: list[dict] = []

        async def run() -> None:
            async for event in trigger.run():
                got.append(event.payload)

        try:
            await asyncio.wait_for(run(), timeout=seconds)
        except TimeoutError:
            pass
        return got

    return asyncio.run(collect())


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    return config.settings()


def test_the_trigger_fires_once_for_each_new_set_of_waiting_files(home, monkeypatch):
    deliveries.write_spine(home.landing)
    fires = S.feed("fire", "fires")
    trigger = LandingTrigger(source="fire", poke_interval=0.2)
    assert trigger.serialize() == ("citysafety.orchestrate.landing.LandingTrigger",
                                   {"source": "fire", "poke_interval": 0.2})

    first = _events(trigger, 1.5)
    # one event for the four fire files, though the trigger looked about seven times
    assert len(first) == 1 and first[0]["source"] == "fire"
    names = sorted(f.split("@")[0] for f in first[0]["files"])
    assert names == sorted(f"fires/{p.name}" for p in (home.landing / "fire" / "fires").iterdir())
    assert all(len(f.split("@")[1]) == 64 for f in first[0]["files"])  # with the bytes' sha256

    # Another department's delivery does not start this one.
    assert _events(LandingTrigger(source="grid", poke_interval=0.2), 0.6) == []

    ingest.ingest_feed(fires)
    assert _events(trigger, 0.6) == []  # all loaded: nothing waits

    # A file still being written (changed within the quiet seconds) waits until it settles.
    monkeypatch.setenv("CITYSAFETY_LANDING_QUIET_SECONDS", "1")
    late = home.landing / "fire" / "fires" / "fires_2016-W09.csv"
    late.write_bytes((home.landing / "fire" / "fires" / "fires_2016-W03.csv").read_bytes() + b"\n")
    events = _events(trigger, 2.0)
    assert [[f.split("@")[0] for f in e["files"]] for e in events] == [["fires/fires_2016-W09.csv"]]


def test_a_file_seen_settling_is_taken_when_it_has_settled_not_at_the_next_poll(home, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_LANDING_QUIET_SECONDS", "0.6")
    folder = home.landing / "fire" / "fires"
    folder.mkdir(parents=True)
    (folder / ".upload-in-progress.csv").write_text("x")  # hidden: reported much later, not awaited
    assert store.settles_in(S.feed("fire", "fires"), home) is None
    landed = folder / "fires_2016-W01.csv"
    aside = home.home / "fires_2016-W01.csv"
    aside.write_text("id,date\n")
    aside.rename(landed)  # delivered as the agreements ask: written aside, renamed in
    wait = store.settles_in(S.feed("fire", "fires"), home)
    assert wait is not None and 0.3 < wait <= 0.6
    # A poll of a minute: the first look sees the file settling, the next comes when it settled.
    events = _events(LandingTrigger(source="fire", poke_interval=60), 2.5)
    assert [[f.split("@")[0] for f in e["files"]] for e in events] == [["fires/fires_2016-W01.csv"]]
    assert store.settles_in(S.feed("fire", "fires"), home) is None


def test_a_pulled_extract_is_loaded_at_once_a_departments_fresh_file_waits(home, monkeypatch):
    """The load that follows a pull takes the extract the pull just wrote (written aside and
    renamed whole by the platform itself), while a department's file changed within the quiet
    seconds still waits: with the default 2 s, `make pipeline` loaded no inspection and no hidden
    hazard (the load ran within a second of its pull)."""
    monkeypatch.setenv("CITYSAFETY_LANDING_QUIET_SECONDS", "30")
    grid = S.feed("grid", "hazard_reports")
    assert grid.pull is not None
    extract = home.landing / "grid" / "hazard_reports" / "hazard_reports_20261204T000000Z.jsonl"
    extract.parent.mkdir(parents=True)
    extract.write_text("{}\n", encoding="utf-8")
    assert store.delivered_files(grid, home) == [extract]
    assert store.settles_in(grid, home) is None and store.look_signature(grid, home) is not None

    fires = S.feed("fire", "fires")
    landed = home.landing / "fire" / "fires" / "fires_2016-W01.csv"
    landed.parent.mkdir(parents=True)
    landed.write_text("id,date\n", encoding="utf-8")
    assert store.delivered_files(fires, home) == []
    assert 25 < store.settles_in(fires, home) <= 30


def test_a_look_kept_while_nothing_changed_agrees_with_a_full_look_after_every_change(home, monkeypatch):
    """The trigger answers a look at an unchanged feed from its last look (store.look_signature):
    after each change (a landing, a load, new bytes under a loaded name, a load removed by hand,
    a file still settling) its answer is what a full look gives."""
    monkeypatch.setenv("CITYSAFETY_LANDING_QUIET_SECONDS", "0")
    fires = S.feed("fire", "fires")
    folder = home.landing / "fire" / "fires"

    def full() -> list[str]:
        return sorted(f"fires/{p.name}@{sha}" for p, sha, _ in ingest.pending_files(fires, home))

    def agrees() -> list[str]:
        assert pending("fire") == pending("fire") == full()
        return pending("fire")

    assert agrees() == []
    deliveries.write_spine(home.landing)
    assert len(agrees()) == len(list(folder.iterdir())) > 1
    ingest.ingest_feed(fires)
    assert agrees() == []
    changed = sorted(folder.iterdir())[0]
    changed.write_bytes(changed.read_bytes() + b"\n")
    assert [w.split("@")[0] for w in agrees()] == [f"fires/{changed.name}"]
    ingest.ingest_feed(fires)
    assert agrees() == []
    gone = next(p for p in store.loads(fires, home) if p.name.find(changed.stem) < 0)
    shutil.rmtree(gone)  # by hand: that file's load is no longer in the ledger
    assert len(agrees()) == 1
    ingest.ingest_feed(fires)
    # A file changed within the quiet seconds is not pending yet, and not kept as not pending.
    monkeypatch.setenv("CITYSAFETY_LANDING_QUIET_SECONDS", "1")
    (folder / "fires_2016-W09.csv").write_bytes(changed.read_bytes() + b"\n\n")
    assert pending("fire") == full() == []
    time.sleep(1.1)
    assert [w.split("@")[0] for w in agrees()] == ["fires/fires_2016-W09.csv"]


def test_a_delivery_builds_what_is_downstream_of_its_feed(home):
    fires, economy = S.feed("fire", "fires"), S.feed("stats", "economy")
    state = home.build_dir / plan.STATE_FILE

    # Not started by deliveries (by hand, make pipeline): everything.
    first = plan.plan(None, "2026-12-03", home)
    assert first["full"] and first["select"] == plan.EVERYTHING
    # Started by a delivery, but nothing was published from this build copy yet: everything.
    home.build_db.parent.mkdir(parents=True, exist_ok=True)
    home.build_db.touch()
    second = plan.plan([fires.id], "2026-12-03", home)
    assert second["full"]
    # Published, the first build leaves the feed delivered after it was planned pending.
    plan.published(first, home)
    assert json.loads(state.read_text())["pending_feeds"] == [fires.id]
    plan.published(second, home)
    assert json.loads(state.read_text())["pending_feeds"] == []

    partial = plan.plan([fires.id], "2026-12-03", home)
    assert not partial["full"], partial["reason"]
    selectors = partial["select"].split()
    assert "source:fire.fire__fires+" in selectors
    # the audit trail changes with every load
    assert "source:emergency_audit.reconciliation+" in selectors
    # and the operations database between deliveries (acknowledged and handled alarms)
    assert "source:operations.alarms+" in selectors and "source:operations.alarm_events+" in selectors
    assert not any("emb__accidents" in s or "stats__economy" in s for s in selectors)
    # same day as the last publish: the models reading "today" are not rebuilt for it
    assert "rpt_alerts_today_hazards+" not in selectors

    # That build fails (not published): the next delivery's build takes both feeds.
    again = plan.plan([economy.id], "2026-12-04", home)
    assert {"source:fire.fire__fires+", "source:stats.stats__economy+"} <= set(again["select"].split())
    # another day: the models that read the as-of date are rebuilt too
    assert "rpt_alerts_today_hazards+" in again["select"].split()
    assert again["feeds"] == sorted([fires.id, economy.id])
    plan.published(again, home)
    assert json.loads(state.read_text())["pending_feeds"] == []

    # The project changed since the last publish: everything.
    saved = json.loads(state.read_text())
    state.write_text(json.dumps({**saved, "published_fingerprint": "an older project"}))
    assert plan.plan([fires.id], "2026-12-04", home)["full"]


def test_every_feed_has_a_dbt_source_to_select():
    manifest = plan._manifest()
    for feed in S.all_feeds():
        assert plan._source_selectors(manifest, [feed.id])[0].endswith(f".{feed.id}+"), feed.id
    with pytest.raises(ValueError, match="no dbt source"):
        plan._source_selectors(manifest, ["nowhere__nothing"])


def test_a_run_stopped_before_announcing_its_loads_is_announced_by_the_next(home):
    """An ingest task killed after loading files and before its Asset event: the next run finds
    nothing new, yet must announce the feed, or no build would ever take those files."""
    fires = S.feed("fire", "fires")
    assert ingest.begin_announcing(fires, home) is False  # a first run
    deliveries.write_spine(home.landing)
    ingest.ingest_feed(fires, home)
    # ... killed here: announced() never ran
    assert ingest.begin_announcing(fires, home) is True
    assert ingest.ingest_feed(fires, home) == []  # nothing new to load
    ingest.announced(fires, home)
    assert ingest.begin_announcing(fires, home) is False
    ingest.announced(fires, home)
    # the marker is not a load: the raw store's loads skip it
    assert all(p.name != ingest.UNANNOUNCED for p in store.loads(fires, home))
