"""Losing nothing when things go wrong: killed runs, reruns, readers during publishes, junk.

Runs on small data; speed is measured in `make bench`, never here.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

import deliveries
from marts import mart_checksums
from citysafety.mart import build, publish
from citysafety import config
from citysafety.orchestrate import runner
from citysafety.raw import ingest, store
from citysafety import sources as S


# One as-of date for every build here: a test running across midnight in Beijing (16:00 UTC)
# compared the marts of two different days (CI, 2026-12-04 16:00 UTC).
AS_OF = "2020-06-30"


def _use(monkeypatch, home: Path) -> config.Settings:
    monkeypatch.setenv("CITYSAFETY_HOME", str(home))
    monkeypatch.setenv("CITYSAFETY_AS_OF_DATE", AS_OF)
    return config.settings()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([str(runner.VENV_BIN / "airflow"), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


@pytest.fixture(scope="module")
def spine_home(tmp_path_factory) -> Path:
    """The spine delivered, ingested, built and published once; each test works on a copy."""
    home = tmp_path_factory.mktemp("spine") / "home"
    with pytest.MonkeyPatch.context() as mp:
        cfg = _use(mp, home)
        deliveries.write_spine(cfg.landing)
        for feed in S.all_feeds():
            ingest.ingest_feed(feed, cfg)
        build.build_and_publish(cfg)
    return home


def _copy_of(home: Path, to: Path, monkeypatch) -> config.Settings:
    """A home copied whole: the build copy re-reads the copied raw layer by its new paths."""
    shutil.copytree(home, to, symlinks=True)
    return _use(monkeypatch, to)


@pytest.mark.pipeline
def test_sigkill_mid_ingest_and_mid_build_loses_nothing(spine_home, tmp_path, monkeypatch):
    # Enough files that the kill lands mid-ingest (asserted below: after 50 loads, before the
    # last); more only made the suite slower (1,500 took ~7 minutes on 2 cores).
    n_extra = 400
    # The reference: everything delivered, built without interruption.
    ref = _use(monkeypatch, tmp_path / "reference")
    deliveries.write_spine(ref.landing)
    deliveries.road_files(ref.landing, n_extra)
    for feed in S.all_feeds():
        ingest.ingest_feed(feed, ref)
    build.build_and_publish(ref)
    expected = mart_checksums(ref.warehouse_db)

    cfg = _copy_of(spine_home, tmp_path / "killed", monkeypatch)
    published = _sha(cfg.warehouse_db)
    runner.init_airflow(cfg)
    env = runner.airflow_env(cfg)

    # SIGKILL an ingest DAG run once some, not all, of the new files are loaded.
    deliveries.road_files(cfg.landing, n_extra)
    loads = store.feed_dir(S.TRAFFIC_ROAD_ACCIDENTS, cfg)
    proc = _start(["dags", "test", "ingest_traffic"], env)
    deadline = time.time() + 120
    while time.time() < deadline and len(store.loads(S.TRAFFIC_ROAD_ACCIDENTS, cfg)) < 3 + 50:
        time.sleep(0.05)
    _kill(proc)
    loaded_at_kill = len(store.loads(S.TRAFFIC_ROAD_ACCIDENTS, cfg))
    assert 3 + 50 <= loaded_at_kill < 3 + n_extra, "the kill did not land mid-ingest"
    assert _sha(cfg.warehouse_db) == published
    # Every folder that is visible is a whole load.
    for folder in store.loads(S.TRAFFIC_ROAD_ACCIDENTS, cfg):
        assert {p.name for p in folder.iterdir()} == {"rows.parquet", "quarantine.parquet",
                                                      "reconciliation.parquet"}

    # The killed run could not announce what it loaded (its asset event starts the build): the
    # marker it leaves makes the next run announce the feed even if it finds nothing new.
    marker = store.feed_dir(S.TRAFFIC_ROAD_ACCIDENTS, cfg) / ingest.UNANNOUNCED
    assert marker.exists()

    # Finish the ingest, then SIGKILL a build DAG run while dbt is at work.
    assert runner.run_pipeline(cfg, ["ingest_traffic"]) == 0
    assert not marker.exists()
    proc = _start(["dags", "test", "build_mart"], env)
    time.sleep(25)
    _kill(proc)
    assert _sha(cfg.warehouse_db) == published

    # The next run finishes with the same marts as the uninterrupted one.
    assert runner.run_pipeline(cfg, ["build_mart"]) == 0
    assert mart_checksums(cfg.warehouse_db) == expected
    con = duckdb.connect(str(cfg.warehouse_db), read_only=True)
    try:
        files, bad = con.execute("""select count(*), count(*) filter (
            where rows_delivered != rows_loaded + rows_quarantined) from audit.reconciliation
            where feed = 'road_accidents'""").fetchone()
    finally:
        con.close()
    assert (files, bad) == (3 + n_extra, 0)


def _republish(home: str, times: int) -> None:
    os.environ["CITYSAFETY_HOME"] = home
    for _ in range(times):
        publish.publish(config.settings())


def test_readers_never_see_a_partial_mart(spine_home, tmp_path, monkeypatch):
    cfg = _copy_of(spine_home, tmp_path / "home", monkeypatch)
    writer = multiprocessing.get_context("spawn").Process(target=_republish, args=(str(cfg.home), 15))
    writer.start()
    reads = 0
    try:
        while writer.is_alive() or reads < 20:
            # As the dashboard does: a short-lived read-only connection per query.
            con = duckdb.connect(str(cfg.warehouse_db), read_only=True)
            try:
                total, years = con.execute(
                    "select sum(deaths_total)::int, count(*)::int from marts.kpi_safety_targets").fetchone()
                events = con.execute("select sum(deaths)::int from marts.fct_casualty_events").fetchone()[0]
            finally:
                con.close()
            assert (total, years, events) == (12, 5, 12)
            reads += 1
    finally:
        writer.join(120)
    assert writer.exitcode == 0
    assert reads >= 20


# --------------------------------------------------------------------------- fuzzed deliveries

_FEEDS = [S.EMB_ACCIDENTS, S.FIRE_FIRES, S.TRAFFIC_ROAD_ACCIDENTS, S.STATS_ECONOMY]


def _valid_files() -> dict[str, bytes]:
    """One valid delivery per feed, from the hand-made set, as the seeds of the mutations."""
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        deliveries.write_spine(landing)
        return {f.id: sorted((landing / f.source / f.feed).glob(f.file_glob))[0].read_bytes()
                for f in _FEEDS}


_SEEDS = _valid_files()


def _mutations(data: bytes):
    text = data.decode("utf-8", "replace")
    return st.one_of(
        st.binary(max_size=400),  # binary junk
        st.integers(0, len(data)).map(lambda k: data[:k]),  # truncated file
        st.just(b""),  # empty file
        st.just(text.encode("utf-16")),  # wrong encoding
        st.just(data.replace(b",", b",extra,", 1)),  # an extra column in the header
        st.just(data.split(b"\n", 1)[-1]),  # the header missing
        st.tuples(st.integers(0, max(0, len(data) - 1)), st.binary(min_size=1, max_size=8)).map(
            lambda kv: data[:kv[0]] + kv[1] + data[kv[0]:]),  # bytes spliced in
    )


@pytest.mark.parametrize("feed", _FEEDS, ids=lambda f: f.id)
def test_fuzzed_deliveries_reconcile(feed, tmp_path_factory, monkeypatch):
    seed = _SEEDS[feed.id]

    @hsettings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_mutations(seed))
    def check(data):
        home = tmp_path_factory.mktemp("fuzz")
        cfg = _use(monkeypatch, home)
        folder = cfg.landing / feed.source / feed.feed
        folder.mkdir(parents=True)
        (folder / feed.file_glob.replace("*", "20200101")).write_bytes(data)
        results = ingest.ingest_feed(feed, cfg)  # must not raise
        assert len(results) == 1
        r = results[0]
        assert r.rows_delivered == r.rows_loaded + r.rows_quarantined
        assert r.status in {"loaded", "partial", "rejected", "empty"}
        (load,) = store.loads(feed, cfg)
        assert pq.read_table(load / "rows.parquet").num_rows == r.rows_loaded
        quarantine = pq.read_table(load / "quarantine.parquet").to_pylist()
        assert len(quarantine) == r.rows_quarantined
        assert all(q["reason"] for q in quarantine)

    check()
