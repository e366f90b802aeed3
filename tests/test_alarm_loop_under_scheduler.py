"""Issue 15's "done when", under Airflow's real scheduler (API server, scheduler, DAG processor and
triggerer as `make serve` starts them) with nobody running a command: readings above a threshold
published over MQTT as the gateways publish them are landed by the subscriber, ingested by
`ingest_emb` (started by the landing trigger), built and published by `build_mart` (started by
the feed's Asset), recorded, graded and notified by `respond_to_alarms` (started by the
warehouse's Asset or its minute) and delivered to the demo's loopback receiver; the street office
acknowledges the alarm in the store, and the next publish carries the response figures.

The home: the spine deliveries, a hazard-source snapshot and a registry (H1/P1 of U1 in 武林街道,
一级, 高报 50 / 高高 60), already built and published once; the operations database migrated; the
demo webhooks file naming a `demo.receiver.Receiver` on a free port.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
import zlib
from datetime import date, datetime, timedelta, timezone

import duckdb
import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa

import deliveries
from citysafety import config
from citysafety import sources as S
from citysafety.act import store
from citysafety.act.store import Alarm
from citysafety.land import mqtt as land
from citysafety.mart import build
from citysafety.orchestrate import runner
from citysafety.orchestrate.scheduler import Scheduler
from citysafety.raw import ingest
from demo import receiver as demo_receiver
from demo import webhooks as demo_webhooks
from tests.test_mqtt import broker_or_fail
from tests.test_sensors import HAZARD_HEADER, U1, write_registry

pytestmark = [pytest.mark.pipeline, pytest.mark.scheduler]
HOST, PORT = "127.0.0.1", 1883
SNAPSHOT = [["H1", U1, "液氨储罐区", "一级", "P1", "temperature", "℃", "50", "60"]]


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    broker_or_fail()
    root = tmp_path_factory.mktemp("alarm_loop")
    mp = pytest.MonkeyPatch()
    mp.setenv("CITYSAFETY_HOME", str(root))
    mp.delenv("CITYSAFETY_AS_OF_DATE", raising=False)
    mp.delenv("CITYSAFETY_OPERATIONS_DB_URL", raising=False)
    mp.delenv("CITYSAFETY_WEBHOOKS_FILE", raising=False)
    rid = uuid.uuid4().hex[:10]
    pattern = f"citysafety-test/{rid}/monitoring/+/+/readings"
    mp.setenv("CITYSAFETY_MQTT_TOPIC", pattern)
    cfg = config.settings()
    deliveries.write_spine(cfg.landing)
    write_registry(cfg.home, date(2026, 1, 31), {U1: "武林街道", "913301039UPWFXR2XQ": "天水街道"})
    folder = cfg.landing / S.EMB_HAZARD_SOURCES.source / S.EMB_HAZARD_SOURCES.feed
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hazard_sources_20260101.csv").write_bytes(
        ("\r\n".join(",".join(r) for r in [HAZARD_HEADER, *SNAPSHOT]) + "\r\n").encode(S.EMB_HAZARD_SOURCES.encoding))
    for feed in S.all_feeds():
        ingest.ingest_feed(feed, cfg)
    store.upgrade()
    build.build_and_publish(cfg)
    sub = land.Subscriber(cfg, client_id=f"citysafety-test-{rid}-sub", topic=pattern, host=HOST, port=PORT,
                          secrets_file=None).start()
    stop = threading.Event()
    thread = threading.Thread(target=sub.run, args=(stop,), daemon=True)
    thread.start()
    port = 30000 + zlib.crc32(str(root).encode()) % 9000 // 3 * 3
    try:
        with demo_receiver.Receiver(root / "received") as rx:
            demo_webhooks.write_demo_webhooks(cfg.home, rx.port, ["H1"])
            with Scheduler(cfg, runner.airflow_env(cfg), port) as sched:
                yield {"cfg": cfg, "sched": sched, "rx": rx, "pattern": pattern, "rid": rid}
    finally:
        stop.set()
        thread.join(30)
        cleanup = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"citysafety-test-{rid}-sub",
                              clean_session=True)
        cleanup.connect(HOST, PORT)
        cleanup.loop_start()
        cleanup.disconnect()
        cleanup.loop_stop()
        store.dispose("*")
        mp.undo()


def publish(rid: str, readings: list[tuple[datetime, float]]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"citysafety-test-{rid}-gateway")
    client.connect(HOST, PORT)
    client.loop_start()
    try:
        for ts, value in readings:
            info = client.publish(f"citysafety-test/{rid}/monitoring/H1/P1/readings",
                                  json.dumps({"ts": ts.isoformat(), "value": value}), qos=1)
            info.wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


def until(predicate, timeout: float, what: str, poll: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_a_reading_above_its_threshold_reaches_the_receiver_and_the_figures_the_next_publish(loop):
    cfg, sched, rx = loop["cfg"], loop["sched"], loop["rx"]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    landed_at = time.monotonic()
    publish(loop["rid"], [(now - timedelta(minutes=2), 45.0), (now - timedelta(minutes=1), 55.0),
                          (now, 57.0)])
    # The notice to the street office of 武林 (Ⅱ: 高报 at a 一级 source), with nobody running a command.
    keys = until(lambda: [k for k in rx.accepted if k.endswith("/notice/street_office")], 900,
                 "the notice at the receiver")
    took = time.monotonic() - landed_at
    assert len(keys) == 1 and rx.accepted[keys[0]] == 1
    assert keys[0].startswith("P1@")
    print(f"reading published → notice received: {took:.0f} s")
    runs = {d: [r["state"] for r in sched.runs(d)] for d in ("ingest_emb", "build_mart", "respond_to_alarms")}
    assert all(runs.values()) and "failed" not in sum(runs.values(), []), runs

    with store.session() as s:
        alarm = s.scalars(sa.select(Alarm)).one()
        assert (alarm.grade, alarm.street_code, alarm.status) == ("Ⅱ", "WL", store.PENDING)
        store.act(s, alarm.id, "签收", actor="street_wl", scope_streets=["WL"])

    # The next publish (the next readings' build) carries the response figures.
    seen = {r["dag_run_id"] for r in sched.runs("build_mart")}
    publish(loop["rid"], [(now + timedelta(minutes=1), 40.0)])
    run_id = sched.wait_new_run("build_mart", seen, timeout=600)
    assert sched.wait_run("build_mart", run_id, timeout=1200, poll=2)["state"] == "success"
    con = duckdb.connect(str(cfg.warehouse_db), read_only=True)
    try:
        rows = con.execute("select grade, street_code, status, notified_at is not null, acknowledged_at is not null "
                           "from marts.fct_alarm_responses").fetchall()
    finally:
        con.close()
    assert rows == [("Ⅱ", "WL", store.ACKNOWLEDGED, True, True)]
