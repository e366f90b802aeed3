"""The alarm replay of `make bench` (phase `alarm_replay`): 1,000 alarms from MQTT to the chat
robots, through a receiver that fails one request in five, and every one handled to 归档.

In a home of its own (`<work>/alarms/`, made afresh each run):

1. a hazard-source snapshot (10 sources x 5 points, hazard levels 一级..四级 in turn) and an
   enterprise registry placing the sources' units in the eight streets, ingested; the demo
   webhooks file (demo/webhooks.py) naming every endpoint the policy needs, pointing at a
   `demo.receiver.Receiver(fail_every=5)` on loopback; the operations database (SQLite under
   the home) migrated;
2. ten waves. Each publishes, over MQTT (QoS 1, Mosquitto on 127.0.0.1), per point one alarming
   reading, one normal, one alarming, one normal (the first wave starts with a normal one): two
   alarm episodes per point and wave, 100 a wave, 1,000 in all, every other one past 高高报阈值
   so that with the four hazard levels the grades Ⅰ..Ⅳ all occur. The readings are a minute
   apart and about three hours old, inside the response's look-back window
   (CITYSAFETY_ALARM_LOOKBACK_HOURS, default 24 h). The real subscriber
   (`citysafety.land.mqtt.Subscriber`, a client id and topic prefix of this run; its persistent
   session removed at the end) lands them as Parquet files; then, as the pipeline runs them:
   the sensor ingest once the files are settled (config.landing_quiet_seconds),
   `prepare_build`, `dbt build --select +fct_sensor_alarm_episodes` (incremental after the
   first wave), `publish`, `respond.record_published` (records, grades, enqueues the notices
   and, the episodes being cleared, the cancellations), and `respond.dispatch` again and again
   until nothing is pending. A message the receiver answered 503 waits out the outbox's own
   back-off (2 s doubling, with jitter): the dispatch is given a clock moved on to when it is
   due rather than sleeping, so its `sent_at` is what the wait would make it while the bench
   does not spend the waits (the back-off is not lowered, nothing is patched);
3. every alarm then goes 签收 → 到场 → 处置完毕 (with a note) → 归档 through `store.act`, one
   transaction per step as the app makes them.

Measured and checked:
- reading landed → notification sent, per alarm: from the mtime of the landed Parquet file
  holding its first alarming reading (when the subscriber renamed it into landing) to the
  `sent_at` of the last of its first-notice messages (`<alarm_key>/notice/<recipient>`); p50
  and p95. It includes the wait for the rest of the wave (a wave is built once), the settle
  time, the build and the retries;
- lost: message keys of the outbox (every notification row) the receiver never accepted, plus
  notifications not `sent` (counted once each); duplicated: keys accepted more than once;
- 1,000 alarms in the store, each graded, ending 已归档 with exactly its four audit rows in order.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import sqlalchemy as sa

from bench.measure import _dbt, _elapsed, _median, _p95, say
from citysafety import config
from citysafety import sources as S
from citysafety.config import Settings
from citysafety.files import atomic_path, atomic_write
from citysafety.uscc import complete

SOURCES, POINTS_PER_SOURCE, WAVES = 10, 5, 10
EPISODES_PER_WAVE = 2  # per point: alarm, normal, alarm, normal
ALARMS = SOURCES * POINTS_PER_SOURCE * WAVES * EPISODES_PER_WAVE  # 1,000
FAIL_EVERY = 5
LEVELS = ("一级", "二级", "三级", "四级")
STREETS = ("WL", "TS", "CH", "CM", "CQ", "SQ", "DX", "WH")
# metric -> (unit, normal value, 高报阈值, 高高报阈值): one of each kind of point
METRICS = {"temperature": ("℃", 30.0, 50.0, 60.0), "pressure": ("MPa", 0.6, 1.0, 1.5),
           "level": ("m", 5.0, 8.0, 9.0), "gas": ("%LEL", 5.0, 20.0, 50.0)}
READINGS_AGO = timedelta(hours=3)  # the first reading's age when the replay starts
LAND_TIMEOUT_S, DRAIN_TIMEOUT_S = 180.0, 900.0
NOTE = "现场核查：工况已恢复正常，监测值回落至阈值以下（bench 回放）"


# ------------------------------------------------------------------ the deliveries

def _points() -> list[dict]:
    """The monitoring points: source, level, street, metric and thresholds."""
    names = dict(zip(STREETS, ("武林街道", "天水街道", "朝晖街道", "潮鸣街道", "长庆街道", "石桥街道",
                               "东新街道", "文晖街道")))
    out = []
    for k in range(SOURCES):
        uscc = complete(f"91330103MA2B{k:05d}")  # valid codes: the registry's street is found by code
        for j in range(POINTS_PER_SOURCE):
            metric = list(METRICS)[(k + j) % len(METRICS)]
            unit, normal, high, high_high = METRICS[metric]
            out.append({"source": f"HB-{k:02d}", "uscc": uscc, "unit_name": f"回放化工第{k + 1}有限公司",
                        "source_name": f"回放储罐区{k + 1}", "level": LEVELS[k % len(LEVELS)],
                        "street": STREETS[k % len(STREETS)], "street_name": names[STREETS[k % len(STREETS)]],
                        "point": f"PB-{k:02d}-{j}", "metric": metric, "unit": unit, "normal": normal,
                        "high": high, "high_high": high_high})
    return out


def _write_snapshot(cfg: Settings, points: list[dict], day: str) -> None:
    feed = S.EMB_HAZARD_SOURCES
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c.delivered for c in feed.columns])
    for p in points:
        writer.writerow([p["source"], p["uscc"], p["source_name"], p["level"], p["point"], p["metric"], p["unit"],
                         f"{p['high']:g}", f"{p['high_high']:g}"])
    folder = cfg.landing / feed.source / feed.feed
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / f"hazard_sources_{day}.csv", buf.getvalue().encode(feed.encoding))


def _write_registry(cfg: Settings, points: list[dict], day: str) -> None:
    import openpyxl

    feed = S.EMB_ENTERPRISES
    header = [c.delivered for c in feed.columns]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([f"下城区生产经营单位基础信息表（截至{day[:4]}年{int(day[4:6])}月{int(day[6:])}日）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append(header)
    units = {p["uscc"]: p for p in points}
    for code, p in units.items():
        ws.append([code, p["unit_name"], p["street_name"], "C 制造业", 80, "是", "二级", "是", None, "是"])
    folder = cfg.landing / feed.source / feed.feed
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / f"enterprises_{day}.xlsx") as part:
        wb.save(part)


def _wave_readings(points: list[dict], wave: int, start: datetime) -> list[tuple[dict, datetime, float]]:
    """(point, UTC time, value) of one wave: per point alarm, normal, alarm, normal, a minute
    apart after the previous wave's; the first wave starts with a normal reading."""
    out = []
    for p in points:
        minutes = ([0] if wave == 0 else []) + [1 + 4 * wave + i for i in range(4)]
        for m in minutes:
            slot = m - 1 - 4 * wave  # 0 and 2: alarming; -1 (the first reading), 1 and 3: normal
            if slot in (0, 2):
                episode = 2 * wave + slot // 2
                past_high_high = episode % 2 == 0  # every other episode reaches 高高报
                value = p["high_high"] * 1.05 if past_high_high else (p["high"] + p["high_high"]) / 2
            else:
                value = p["normal"]
            out.append((p, start + timedelta(minutes=m), round(value, 4)))
    return out


