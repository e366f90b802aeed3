"""From a reading above its threshold to a notice at the receiver (issue 15, items 1-3 and 5): the
readings land over MQTT (the live path) or in the daily file; the same dbt episode rules build the
same episodes from either; the published episodes are recorded as alarms, graded from the
threshold reached and the hazard source's level (policy/alarms.yml), notified, changed,
cancelled and escalated (citysafety.act.respond), and the outbox delivers each message once to a
real receiver on loopback that fails one request in five (demo.receiver).

The scenario (Beijing time; the registry puts U1 in 武林街道, U2 in 天水街道):

    P1 temperature, H1 (U1, 一级), 高报 50 / 高高 60
      wave 1: 05-01 10:00 40 | 10:01 55 | 10:02 58     -> A open, 高报 + 一级 = Ⅱ (橙)
      wave 2:       10:03 65 | 10:04 45                 -> A reaches 高高报 (Ⅰ 红): a change, then 解除
    P2 pressure, H2 (U2, 四级), 1.0 / 1.5
      wave 1: 05-01 09:00 1.2 | 09:01 0.8               -> B, 高报 + 四级 = Ⅳ (蓝), cleared: notice + 解除
    P3 gas, H3 (U1, 二级), 20 / 50
      wave 1: 04-28 09:00 25 | 09:01 5                  -> an episode three days old: published, not an alarm

Recipients (policy/alarms.yml): Ⅰ/Ⅱ the enterprise, the street office and the emb duty officer;
Ⅳ the enterprise and the street office. So wave 1 sends A 3 notices, B 2 notices and 2
cancellations; wave 2 sends A 3 changes and 3 cancellations: 13 messages, each once.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, datetime, timedelta

import duckdb
import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa

from citysafety import config
from citysafety import sources as S
from citysafety.act import endpoints, escalation, outbox, respond, routing, store
from citysafety.act.store import SHANGHAI, Alarm, Notification
from citysafety.config import Settings
from citysafety.land import mqtt as land
from citysafety.mart.build import prepare_build
from citysafety.mart.dbt_runner import run_dbt
from citysafety.mart.publish import publish
from citysafety.raw import ingest
from demo import receiver as demo_receiver
from demo import webhooks as demo_webhooks
from tests.test_mqtt import broker_or_fail
from tests.test_sensors import HAZARD_HEADER, U1, U2, write_readings, write_registry

HOST, PORT = "127.0.0.1", 1883
SENSORS, HAZARDS, ENTERPRISES = S.EMB_SENSOR_READINGS, S.EMB_HAZARD_SOURCES, S.EMB_ENTERPRISES
SNAPSHOT = [
    ["H1", U1, "液氨储罐区", "一级", "P1", "temperature", "℃", "50", "60"],
    ["H2", U2, "甲醇储罐区", "四级", "P2", "pressure", "MPa", "1.0", "1.5"],
    ["H3", U1, "燃气调压站", "二级", "P3", "gas", "%LEL", "20", "50"],
]
SOURCE_OF = {row[4]: row[0] for row in SNAPSHOT}
WAVE1 = [("P1", "2026-05-01 10:00", 40.0), ("P1", "2026-05-01 10:01", 55.0), ("P1", "2026-05-01 10:02", 58.0),
         ("P2", "2026-05-01 09:00", 1.2), ("P2", "2026-05-01 09:01", 0.8),
         ("P3", "2026-04-28 09:00", 25.0), ("P3", "2026-04-28 09:01", 5.0)]
WAVE2 = [("P1", "2026-05-01 10:03", 65.0), ("P1", "2026-05-01 10:04", 45.0)]
NOW1 = datetime(2026, 5, 1, 10, 5, tzinfo=SHANGHAI)
NOW2 = datetime(2026, 5, 1, 10, 10, tzinfo=SHANGHAI)
A_KEY, B_KEY = "P1@2026-05-01T10:01:00+08:00", "P2@2026-05-01T09:00:00+08:00"


def land_snapshot_and_registry(cfg: Settings) -> None:
    import csv
    import io

    write_registry(cfg.home, date(2026, 4, 1), {U1: "武林街道", U2: "天水街道"})
    folder = cfg.landing / HAZARDS.source / HAZARDS.feed
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([HAZARD_HEADER, *SNAPSHOT])
    (folder / "hazard_sources_20260401.csv").write_bytes(buf.getvalue().encode(HAZARDS.encoding))


def build_and_publish(cfg: Settings) -> None:
    """The sensor marts' part of a build: ingest, refresh the build copy, dbt, publish."""
    for feed in (ENTERPRISES, HAZARDS, SENSORS):
        ingest.ingest_feed(feed, cfg)
    prepare_build(cfg)
    run_dbt(["build", "--select", "+fct_sensor_alarm_episodes"], cfg)
    publish(cfg)


