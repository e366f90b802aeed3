"""Land the monitoring gateways' readings (emb/sensor_readings) from MQTT, within seconds.

The gateways publish each reading, QoS 1, on one topic per hazard source and point,

    xiacheng/monitoring/<hazard_source_id>/<point_id>/readings
    {"ts": "2026-05-01T02:03:00Z", "value": 41.7}          (ts ISO-8601 with an offset)

(`point_id` and `hazard_source_id` may be repeated in the payload; they must then agree with the
topic). The subscriber (`python -m citysafety.land.mqtt subscribe`) writes what it received as a
small Parquet file in the SAME landing folder as the daily file,
`landing/emb/sensor_readings/readings_live_<UTC stamp>.parquet`, with exactly that feed's
delivered columns (`point_id` string, `ts` timestamp UTC in ms like the daily file, `value`
double). The existing ingest, the same dbt episode rules and the build take it like any delivery:
the near-real-time path and the daily path are one path, and a reading delivered by both (or
twice by the broker) is one row after the mart's key (point_id, ts).

Nothing is lost, across crashes and restarts:
- MQTT 3.1.1 persistent session (`clean_session=False`, the stable client id of
  `config.mqtt_client_id`) and a QoS 1 subscription: the broker keeps what it sent and was not
  acknowledged, and sends it again to the next subscriber of that id;
- manual acknowledgements: a reading is buffered and acknowledged only once the file holding it
  (or, for a malformed message, the quarantine file naming it) has been written aside under a dot
  name, synced and renamed into place (`citysafety.files.atomic_write`). A crash before that
  loses nothing: the broker redelivers, and the duplicate is collapsed by the key.
- a file is written when the buffer holds `config.mqtt_flush_readings` readings, when its oldest
  reading waited `config.mqtt_flush_seconds`, or when nothing arrived for
  `config.mqtt_idle_flush_seconds` (the broker holds back further messages while about 20 are
  unacknowledged, Mosquitto's `max_inflight_messages`); SIGTERM/SIGINT write the buffer, then
  disconnect.
- a message that is not a reading (not JSON, a field missing or wrong, a point the latest
  hazard-source list does not name under that source) is written, with its reason in Chinese,
  to `landing_quarantine/emb/sensor_readings/mqtt_<UTC stamp>.jsonl` beside the landing, then
  acknowledged: nothing silently dropped, nothing redelivered for ever.

Known points come from the newest landed hazard-source snapshot
(`landing/emb/hazard_sources/hazard_sources_*.csv`), re-read when a newer one lands.

Credentials: the YAML/JSON file of `config.mqtt_secrets_file` (`username`, `password`), the
owner's only (0600); named but missing, unreadable or open to others, the subscriber refuses to
start. The password is never logged.

Limits (the broker's, not this module's): a persistent session's queue is bounded (Mosquitto's
`max_queued_messages`, 1000 by default): a subscriber down for longer than that many readings
loses the overflow at the broker; the daily file still carries them.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import logging
import math
import os
import secrets
import signal
import stat
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
import pyarrow as pa
import pyarrow.parquet as pq

from citysafety import config
from citysafety import sources as S
from citysafety.config import ConfigError, Settings, settings
from citysafety.files import atomic_write

log = logging.getLogger("citysafety.land.mqtt")  # the same name under python -m

FEED = S.EMB_SENSOR_READINGS
HAZARDS = S.EMB_HAZARD_SOURCES
# The daily file's schema exactly (demo/feeds/sensors.py writes the same).
SCHEMA = pa.schema([("point_id", pa.string()), ("ts", pa.timestamp("ms", tz="UTC")), ("value", pa.float64())])
MAX_PAYLOAD_BYTES = 4096  # a reading is a few dozen bytes
CONNECT_TIMEOUT_S = 10.0


class MqttError(RuntimeError):
    """The subscriber could not connect or subscribe (message in Chinese for the operator)."""


# ------------------------------------------------------------------ settings and secrets

def credentials(path: Path | None) -> tuple[str, str] | None:
    """(username, password) from the secrets file, None without one. Fails closed: a named file
    that is missing, unreadable, not the owner's only (0600) or without a username raises."""
    if path is None:
        return None
    path = Path(path)
    try:
        st = path.stat()
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"MQTT 凭据文件 {path} 无法读取：{exc.strerror or exc} "
                          "(the MQTT secrets file is named but cannot be read)") from None
    if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) & 0o077 or st.st_uid != os.geteuid():
        raise ConfigError(f"MQTT 凭据文件 {path} 必须为本用户所有且权限为 0600（现为 "
                          f"{stat.S_IMODE(st.st_mode):o}），请执行 chmod 600 "
                          "(the MQTT secrets file must be the owner's only)")
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    username = data.get("username") if isinstance(data, dict) else None
    password = data.get("password") if isinstance(data, dict) else None
    if not isinstance(username, str) or not username.strip() or not isinstance(password, (str, type(None))):
        raise ConfigError(f"MQTT 凭据文件 {path} 格式不对：应为 YAML/JSON，含 username 与 password "
                          "(expected {username: ..., password: ...})")
    return username.strip(), password or ""