# ------------------------------------------------------------------ MQTT

def _publish(readings, prefix: str, client_id: str) -> int:
    import json

    import paho.mqtt.client as mqtt

    from citysafety.land.mqtt import credentials

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True,
                         protocol=mqtt.MQTTv311)
    creds = credentials(config.mqtt_secrets_file())
    if creds:
        client.username_pw_set(*creds)
    client.connect(config.mqtt_host(), config.mqtt_port(), keepalive=30)
    client.loop_start()
    try:
        infos = []
        for p, ts, value in readings:
            body = {"point_id": p["point"], "hazard_source_id": p["source"],
                    "ts": ts.isoformat(timespec="seconds").replace("+00:00", "Z"), "value": value}
            infos.append(client.publish(f"{prefix}/{p['source']}/{p['point']}/readings", json.dumps(body), qos=1))
        for info in infos:
            info.wait_for_publish(timeout=60)
        return sum(info.is_published() for info in infos)
    finally:
        client.disconnect()
        client.loop_stop()


def _forget_session(client_id: str) -> None:
    """Remove the subscriber's persistent session at the broker: connect once more with its id
    and a clean session (the broker then discards the session and its subscription)."""
    import paho.mqtt.client as mqtt

    from citysafety.land.mqtt import credentials

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True,
                         protocol=mqtt.MQTTv311)
    creds = credentials(config.mqtt_secrets_file())
    if creds:
        client.username_pw_set(*creds)
    connected = threading.Event()
    client.on_connect = lambda *a: connected.set()
    client.connect(config.mqtt_host(), config.mqtt_port(), keepalive=10)
    client.loop_start()
    try:
        connected.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()


