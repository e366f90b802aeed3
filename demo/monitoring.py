"""Simulated monitoring gateways: the demo's hazard sources publish their points' readings over MQTT.

    python -m demo.monitoring publish --seconds 60 [--interval 5]
    python -m demo.monitoring publish --seconds 0 --interval 10     # until stopped (make serve)

Every `--interval` seconds each monitoring point of the demo's hazard sources (demo.feeds.sensors,
those listed in the newest snapshot before the demo's end date) publishes one reading, QoS 1, on
its own topic `xiacheng/monitoring/<hazard_source_id>/<point_id>/readings` (the subscriber's
filter, `CITYSAFETY_MQTT_TOPIC`, with its `+` levels filled in), payload
`{"point_id", "hazard_source_id", "ts" (UTC, ISO-8601 with Z), "value"}`. Values follow the
point's normal operating level with noise, well below 高报阈值, except one point (the first of
the list) that goes above its 高报阈值 for three rounds and back (one alarm episode, with its end),
or for the only round of a short run: the demo shows an alarm. `--seconds 0` publishes until
stopped (what `make serve` runs), with that one alarm in its second to fourth rounds.

Credentials: the same secrets file as the subscriber (`CITYSAFETY_MQTT_SECRETS_FILE`, default
`$CITYSAFETY_HOME/secrets/mqtt.yml` when it exists); none on the demo's loopback broker.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from datetime import date, datetime, timezone

import paho.mqtt.client as mqtt

from citysafety import config
from citysafety.land.mqtt import credentials
from demo.feeds.sensors import HazardSource, Point, _listed, hazard_sources

log = logging.getLogger(__name__)


def points(seed: int | None = None, end: date | None = None) -> list[tuple[HazardSource, Point]]:
    """(hazard source, point) of every point the demo's newest snapshot lists, in list order."""
    end = end or (date.fromisoformat(config.demo_end_date()) if config.demo_end_date() else date.today())
    listed = _listed(hazard_sources(config.demo_seed() if seed is None else seed), end)
    return [(s, p) for s in listed for p in s.points]


def topic_of(source_id: str, point_id: str, pattern: str | None = None) -> str:
    levels = (pattern or config.mqtt_topic()).split("/")
    levels[-3], levels[-2] = source_id, point_id
    return "/".join(levels)


def reading(source: HazardSource, point: Point, ts: datetime, rng: random.Random, alarm: bool) -> dict:
    if alarm:
        value = point.high + (point.high - point.base) * 0.2
    else:
        value = max(0.0, point.base + rng.gauss(0, point.noise))
    return {"point_id": point.point_id, "hazard_source_id": source.id,
            "ts": ts.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "value": round(value, 4)}


def alarm_rounds(rounds: int | None) -> set[int]:
    return {1, 2, 3} if rounds is None or rounds >= 5 else {0}


def publish(seconds: float, interval: float = 5.0, *, host: str | None = None, port: int | None = None,
            topic: str | None = None, seed: int | None = None) -> dict:
    """Publish rounds of readings for `seconds` (0: until stopped); returns counts (and the
    alarming point)."""
    pairs = points(seed)
    rounds = max(1, int(seconds // interval)) if seconds > 0 else None
    alarming, alarm_at = pairs[0][1].point_id, alarm_rounds(rounds)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"citysafety-demo-gateways-{os.getpid()}",
                         clean_session=True, protocol=mqtt.MQTTv311)
    creds = credentials(config.mqtt_secrets_file())
    if creds:
        client.username_pw_set(*creds)
    client.connect(host or config.mqtt_host(), port or config.mqtt_port(), keepalive=30)
    client.loop_start()
    rng = random.Random(config.demo_seed())
    sent = 0
    try:
        start = time.monotonic()
        k = -1
        while rounds is None or k + 1 < rounds:
            k += 1
            now = datetime.now(timezone.utc).replace(microsecond=0)
            infos = []
            for source, point in pairs:
                body = reading(source, point, now, rng, point.point_id == alarming and k in alarm_at)
                infos.append(client.publish(topic_of(source.id, point.point_id, topic),
                                            json.dumps(body, ensure_ascii=False), qos=1))
            for info in infos:
                info.wait_for_publish(timeout=30)
                sent += info.is_published()
            log.info("round %d/%s: %d readings%s", k + 1, rounds or "∞", len(pairs),
                     f" ({alarming} above 高报阈值)" if k in alarm_at else "")
            if rounds is None or k + 1 < rounds:
                time.sleep(max(0.0, start + (k + 1) * interval - time.monotonic()))
    finally:
        client.disconnect()
        client.loop_stop()
    return {"points": len(pairs), "rounds": k + 1, "published": sent, "alarm_point": alarming}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.monitoring",
                                     description="Simulated monitoring gateways publishing readings over MQTT.")
    sub = parser.add_subparsers(dest="command", required=True)
    pub = sub.add_parser("publish", help="publish readings for a while")
    pub.add_argument("--seconds", type=float, default=60, help="how long to publish (default 60; 0: until stopped)")
    pub.add_argument("--interval", type=float, default=5, help="seconds between rounds (default 5)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        summary = publish(args.seconds, args.interval)
    except (OSError, config.ConfigError) as exc:
        print(f"错误：无法向 MQTT 服务 {config.mqtt_host()}:{config.mqtt_port()} 发布：{exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