def landing_dir(cfg: Settings) -> Path:
    return cfg.landing / FEED.source / FEED.feed


def quarantine_dir(cfg: Settings) -> Path:
    """Malformed messages, one JSON Lines file per flush, beside the landing."""
    return cfg.home / "landing_quarantine" / FEED.source / FEED.feed


# ------------------------------------------------------------------ known points

class KnownPoints:
    """point_id -> hazard_source_id from the newest landed hazard-source snapshot (re-read when a
    newer file lands). `fixed` replaces the landing (tests)."""

    def __init__(self, cfg: Settings, fixed: dict[str, str] | None = None):
        self.cfg, self.fixed = cfg, fixed
        self._seen: tuple | None = None
        self.points: dict[str, str] = dict(fixed or {})
        self.snapshot: str | None = None

    def refresh(self) -> dict[str, str]:
        if self.fixed is not None:
            return self.points
        folder = self.cfg.landing / HAZARDS.source / HAZARDS.feed
        files = sorted(p for p in folder.glob(HAZARDS.file_glob) if not p.name.startswith("."))
        if not files:
            return self.points
        newest = files[-1]
        st = newest.stat()
        if self._seen == (newest.name, st.st_mtime_ns, st.st_size):
            return self.points
        try:
            self.points = _snapshot_points(newest)
        except (OSError, ValueError, UnicodeDecodeError, csv.Error) as exc:
            log.warning("hazard-source snapshot %s unreadable (%s); keeping %d known points",
                        newest.name, exc, len(self.points))
            return self.points
        self._seen, self.snapshot = (newest.name, st.st_mtime_ns, st.st_size), newest.name
        log.info("known points: %d from %s", len(self.points), newest.name)
        return self.points


def _snapshot_points(path: Path) -> dict[str, str]:
    by_name = {c.name: c.delivered for c in HAZARDS.columns}
    text = path.read_bytes().decode(HAZARDS.encoding)
    rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    points = {}
    for row in rows:
        point, source = (row.get(by_name["point_id"]) or "").strip(), (row.get(by_name["hazard_source_id"]) or "").strip()
        if point and source:
            points[point] = source
    if not points:
        raise ValueError("no points")
    return points


# ------------------------------------------------------------------ one message

@dataclass
class Received:
    mid: int
    generation: int
    topic: str
    payload: bytes
    qos: int
    dup: bool
    received_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def topic_levels(pattern: str) -> int:
    return len(pattern.split("/"))