def deliver_over_mqtt(cfg: Settings, readings: list[tuple]) -> int:
    """Publish `readings` as the gateways do (QoS 1, a topic per source and point) and run the
    real subscriber until it has landed them all; the readings landed."""
    rid = uuid.uuid4().hex[:10]
    pattern = f"citysafety-test/{rid}/monitoring/+/+/readings"
    client_id = f"citysafety-test-{rid}-sub"
    sub = land.Subscriber(cfg, client_id=client_id, topic=pattern, host=HOST, port=PORT, secrets_file=None,
                          flush_seconds=0.3, idle_seconds=0.2, flush_readings=1000)
    sub.start()
    try:
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"citysafety-test-{rid}-pub")
        pub.connect(HOST, PORT)
        pub.loop_start()
        try:
            for point, local, value in readings:
                ts = datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).isoformat()
                info = pub.publish(f"citysafety-test/{rid}/monitoring/{SOURCE_OF[point]}/{point}/readings",
                                   json.dumps({"ts": ts, "value": value}), qos=1)
                info.wait_for_publish(timeout=10)
        finally:
            pub.disconnect()
            pub.loop_stop()
        end = time.monotonic() + 20
        while sum(w["readings"] for w in sub.landed) < len(readings):
            assert time.monotonic() < end, f"timed out: {sub.landed}"
            if sub.due():
                sub.flush()
            time.sleep(0.05)
        return sum(w["readings"] for w in sub.landed)
    finally:
        sub.stop()
        cleanup = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        cleanup.connect(HOST, PORT)
        cleanup.loop_start()
        cleanup.disconnect()
        cleanup.loop_stop()


def episodes(cfg: Settings) -> list[tuple]:
    con = duckdb.connect(str(cfg.warehouse_db), read_only=True)
    try:
        return con.execute("select * from marts.fct_sensor_alarm_episodes order by episode_id").fetchall()
    finally:
        con.close()


def messages(url: str) -> dict[str, Notification]:
    with store.session(url) as s:
        return {n.idempotency_key: n for n in s.scalars(sa.select(Notification))}


def alarms(url: str) -> dict[str, Alarm]:
    with store.session(url) as s:
        return {a.alarm_key: a for a in s.scalars(sa.select(Alarm))}


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    """Wave 1 through MQTT into one home and as the daily file into another, both built and
    published; the live home's operations database migrated."""
    broker_or_fail()
    root = tmp_path_factory.mktemp("respond")
    live, daily = Settings(home=root / "live"), Settings(home=root / "daily")
    mp = pytest.MonkeyPatch()
    url = f"sqlite:///{root / 'live' / 'operations' / 'operations.db'}"
    mp.setenv("CITYSAFETY_OPERATIONS_DB_URL", url)
    mp.setenv("CITYSAFETY_AS_OF_DATE", "2026-05-01")
    try:
        store.upgrade(url)  # each build reads it (citysafety.mart.operations)
        for cfg in (live, daily):
            land_snapshot_and_registry(cfg)
        mp.setenv("CITYSAFETY_HOME", str(daily.home))
        write_readings(daily.landing / SENSORS.source / SENSORS.feed / "readings_20260501.parquet",
                       [(p, f"{t}:00", v) for p, t, v in WAVE1])
        build_and_publish(daily)
        mp.setenv("CITYSAFETY_HOME", str(live.home))
        landed = deliver_over_mqtt(live, WAVE1)
        build_and_publish(live)
        yield {"live": live, "daily": daily, "url": url, "landed": landed}
    finally:
        store.dispose("*")
        mp.undo()