def _wait_landed(subscriber, expected: int, already: int) -> list[dict]:
    """The flushes of this wave, once the subscriber has landed `expected` more readings."""
    deadline = time.monotonic() + LAND_TIMEOUT_S
    while True:
        flushes = subscriber.landed[already:]
        landed = sum(f["readings"] for f in flushes)
        bad = sum(f["quarantined"] for f in flushes)
        if bad:
            raise RuntimeError(f"the subscriber quarantined {bad} readings of the replay: see landing_quarantine/")
        if landed >= expected:
            return list(flushes)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{landed}/{expected} readings landed after {LAND_TIMEOUT_S:.0f} s")
        time.sleep(0.05)


# ------------------------------------------------------------------ the replay

def _drain(url: str) -> dict:
    """`respond.dispatch` until nothing is pending. When the next message is due later (the
    back-off after a 503), the clock given to the dispatch is moved on to it instead of sleeping:
    what the outbox records (`sent_at`, the next try) is what the real wait would give, and the
    bench does not spend the waits."""
    from citysafety.act import outbox, respond
    from citysafety.act.store import utcnow

    totals: Counter = Counter()
    rounds, skipped = 0, 0.0  # seconds the dispatch's clock runs ahead of the real one
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while True:
        done = respond.dispatch(url, utcnow() + timedelta(seconds=skipped))
        rounds += 1
        totals.update({k: getattr(done, k) for k in ("claimed", "sent", "retried", "dead", "released")})
        due = outbox.next_due(url)
        if due is None:
            return {**totals, "rounds": rounds, "clock_moved_s": round(skipped, 3)}
        if time.monotonic() > deadline:
            raise TimeoutError(f"the outbox is not drained after {DRAIN_TIMEOUT_S:.0f} s: {outbox.counts(url)}")
        skipped += max(0.0, (due - utcnow()).total_seconds() - skipped)