def parse(message: Received, pattern: str, points: dict[str, str]) -> tuple[dict | None, str | None]:
    """(row, None) for a reading, (None, reason in Chinese) otherwise."""
    levels, want = message.topic.split("/"), pattern.split("/")
    if len(levels) != len(want) or any(w not in ("+", lv) for w, lv in zip(want, levels)):
        return None, f"主题不符合约定 {pattern}"
    source_id, point_id = levels[-3], levels[-2]
    if len(message.payload) > MAX_PAYLOAD_BYTES:
        return None, f"消息过长（{len(message.payload)} 字节，上限 {MAX_PAYLOAD_BYTES}）"
    try:
        data = json.loads(message.payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, "消息不是 UTF-8 JSON"
    if not isinstance(data, dict):
        return None, "消息不是 JSON 对象"
    missing = [k for k in ("ts", "value") if data.get(k) is None]
    if missing:
        return None, f"缺少字段：{', '.join(missing)}"
    if data.get("point_id") not in (None, point_id):
        return None, f"消息中的 point_id {data['point_id']!r} 与主题中的监测点 {point_id!r} 不一致"
    if data.get("hazard_source_id") not in (None, source_id):
        return None, f"消息中的 hazard_source_id {data['hazard_source_id']!r} 与主题中的危险源 {source_id!r} 不一致"
    value = data["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None, f"value 不是有限数值：{value!r}"
    ts = data["ts"]
    try:
        when = datetime.fromisoformat(ts.strip().replace("Z", "+00:00")) if isinstance(ts, str) else None
    except ValueError:
        when = None
    if when is None:
        return None, f"ts 不是 ISO-8601 时间：{ts!r}"
    if when.tzinfo is None:
        return None, f"ts 缺少时区（应带 Z 或 +08:00 等偏移）：{ts!r}"
    if not points:
        return None, "尚无危险源清单（landing/emb/hazard_sources 中没有可读的快照），无法核对监测点"
    if point_id not in points:
        return None, f"未知监测点 {point_id}（最新危险源清单中没有）"
    if points[point_id] != source_id:
        return None, f"监测点 {point_id} 属于危险源 {points[point_id]}，不属于主题中的 {source_id}"
    when = when.astimezone(timezone.utc)
    when = when.replace(microsecond=when.microsecond // 1000 * 1000)  # ms, as the daily file
    return {"point_id": point_id, "ts": when, "value": float(value)}, None


def _stamp(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S%fZ}_{secrets.token_hex(3)}"


def _quarantine_record(message: Received, reason: str) -> dict:
    try:
        payload, encoding = message.payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        payload, encoding = base64.b64encode(message.payload).decode("ascii"), "base64"
    return {"received_at": message.received_at.isoformat(), "topic": message.topic, "payload": payload,
            "payload_encoding": encoding, "reason": reason, "dup": message.dup}


def write_batch(batch: list[Received], cfg: Settings, pattern: str, points: dict[str, str]) -> dict:
    """Write a batch: its readings as one landed Parquet file, its malformed messages as one
    quarantine file; both atomically. Returns what was written."""
    rows: dict[tuple[str, datetime], dict] = {}
    bad = []
    for message in batch:
        row, reason = parse(message, pattern, points)
        if row is None:
            bad.append(_quarantine_record(message, reason))
        else:
            rows[(row["point_id"], row["ts"])] = row  # the broker's redelivery within one batch: the last copy
    now = datetime.now(timezone.utc)
    written = {"readings": len(rows), "quarantined": len(bad), "file": None, "quarantine": None}
    if bad:
        folder = quarantine_dir(cfg)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"mqtt_{_stamp(now)}.jsonl"
        atomic_write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in bad))
        written["quarantine"] = path
        for r in bad:
            log.warning("quarantined a message on %s: %s", r["topic"], r["reason"])
    if rows:
        ordered = sorted(rows.values(), key=lambda r: (r["ts"], r["point_id"]))
        table = pa.Table.from_pylist(ordered, schema=SCHEMA)
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        folder = landing_dir(cfg)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FEED.file_glob.replace("*", f"live_{_stamp(now)}")
        atomic_write(path, buf.getvalue())
        written["file"] = path
    return written


# ------------------------------------------------------------------ the subscriber

class Subscriber:
    """One persistent-session subscriber. `start()` connects and subscribes; `run(stop)` writes
    files as they fall due until `stop` is set, then writes the rest and disconnects;
    `abandon()` disconnects without writing or acknowledging anything (what a crash does)."""

    def __init__(self, cfg: Settings | None = None, *, client_id: str | None = None, topic: str | None = None,
                 host: str | None = None, port: int | None = None, secrets_file: Path | None | bool = True,
                 flush_seconds: float | None = None, flush_readings: int | None = None,
                 idle_seconds: float | None = None, points: dict[str, str] | None = None):
        self.cfg = cfg or settings()
        self.client_id = client_id or config.mqtt_client_id()
        self.topic = topic or config.mqtt_topic()
        self.host, self.port = host or config.mqtt_host(), port or config.mqtt_port()
        self.flush_seconds = flush_seconds if flush_seconds is not None else config.mqtt_flush_seconds()
        self.flush_readings = flush_readings or config.mqtt_flush_readings()
        self.idle_seconds = idle_seconds if idle_seconds is not None else config.mqtt_idle_flush_seconds()
        self.known = KnownPoints(self.cfg, points)
        self._credentials = credentials(config.mqtt_secrets_file() if secrets_file is True else secrets_file or None)
        self._lock = threading.Lock()
        self._buffer: list[Received] = []
        self._last_received = 0.0
        self._generation = 0
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._refused: str | None = None
        self.landed: list[dict] = []  # what each flush wrote (for the log and tests)
        self.client = self._client()

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False,
                             protocol=mqtt.MQTTv311, manual_ack=True)
        if self._credentials:
            client.username_pw_set(*self._credentials)
        client.reconnect_delay_set(1, 30)
        client.on_connect, client.on_subscribe = self._on_connect, self._on_subscribe
        client.on_message, client.on_disconnect = self._on_message, self._on_disconnect
        return client

    # -- callbacks (paho's network thread)
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self._refused = str(reason_code)
            log.error("broker %s:%d refused the connection: %s", self.host, self.port, reason_code)
            self._connected.set()
            return
        with self._lock:
            self._generation += 1  # acknowledgements of the earlier connection are void
        log.info("connected to %s:%d as %s (session present: %s)", self.host, self.port, self.client_id,
                 flags.session_present)
        client.subscribe(self.topic, qos=1)
        self._connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        if any(rc.is_failure for rc in reason_codes):
            self._refused = f"subscription refused: {[str(rc) for rc in reason_codes]}"
            log.error("broker refused the subscription to %s", self.topic)
        self._subscribed.set()

    def _on_message(self, client, userdata, message):
        with self._lock:
            self._buffer.append(Received(message.mid, self._generation, message.topic, bytes(message.payload),
                                         message.qos, bool(message.dup)))
            self._last_received = time.monotonic()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("disconnected from the broker (%s); reconnecting", reason_code)

    # -- control
    def start(self, timeout: float = CONNECT_TIMEOUT_S) -> "Subscriber":
        try:
            self.client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            raise MqttError(f"无法连接 MQTT 服务 {self.host}:{self.port}：{exc.strerror or exc} "
                            "(the broker is unreachable)") from None
        self.client.loop_start()
        if not self._subscribed.wait(timeout) or self._refused:
            self.client.loop_stop()
            self.client.disconnect()
            why = self._refused or "超时"
            raise MqttError(f"MQTT 服务 {self.host}:{self.port} 拒绝连接或订阅（{why}），请检查用户名、密码与主题权限 "
                            "(connection or subscription refused)")
        log.info("subscribed to %s (QoS 1); files every %g s or %d readings", self.topic,
                 self.flush_seconds, self.flush_readings)
        return self

    def buffered(self) -> int:
        with self._lock:
            return len(self._buffer)

    def due(self) -> bool:
        with self._lock:
            if not self._buffer:
                return False
            now = time.monotonic()
            oldest = self._buffer[0].received_at.timestamp()
            return (len(self._buffer) >= self.flush_readings
                    or time.time() - oldest >= self.flush_seconds
                    or now - self._last_received >= self.idle_seconds)

    def flush(self) -> dict | None:
        """Write what is buffered, then acknowledge it. A failure to write acknowledges nothing
        (the batch goes back to the buffer and is tried again)."""
        with self._lock:
            batch, self._buffer = self._buffer, []
        if not batch:
            return None
        try:
            written = write_batch(batch, self.cfg, self.topic, self.known.refresh())
        except Exception:
            with self._lock:
                self._buffer[:0] = batch
            raise
        with self._lock:
            generation = self._generation
        acked = set()
        for message in batch:
            # only this connection's packet ids: an earlier connection's may name another message now
            # (the broker sends those again: a duplicate the key collapses)
            if message.generation == generation and message.qos > 0 and message.mid not in acked:
                self.client.ack(message.mid, message.qos)
                acked.add(message.mid)
        written["acknowledged"] = len(acked)
        self.landed.append(written)
        log.info("landed %d readings in %s, quarantined %d; acknowledged %d", written["readings"],
                 written["file"].name if written["file"] else "-", written["quarantined"], len(acked))
        return written

    def run(self, stop: threading.Event, tick: float = 0.1) -> None:
        try:
            while not stop.wait(tick):
                if self.due():
                    try:
                        self.flush()
                    except OSError:
                        log.exception("could not write the landed file; retrying, nothing acknowledged")
                        stop.wait(1.0)
        finally:
            self.stop()

    def stop(self) -> None:
        """Write the buffer, then disconnect (the session and its subscription stay at the broker)."""
        try:
            self.flush()
        finally:
            self.client.disconnect()
            self.client.loop_stop()

    def abandon(self) -> None:
        """Disconnect without writing or acknowledging (a crash, as far as the broker can tell)."""
        self.client.disconnect()
        self.client.loop_stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m citysafety.land.mqtt",
                                     description="Land the monitoring gateways' MQTT readings as Parquet files.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("subscribe", help="subscribe until SIGTERM/Ctrl-C")
    run.add_argument("--home", type=Path, help="CITYSAFETY_HOME (default: the environment's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = Settings(home=args.home.resolve()) if args.home else settings()
    try:
        subscriber = Subscriber(cfg).start()
    except (ConfigError, MqttError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"landing {subscriber.topic} into {landing_dir(cfg)}", flush=True)
    subscriber.run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
