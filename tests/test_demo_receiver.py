"""The demo's webhook receiver and webhooks file (demo/receiver.py, demo/webhooks.py), on real
HTTP over loopback and the real outbox.

- The demo webhooks file names every endpoint policy/alarms.yml needs (the enterprise endpoint
  of every landed hazard source included), passes `routing.check_endpoints` as the dispatcher
  reads it, is 0600 in a 0700 folder, and keeps its secret when written again.
- Messages enqueued to a DingTalk (signed), a WeCom and a webhook endpoint of that file, sent by
  `outbox.dispatch_due` to a receiver that fails every fifth request, arrive exactly once each,
  each accepted one written to received.jsonl; time moves by `now=`, not by sleeping.
- A bad DingTalk signature (the wrong secret, none, a stale timestamp) is refused as the robot
  does (errcode 310000): the message is dead, never accepted.
- `python -m demo.receiver` serves until SIGTERM, saying where it listens and writes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import yaml

from citysafety import sources as S
from citysafety.act import endpoints, outbox, robots, routing, store
from citysafety.act.store import Notification
from demo import receiver as R
from demo.webhooks import demo_hazard_source_ids, webhooks_path, write_demo_webhooks
from operations_db import sqlite_url  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 3, 2, 0, 30, tzinfo=timezone.utc)
SOURCES = ["H-DEMO-01", "H-DEMO-02"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("CITYSAFETY_HOME", str(home))
    for name in ("CITYSAFETY_WEBHOOKS_FILE", "CITYSAFETY_OUTBOX_MAX_ATTEMPTS", "CITYSAFETY_DEMO_RECEIVER_PORT"):
        monkeypatch.delenv(name, raising=False)
    folder = home / "landing" / S.EMB_HAZARD_SOURCES.source / S.EMB_HAZARD_SOURCES.feed
    folder.mkdir(parents=True)
    header = ",".join(c.delivered for c in S.EMB_HAZARD_SOURCES.columns)
    # an older snapshot lists a source since closed: only the newest counts
    (folder / "hazard_sources_20250101.csv").write_text(
        f"{header}\nH-OLD,,旧罐区,四级,P0,gas,%LEL,20,50\n", encoding="utf-8")
    rows = [f"{h},,罐区{i},{'一二'[i]}级,P{i}{k},gas,%LEL,20,50" for i, h in enumerate(SOURCES) for k in range(2)]
    (folder / "hazard_sources_20260101.csv").write_text("\ufeff" + header + "\n" + "\n".join(rows) + "\n",
                                                        encoding="utf-8")
    return home


@pytest.fixture
def receiver(tmp_path):
    with R.Receiver(tmp_path / "received", fail_every=5) as made:
        yield made


def test_the_demo_webhooks_file_names_every_endpoint_and_is_private(home):
    assert demo_hazard_source_ids(home) == SOURCES
    path = write_demo_webhooks(home, 8586, SOURCES)
    assert path == webhooks_path(home) == home / "secrets" / "webhooks.yml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    policy = routing.load()
    loaded = endpoints.load(path)
    routing.check_endpoints(policy, loaded, SOURCES)  # what the dispatcher will need, all there
    with pytest.raises(routing.RoutingPolicyError, match="enterprise_H-OTHER"):
        routing.check_endpoints(policy, loaded, [*SOURCES, "H-OTHER"])
    wanted = {**policy.endpoint_names(), **{f"enterprise_{h}": "webhook" for h in SOURCES}}
    assert {n: e.channel for n, e in loaded.items()} == wanted
    paths = {"dingtalk": "/dingtalk", "wecom": "/wecom", "webhook": "/hook"}
    for e in loaded.values():
        assert e.url.startswith(f"http://127.0.0.1:8586{paths[e.channel]}?access_token=demo")
        assert (e.secret is not None) == (e.channel == "dingtalk")
    secrets = {e.secret for e in loaded.values() if e.secret}
    assert len(secrets) == 1 and secrets.pop().startswith("SEC")
    # written again (a restart): the same secret and token, so a running receiver still agrees
    again = write_demo_webhooks(home, 8586, SOURCES)
    assert endpoints.load(again) == loaded
    assert R.read_credentials(path) == ([loaded["street_wl"].secret],
                                        loaded["emb_duty"].url.split("access_token=")[1])
    assert path.read_text(encoding="utf-8").startswith("# 演示用 webhooks 文件")


ROUTES = [("dingtalk", "street_wl"), ("wecom", "emb_duty"), ("webhook", "enterprise_H-DEMO-01")]


def _drain(url: str, now: datetime, rounds: int = 200) -> int:
    """Dispatch until nothing waits, moving `now` to the next message due; the rounds taken."""
    for n in range(1, rounds + 1):
        outbox.dispatch_due(url, now=now, limit=25)
        due = outbox.next_due(url)
        if due is None:
            return n
        now = max(now, due)
    raise AssertionError(f"the outbox still has messages after {rounds} rounds: {outbox.counts(url)}")


def test_every_message_is_accepted_exactly_once_through_a_receiver_failing_one_in_five(home, receiver, sqlite_url):
    path = write_demo_webhooks(home, receiver.port, SOURCES)
    receiver.secrets, receiver.access_token = R.read_credentials(path)
    store.upgrade(sqlite_url)
    keys = []
    with store.session(sqlite_url) as s:
        for i in range(60):
            channel, endpoint = ROUTES[i % 3]
            keys.append(f"P{i:02d}@2026-03-02T08:30:00+08:00/notice/{endpoint}")
            outbox.enqueue(s, keys[-1], endpoint, channel, endpoint, f"【Ⅲ级（黄色）预警发布】第 {i} 条", "- 预警编号：…",
                           now=T0)
    rounds = _drain(sqlite_url, T0)
    assert rounds > 1  # the 503s were retried after their back-off
    assert receiver.answers[503] >= 60 // 5 and receiver.refused == Counter()
    assert receiver.accepted == Counter({k: 1 for k in keys}) and receiver.duplicated() == {}
    with store.session(sqlite_url) as s:
        rows = s.scalars(sa.select(Notification)).all()
    assert {n.status for n in rows} == {"sent"} and sum(n.attempts for n in rows) == receiver.requests
    lines = [json.loads(x) for x in receiver.received_file.read_text(encoding="utf-8").splitlines()]
    assert sorted(x["idempotency_key"] for x in lines) == sorted(keys)
    by_key = {x["idempotency_key"]: x for x in lines}
    assert by_key[keys[0]]["path"] == "/dingtalk" and by_key[keys[1]]["path"] == "/wecom"
    assert by_key[keys[2]]["path"] == "/hook" and all(x["times"] == 1 for x in lines)
    assert {x["title"] for x in lines} == {f"【Ⅲ级（黄色）预警发布】第 {i} 条" for i in range(60)}  # WeCom's bold taken off
    assert all(datetime.fromisoformat(x["received_at"]).tzinfo is not None for x in lines)


def test_a_bad_dingtalk_signature_is_refused(home, tmp_path, sqlite_url):
    with R.Receiver(tmp_path / "received", secret="SECthe-receivers-own") as receiver:
        path = write_demo_webhooks(home, receiver.port, SOURCES)  # its own random secret: not the receiver's
        _, receiver.access_token = R.read_credentials(path)
        store.upgrade(sqlite_url)
        with store.session(sqlite_url) as s:
            outbox.enqueue(s, "P1@x/notice/street_office", "street_wl", "dingtalk", "street_wl", "预警", "正文", now=T0)
        done = outbox.dispatch_due(sqlite_url, now=T0)
        assert (done.sent, done.dead) == (0, 1)
        with store.session(sqlite_url) as s:
            message = s.scalars(sa.select(Notification)).one()
        assert message.status == "dead" and "errcode 310000" in message.last_error
        assert receiver.accepted == Counter() and receiver.refused["signature"] == 1

        body = robots.body("dingtalk", "k", "预警", "正文")
        plain = receiver.url("/dingtalk")
        stale = robots.dingtalk_signed_url(plain, "SECthe-receivers-own", int(time.time() * 1000) - 2 * 3_600_000)
        fresh = robots.dingtalk_signed_url(plain, "SECthe-receivers-own")
        answers = [httpx.post(u, json=body, headers={"Idempotency-Key": "k"}).json() for u in (plain, stale, fresh)]
        assert [a["errcode"] for a in answers] == [310000, 310000, 0]
        wrong_token = httpx.post(fresh.replace(receiver.access_token, "nope"), json=body).json()
        assert wrong_token["errcode"] == 300001
        malformed = httpx.post(receiver.url("/hook"), json={"key": "other", "title": "t", "text": "x"},
                               headers={"Idempotency-Key": "k2"})
        assert malformed.status_code == 400
        assert receiver.accepted == Counter({"k": 1})
    assert not receiver.received_file.read_text(encoding="utf-8").count("k2")


def test_the_command_serves_until_sigterm(home, tmp_path):
    path = write_demo_webhooks(home, 8586, SOURCES)  # the port in the file does not matter here
    out = tmp_path / "cli"
    proc = subprocess.Popen([sys.executable, "-m", "demo.receiver", "--port", "0", "--out", str(out),
                             "--secret-file", str(path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = proc.stdout.readline()
        assert "演示接收端监听" in line and "校验钉钉加签" in line and str(out / "received.jsonl") in line, line
        port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))["endpoints"]["street_wl"]
        url = spec["url"].replace(":8586/", f":{port}/")
        signed = robots.dingtalk_signed_url(url, spec["secret"])
        answer = httpx.post(signed, json=robots.body("dingtalk", "k", "预警", "正文"), headers={"Idempotency-Key": "k1"})
        assert answer.json() == {"errcode": 0, "errmsg": "ok"}
        assert httpx.post(url, json=robots.body("dingtalk", "k", "预警", "正文")).json()["errcode"] == 310000
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    assert "共接收 1 条消息" in stdout
    assert [json.loads(x)["idempotency_key"] for x in (out / "received.jsonl").read_text().splitlines()] == ["k1"]


def test_the_port_setting(monkeypatch):
    monkeypatch.delenv("CITYSAFETY_DEMO_RECEIVER_PORT", raising=False)
    assert R.demo_receiver_port() == 8586
    monkeypatch.setenv("CITYSAFETY_DEMO_RECEIVER_PORT", "9001")
    assert R.demo_receiver_port() == 9001
    monkeypatch.setenv("CITYSAFETY_DEMO_RECEIVER_PORT", "http")
    with pytest.raises(ValueError, match="CITYSAFETY_DEMO_RECEIVER_PORT"):
        R.demo_receiver_port()