def test_the_live_path_and_the_daily_path_give_the_same_episodes(homes):
    live, daily = episodes(homes["live"]), episodes(homes["daily"])
    assert homes["landed"] == len(WAVE1)
    assert live == daily and len(live) == 3
    # the columns the response reads: hazard source, its name and level, the street
    con = duckdb.connect(str(homes["live"].warehouse_db), read_only=True)
    try:
        rows = con.execute("""select point_id, hazard_source_name, hazard_level, street_code, reached_high_high,
                                     cleared_at is not null from marts.fct_sensor_alarm_episodes
                              order by point_id""").fetchall()
    finally:
        con.close()
    assert rows == [("P1", "液氨储罐区", "一级", "WL", False, False),
                    ("P2", "甲醇储罐区", "四级", "TS", False, True),
                    ("P3", "燃气调压站", "二级", "WL", False, True)]


def test_published_episodes_become_graded_alarms_and_notices_once(homes):
    url, cfg = homes["url"], homes["live"]
    done = respond.record_published(cfg, NOW1, url=url)
    assert (done.episodes, done.new_alarms, done.notified, done.cancelled, done.messages) == (2, 2, 2, 1, 7)
    found = alarms(url)
    assert set(found) == {A_KEY, B_KEY}  # P3's episode is three days old: not an alarm today
    assert (found[A_KEY].grade, found[A_KEY].street_code, found[A_KEY].hazard_source_id) == ("Ⅱ", "WL", "H1")
    assert (found[B_KEY].grade, found[B_KEY].street_code) == ("Ⅳ", "TS")
    assert found[A_KEY].ended_at is None  # still alarming at the last reading
    assert found[B_KEY].ended_at.astimezone(SHANGHAI).replace(tzinfo=None) == datetime(2026, 5, 1, 9, 1)
    sent = messages(url)
    assert sorted(sent) == sorted([
        f"{A_KEY}/notice/enterprise", f"{A_KEY}/notice/street_office", f"{A_KEY}/notice/emb_duty",
        f"{B_KEY}/notice/enterprise", f"{B_KEY}/notice/street_office",
        f"{B_KEY}/cancel/enterprise", f"{B_KEY}/cancel/street_office"])
    assert {sent[f"{A_KEY}/notice/{r}"].endpoint for r in ("enterprise", "street_office", "emb_duty")} == {
        "enterprise_H1", "street_wl", "emb_duty"}
    text = sent[f"{A_KEY}/notice/emb_duty"].payload
    shown = json.dumps(text, ensure_ascii=False)
    for field in ("预警类型：重大危险源在线监测超高报阈值", "预警级别：Ⅱ级（橙色）", "地点（街道）：武林街道（WL）",
                  "危险源：液氨储罐区（H1）", "处置要求：", "发布单位："):
        assert field in shown, field
    assert "原预警编号" in json.dumps(sent[f"{B_KEY}/cancel/enterprise"].payload, ensure_ascii=False)

    # Again (the next minute's run, the next build): nothing recorded or sent twice.
    again = respond.record_published(cfg, NOW1 + timedelta(minutes=1), url=url)
    assert (again.new_alarms, again.notified, again.changed, again.cancelled, again.messages) == (0, 0, 0, 0, 0)
    assert len(messages(url)) == 7