def replay(home: Path) -> dict:
    """Run the replay in `home` (removed first); what was measured and checked."""
    from citysafety.act import outbox, respond, store
    from citysafety.act.store import Alarm, AlarmEvent, Notification
    from citysafety.land.mqtt import Subscriber
    from citysafety.mart import build, publish
    from citysafety.raw import ingest
    from demo.receiver import Receiver, read_credentials
    from demo.webhooks import demo_hazard_source_ids, write_demo_webhooks

    t_all = time.perf_counter()
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    cfg = Settings(home=home)
    url = f"sqlite:///{home / 'operations' / 'operations.db'}"
    # This process is the replay's platform: its home, its database, its webhooks file. Never the
    # operator's (CITYSAFETY_OPERATIONS_DB_URL may name production), and "now" is the clock: the
    # bench's fixed as-of date (its year of history) is not the replay's.
    os.environ.update({"CITYSAFETY_HOME": str(home), "CITYSAFETY_OPERATIONS_DB_URL": url})
    os.environ.pop("CITYSAFETY_AS_OF_DATE", None)
    os.environ.pop("CITYSAFETY_DEMO_END", None)

    points = _points()
    local_day = (datetime.now(timezone.utc) + timedelta(hours=8)).strftime("%Y%m%d")
    _write_snapshot(cfg, points, local_day)
    _write_registry(cfg, points, local_day)
    time.sleep(config.landing_quiet_seconds() + 0.2)  # settled, or the ingest leaves them for later
    for feed in (S.EMB_ENTERPRISES, S.EMB_HAZARD_SOURCES):
        loaded = ingest.summarise(ingest.ingest_feed(feed, cfg))
        if loaded["rows_loaded"] != loaded["rows_delivered"]:
            raise RuntimeError(f"{feed.id}: not every row loaded: {loaded}")
    store.upgrade(url)
    run = uuid.uuid4().hex[:10]
    client_id, prefix = f"citysafety-bench-alarms-{run}", f"citysafety-bench/{run}"

    receiver = Receiver(home / "receiver", fail_every=FAIL_EVERY).start()
    subscriber, runner, stop = None, None, threading.Event()
    waves = []
    first_landed: dict[tuple[str, datetime], float] = {}  # (point, UTC ts) -> mtime of its landed file
    try:
        hooks = write_demo_webhooks(home, receiver.port, demo_hazard_source_ids(home))
        receiver.secrets, receiver.access_token = read_credentials(hooks)
        os.environ["CITYSAFETY_WEBHOOKS_FILE"] = str(hooks)

        subscriber = Subscriber(cfg, client_id=client_id, topic=f"{prefix}/+/+/readings").start()
        runner = threading.Thread(target=subscriber.run, args=(stop,), name="bench-subscriber", daemon=True)
        runner.start()
        start = (datetime.now(timezone.utc) - READINGS_AGO).replace(second=0, microsecond=0)
        for wave in range(WAVES):
            w: dict = {"wave": wave + 1}
            readings = _wave_readings(points, wave, start)
            already = len(subscriber.landed)
            t = time.perf_counter()
            published = _publish(readings, prefix, f"citysafety-bench-gateways-{run}")
            if published != len(readings):
                raise RuntimeError(f"wave {wave + 1}: {published}/{len(readings)} readings published")
            flushes = _wait_landed(subscriber, len(readings), already)
            w["land_s"], w["files"] = _elapsed(t), len(flushes)
            newest = 0.0
            for f in flushes:
                if f["file"] is None:
                    continue
                mtime = f["file"].stat().st_mtime
                newest = max(newest, mtime)
                table = pq.read_table(f["file"], columns=["point_id", "ts"]).to_pydict()
                for point, ts in zip(table["point_id"], table["ts"]):
                    key = (point, ts.astimezone(timezone.utc))
                    first_landed[key] = min(first_landed.get(key, mtime), mtime)
            # the ingest takes a file once it has been quiet for the settle time, as in the pipeline
            time.sleep(max(0.0, newest + config.landing_quiet_seconds() + 0.05 - time.time()))
            t = time.perf_counter()
            loaded = ingest.summarise(ingest.ingest_feed(S.EMB_SENSOR_READINGS, cfg))
            w["ingest_s"] = _elapsed(t)
            if loaded["rows_loaded"] != len(readings):
                raise RuntimeError(f"wave {wave + 1}: {loaded['rows_loaded']}/{len(readings)} readings "
                                   f"loaded: {loaded}")
            t = time.perf_counter()
            build.prepare_build(cfg)
            w["prepare_build_s"] = _elapsed(t)
            dbt = _dbt(["build", "--select", "+fct_sensor_alarm_episodes", "--indirect-selection", "cautious"], cfg)
            w["dbt_s"], w["dbt_error"] = dbt["seconds"], dbt["error"]
            t = time.perf_counter()
            publish.publish(cfg)
            w["publish_s"] = _elapsed(t)
            t = time.perf_counter()
            recorded = respond.record_published(cfg, url=url)
            w["record_s"] = _elapsed(t)
            w.update(episodes=recorded.episodes, new_alarms=recorded.new_alarms, messages=recorded.messages,
                     cancelled=recorded.cancelled, skipped=len(recorded.skipped))
            if recorded.skipped:
                w["skipped_first"] = recorded.skipped[:3]
            t = time.perf_counter()
            w["dispatch"] = _drain(url)
            w["dispatch_s"] = _elapsed(t)
            waves.append(w)
            say(f"wave {wave + 1}/{WAVES}: {w['new_alarms']} new alarms, {w['messages']} messages; landed "
                f"{w['land_s']:.1f} s ({w['files']} files), ingest {w['ingest_s']:.1f}, prepare "
                f"{w['prepare_build_s']:.1f}, dbt {w['dbt_s']:.1f}, publish {w['publish_s']:.1f}, record "
                f"{w['record_s']:.1f}, dispatch {w['dispatch_s']:.1f} s ({w['dispatch']['retried']} retried)"
                + (" DBT ERROR" if dbt["error"] else ""))
    finally:
        stop.set()  # the subscriber writes what it holds and disconnects (Subscriber.run)
        if runner is not None:
            runner.join(timeout=30)
        elif subscriber is not None:
            subscriber.stop()
        if subscriber is not None:
            _forget_session(client_id)
        receiver.stop()

    # ------------------------------------------------------------ lost, duplicated, latency
    with store.session(url) as s:
        notes = s.execute(sa.select(Notification.idempotency_key, Notification.status, Notification.sent_at,
                                    Notification.attempts, Notification.alarm_id, Notification.channel)).all()
        alarms = s.execute(sa.select(Alarm.id, Alarm.alarm_key, Alarm.point_id, Alarm.started_at,
                                     Alarm.grade)).all()
    expected = {n.idempotency_key for n in notes}
    not_accepted = expected - set(receiver.accepted)
    not_sent = {n.idempotency_key for n in notes if n.status != "sent"}
    lost = not_accepted | not_sent
    duplicated = {k: n for k, n in receiver.accepted.items() if n > 1}
    unexpected = set(receiver.accepted) - expected
    notice_sent: dict[int, list] = defaultdict(list)
    for n in notes:
        if "/notice/" in n.idempotency_key:
            notice_sent[n.alarm_id].append(n.sent_at)
    latencies, unmatched = [], 0
    for a in alarms:
        landed = first_landed.get((a.point_id, a.started_at))
        sent = notice_sent.get(a.id, [])
        if landed is None or not sent or any(x is None for x in sent):
            unmatched += 1
            continue
        latencies.append(max(sent).timestamp() - landed)

    # ------------------------------------------------------------ the response, to 归档
    t = time.perf_counter()
    refused = []
    for a in alarms:
        for action in store.ACTIONS:
            try:
                with store.session(url) as s:
                    store.act(s, a.id, action, actor="bench", scope_streets=None,
                              note=NOTE if action == store.HANDLE else None)
            except store.ActionRefused as exc:
                refused.append(f"{a.alarm_key} {action}: {exc}")
    response_s = _elapsed(t)
    with store.session(url) as s:
        statuses = Counter(s.scalars(sa.select(Alarm.status)).all())
        events = s.execute(sa.select(AlarmEvent.alarm_id, AlarmEvent.action)
                           .order_by(AlarmEvent.alarm_id, AlarmEvent.at, AlarmEvent.id)).all()
    trails: dict[int, list[str]] = defaultdict(list)
    for e in events:
        trails[e.alarm_id].append(e.action)
    complete_trails = sum(trails.get(a.id) == list(store.ACTIONS) for a in alarms)

    kinds = Counter(k.split("/")[1] for k in expected)
    attempts = Counter(n.attempts for n in notes)
    return {
        "alarms_expected": ALARMS, "alarms": len(alarms), "waves": waves, "points": len(points),
        "grades": dict(sorted(Counter(a.grade for a in alarms).items(), key=lambda kv: str(kv[0]))),
        "messages": len(expected), "messages_by_kind": dict(kinds),
        "messages_by_channel": dict(Counter(n.channel for n in notes)),
        "attempts": {str(k): v for k, v in sorted(attempts.items())},
        "lost": len(lost), "not_accepted": len(not_accepted), "not_sent": len(not_sent),
        "lost_first": sorted(lost)[:5], "duplicated": len(duplicated), "duplicated_first": sorted(duplicated)[:5],
        "unexpected_accepted": len(unexpected),
        "receiver": {"requests": receiver.requests, "answers": {str(k): v for k, v in sorted(receiver.answers.items())},
                     "refused": dict(receiver.refused), "fail_every": FAIL_EVERY,
                     "received_lines": sum(1 for _ in receiver.received_file.open(encoding="utf-8"))},
        "notify_latencies": len(latencies), "notify_unmatched": unmatched,
        "notify_p50_s": round(_median(latencies), 3) if latencies else None,
        "notify_p95_s": round(_p95(latencies), 3) if latencies else None,
        "notify_max_s": round(max(latencies), 3) if latencies else None,
        "response": {"seconds": response_s, "actions": len(alarms) * len(store.ACTIONS) - len(refused),
                     "refused": len(refused), "refused_first": refused[:3],
                     "statuses": dict(statuses), "archived": statuses.get(store.ARCHIVED, 0),
                     "complete_trails": complete_trails},
        "dbt_errors": sum(1 for w in waves if w["dbt_error"]),
        "outbox_counts": outbox.counts(url),
        "seconds": _elapsed(t_all),
    }