def test_a_higher_threshold_reached_later_changes_the_grade_and_the_clearing_cancels(homes):
    url, cfg = homes["url"], homes["live"]
    write_readings(cfg.landing / SENSORS.source / SENSORS.feed / "readings_20260501_late.parquet",
                   [(p, f"{t}:00", v) for p, t, v in WAVE2])
    build_and_publish(cfg)
    done = respond.record_published(cfg, NOW2, url=url)
    assert (done.new_alarms, done.notified, done.changed, done.cancelled, done.messages) == (0, 0, 1, 1, 6)
    a = alarms(url)[A_KEY]
    assert a.grade == "Ⅰ" and a.ended_at is not None
    sent = messages(url)
    assert {k for k in sent if k.startswith(f"{A_KEY}/change/")} == {
        f"{A_KEY}/change/Ⅰ/{r}" for r in ("enterprise", "street_office", "emb_duty")}
    assert {k for k in sent if k.startswith(f"{A_KEY}/cancel/")} == {
        f"{A_KEY}/cancel/{r}" for r in ("enterprise", "street_office", "emb_duty")}
    change = json.dumps(sent[f"{A_KEY}/change/Ⅰ/street_office"].payload, ensure_ascii=False)
    assert "预警级别：Ⅰ级（红色）" in change and f"原预警编号：{A_KEY}/notice" in change
    assert respond.record_published(cfg, NOW2, url=url).messages == 0


def test_an_unacknowledged_alarm_is_escalated_and_every_message_reaches_the_receiver_once(homes, tmp_path,
                                                                                           monkeypatch):
    url, cfg = homes["url"], homes["live"]
    with store.session(url) as s:  # the street office acknowledges A in time; B (蓝, 60 min) waits
        store.act(s, alarms(url)[A_KEY].id, "签收", actor="street_wl", scope_streets=["WL"],
                  now=NOW2 + timedelta(minutes=1))
    b_created = alarms(url)[B_KEY].created_at
    assert respond.escalate(b_created + timedelta(minutes=59), url=url) == []
    up = respond.escalate(b_created + timedelta(minutes=61), url=url)
    assert [(e.alarm_key, e.level) for e in up] == [(B_KEY, 1)]
    assert alarms(url)[B_KEY].escalation_level == 1 and alarms(url)[A_KEY].escalation_level == 0
    assert respond.escalate(b_created + timedelta(minutes=62), url=url) == []
    assert f"{B_KEY}/escalate/1" in messages(url)
    with store.session(url) as s:
        assert [e.action for e in store.history(s, alarms(url)[B_KEY].id)] == [escalation.ESCALATE]

    with demo_receiver.Receiver(fail_every=5, out_dir=tmp_path / "received") as rx:
        hooks = demo_webhooks.write_demo_webhooks(cfg.home, rx.port, ["H1", "H2", "H3"])
        monkeypatch.setenv("CITYSAFETY_WEBHOOKS_FILE", str(hooks))
        routing.check_endpoints(routing.load(), endpoints.load(), ["H1", "H2", "H3"])
        now = datetime.now(SHANGHAI)
        for _ in range(40):
            respond.dispatch(url, now)
            if not outbox.counts(url).get("pending") and not outbox.counts(url).get("sending"):
                break
            now += timedelta(minutes=11)  # past any back-off (at most 10 min)
        expected = set(messages(url))
        assert len(expected) == 14
        assert outbox.counts(url) == {"sent": 14}
        assert dict(rx.accepted) == {key: 1 for key in expected}
    assert config.webhooks_file() == hooks


def test_an_episode_that_cannot_be_routed_fails_the_run_after_the_others_are_notified(homes, tmp_path):
    """A (graded Ⅱ by hand, its notice never sent) cannot take a change: the run records and
    notifies B, then fails naming A (the next run tries A again)."""
    url = f"sqlite:///{tmp_path / 'operations.db'}"
    store.upgrade(url)
    try:
        with store.session(url) as s:
            store.record_alarm(s, point_id="P1", started_at=datetime(2026, 5, 1, 10, 1, tzinfo=SHANGHAI),
                               hazard_source_id="H1", street_code="WL", grade="Ⅱ", now=NOW1)
        with pytest.raises(respond.RecordFailed, match="P1:2026-05-01T10:01:00"):
            respond.record_published(homes["live"], NOW2, url=url)
        assert sorted(k for k in messages(url) if k.startswith(B_KEY)) == [
            f"{B_KEY}/cancel/enterprise", f"{B_KEY}/cancel/street_office",
            f"{B_KEY}/notice/enterprise", f"{B_KEY}/notice/street_office"]
        assert not [k for k in messages(url) if k.startswith(A_KEY)]
    finally:
        store.dispose(url)
