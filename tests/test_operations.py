"""The operations database and the outbox (citysafety.act), on real things only.

- The migrations, up on an empty SQLite file and on a fresh PostgreSQL database
  (`citysafety_ops_<random>` on 127.0.0.1:5432, dropped after; PostgreSQL unreachable: skipped
  with the reason, failed under CI=true), build exactly the ORM's schema, and go down again.
- The state machine: 签收 → 到场 → 处置完毕 → 归档 in order only, within the actor's streets only
  (refused in Chinese), every accepted change audited with actor, scope and remote address in
  the same transaction; two users at once: the first wins.
- The outbox against a real HTTP receiver on loopback (`ThreadingHTTPServer` on 127.0.0.1, port
  0, in a thread) that answers every 5th request 503 and every 7th 429 `Retry-After: 0`, checks
  DingTalk's signature and records what it accepted: 200 messages through DingTalk (signed),
  WeCom and plain webhooks arrive exactly once each, the retries counted; a 400 or a robot's
  refusal is dead with its reason and never retried; a receiver that is down delays messages,
  delivered once it is back; a claim whose dispatcher died is sent again after its lease; two
  dispatchers at once (PostgreSQL, and SQLite) send each message once. Time moves by `now=`,
  not by sleeping.
- The webhooks file: private (0600) and outside the repository, or nothing is sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from citysafety import config
from citysafety.act import endpoints, outbox, robots, store
from citysafety.act.store import Alarm, AlarmEvent, Notification
from citysafety.config import ConfigError
from operations_db import db_url, ops, pg_url, sqlite_url  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 3, 2, 0, 30, tzinfo=timezone.utc)  # 08:30 in Hangzhou
SECRET = "SECdemo0123456789abcdef"
TOKEN = "tok3n0f7herob0t"  # the access token in the robot URLs: must never reach an error or a log
TABLES = {"alarms", "alarm_events", "notifications"}


# ------------------------------------------------------------------ databases


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path / "home"))
    for name in ("CITYSAFETY_OPERATIONS_DB_URL", "CITYSAFETY_WEBHOOKS_FILE", "CITYSAFETY_OUTBOX_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


# ------------------------------------------------------------------ migrations


def test_migrations_build_the_orm_schema_and_go_down_again(db_url):
    assert store.current_revision(db_url) is None
    assert store.upgrade(db_url) == store.head_revision() == "0002"
    assert store.upgrade(db_url) == "0002"  # again: nothing to do
    with store.engine(db_url).connect() as conn:
        inspector = sa.inspect(conn)
        assert TABLES <= set(inspector.get_table_names())
        uniques = {(t, tuple(u["column_names"])) for t in TABLES for u in inspector.get_unique_constraints(t)}
        assert uniques == {("alarms", ("alarm_key",)), ("notifications", ("idempotency_key",))}
        indexes = {i["name"] for t in TABLES for i in inspector.get_indexes(t)}
        assert indexes >= {"ix_alarms_street_code_status", "ix_alarms_status_started_at", "ix_alarm_events_alarm_id",
                           "ix_alarm_events_at", "ix_notifications_status_next_attempt_at",
                           "ix_notifications_alarm_id"}
        foreign = {(t, fk["referred_table"]) for t in TABLES for fk in inspector.get_foreign_keys(t)}
        assert foreign == {("alarm_events", "alarms"), ("notifications", "alarms")}
        # the hand-written revision and the ORM agree, column by column, index by index
        assert compare_metadata(MigrationContext.configure(conn), store.Base.metadata) == []
    with pytest.raises(sa.exc.IntegrityError, match="ck_alarms_status|CHECK constraint failed"):
        with store.session(db_url) as s:  # the database itself refuses a status that does not exist
            s.add(Alarm(alarm_key="x", point_id="P", status="办结", started_at=T0, created_at=T0, updated_at=T0))
    assert store.downgrade(db_url) is None
    with store.engine(db_url).connect() as conn:
        assert not TABLES & set(sa.inspect(conn).get_table_names())


def test_the_default_database_is_sqlite_under_home_and_the_command_upgrades_it(home):
    url = config.operations_db_url()
    assert url == f"sqlite:///{home / 'operations' / 'operations.db'}"
    assert (home / "operations").is_dir() and (home / "operations").stat().st_mode & 0o777 == 0o700
    done = subprocess.run([sys.executable, "-m", "citysafety.act.store", "upgrade"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "CITYSAFETY_HOME": str(home)}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "revision 0002" in done.stdout
    assert store.current_revision() == "0002"
    store.dispose()


@pytest.mark.parametrize("url, says", [
    ("not a url at all", "无法解析"),
    ("mysql+pymysql://u:pw@127.0.0.1/ops", "只支持 PostgreSQL 或 SQLite"),
    ("postgresql+psycopg2://u:pw@127.0.0.1/ops", "'postgresql+psycopg2' 未安装"),  # psycopg (3) is the one installed
    ("postgresql+nosuchdriver://u:pw@127.0.0.1/ops", "未安装或不存在"),
    ("postgresql+psycopg_async://u:pw@127.0.0.1/ops", "异步驱动"),
])
def test_a_broken_url_stops_with_a_clear_message(monkeypatch, url, says):
    monkeypatch.setenv("CITYSAFETY_OPERATIONS_DB_URL", url)
    with pytest.raises(ConfigError, match=re.escape(says)) as raised:
        store.engine()
    assert "pw" not in str(raised.value)  # never the password
    done = subprocess.run([sys.executable, "-m", "citysafety.act.store", "upgrade"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "CITYSAFETY_OPERATIONS_DB_URL": url}, timeout=60)
    assert done.returncode == 2 and says in done.stderr


# ------------------------------------------------------------------ the state machine and its audit


def test_the_response_in_order_within_scope_every_change_audited(ops):
    with store.session(ops) as s:
        alarm = store.record_alarm(s, point_id="P-WL-07", hazard_source_id="H-WL-1", street_code="WL",
                                   started_at=datetime(2026, 3, 2, 8, 0), now=T0)  # naive: Hangzhou time
        other = store.record_alarm(s, point_id="P-TS-01", hazard_source_id="H-TS-1", street_code="TS",
                                   started_at=T0, now=T0)
    assert alarm.alarm_key == "P-WL-07@2026-03-02T08:00:00+08:00"
    assert alarm.started_at == datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc) and alarm.status == "待签收"
    with store.session(ops) as s:  # again (a restart, the daily path): the same alarm, its end learnt
        again = store.record_alarm(s, point_id="P-WL-07", hazard_source_id="H-WL-1", street_code="WL",
                                   started_at=datetime(2026, 3, 2, 8, 0), ended_at=T0, now=T0)
        assert again.id == alarm.id and again.ended_at == T0
        assert s.scalar(sa.select(sa.func.count()).select_from(Alarm)) == 2

    def act(action, actor="wl_officer", scope=("WL",), note=None, minutes=0, alarm_id=alarm.id):
        with store.session(ops) as s:
            return store.act(s, alarm_id, action, actor=actor, scope_streets=scope, remote_addr="10.8.1.23",
                             note=note, now=T0 + timedelta(minutes=minutes))

    with pytest.raises(store.OutOfOrder, match="当前状态为“待签收”，不能“到场”，下一步应为“签收”"):
        act("到场")
    with pytest.raises(store.UnknownAction, match="无法执行“关闭”：告警只能依次签收、到场、处置完毕、归档"):
        act("关闭")
    with pytest.raises(store.OutOfScope, match=f"ts_officer 无权处理告警 {alarm.id}：该告警属于街道 WL，不在其职责范围（TS）内"):
        act("签收", actor="ts_officer", scope=("TS",))
    with pytest.raises(store.OutOfScope, match="不在其职责范围（无）内"):
        act("签收", actor="nobody", scope=())
    with pytest.raises(store.UnknownAlarm, match="告警 999999 不存在"):
        act("签收", alarm_id=999999)

    assert act("签收", minutes=3).status == "已签收"
    assert act("到场", minutes=20).status == "已到场"
    with pytest.raises(store.ActionRefused, match="处置完毕须填写处置情况"):
        act("处置完毕", minutes=40)
    handled = act("处置完毕", note="关闭进料阀，浓度回落至阈值以下", minutes=41)
    with pytest.raises(store.OutOfOrder, match="不能“签收”"):
        act("签收")
    archived = act("归档", actor="district_leader", scope=None, minutes=60)  # the leader: the whole district
    with pytest.raises(store.OutOfOrder, match="已归档的告警不能再处理"):
        act("归档", actor="district_leader", scope=None)

    assert handled.handling_note == "关闭进料阀，浓度回落至阈值以下"
    assert (archived.acknowledged_at, archived.arrived_at, archived.handled_at, archived.archived_at) == tuple(
        T0 + timedelta(minutes=m) for m in (3, 20, 41, 60))
    with store.session(ops) as s:
        trail = [(e.action, e.from_status, e.to_status, e.actor, e.actor_scope, e.remote_addr, e.note, e.at)
                 for e in store.history(s, alarm.id)]
        assert s.scalar(sa.select(sa.func.count()).select_from(AlarmEvent)) == 4  # refusals wrote nothing
    assert trail == [
        ("签收", "待签收", "已签收", "wl_officer", "WL", "10.8.1.23", None, T0 + timedelta(minutes=3)),
        ("到场", "已签收", "已到场", "wl_officer", "WL", "10.8.1.23", None, T0 + timedelta(minutes=20)),
        ("处置完毕", "已到场", "已处置", "wl_officer", "WL", "10.8.1.23", "关闭进料阀，浓度回落至阈值以下",
         T0 + timedelta(minutes=41)),
        ("归档", "已处置", "已归档", "district_leader", "全区", "10.8.1.23", None, T0 + timedelta(minutes=60)),
    ]

    # open alarms with their age, by scope; the archived one is closed
    with store.session(ops) as s:
        leader = store.open_alarms(s, None, now=T0 + timedelta(minutes=90))
        assert [(a.id, a.street_code, a.status, a.age_minutes) for a in leader] == [(other.id, "TS", "待签收", 90.0)]
        assert store.open_alarms(s, ["WL"], now=T0) == [] and len(store.open_alarms(s, ["TS", "CH"], now=T0)) == 1

    # two users at once: the second, who read the alarm before the first committed, is refused
    with store.session(ops) as first_reader:
        first_reader.get(Alarm, other.id)  # read while still 待签收
        act("签收", actor="ts_a", scope=("TS",), alarm_id=other.id)
        with pytest.raises(store.OutOfOrder, match="当前状态为“已签收”"):
            store.act(first_reader, other.id, "签收", actor="ts_b", scope_streets=["TS"], now=T0)
    with store.session(ops) as s:
        assert [e.actor for e in store.history(s, other.id)] == ["ts_a"]


def test_a_change_and_its_audit_commit_together_or_not_at_all(ops):
    with store.session(ops) as s:
        alarm_id = store.record_alarm(s, point_id="P1", street_code="CH", started_at=T0, now=T0).id
    with pytest.raises(RuntimeError):
        with store.session(ops) as s:
            store.act(s, alarm_id, "签收", actor="ch", scope_streets=["CH"], now=T0)
            outbox.enqueue(s, "ack-P1", "district duty", "webhook", "grid", "已签收", "…", alarm_id=alarm_id, now=T0)
            raise RuntimeError("the request failed after the change")
    with store.session(ops) as s:
        assert s.get(Alarm, alarm_id).status == "待签收" and store.history(s, alarm_id) == []
        assert s.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


# ------------------------------------------------------------------ robots and the webhooks file


def test_robot_payloads_and_the_dingtalk_signature():
    assert robots.body("dingtalk", "k", "一级预警", "正文") == {
        "msgtype": "markdown", "markdown": {"title": "一级预警", "text": "#### 一级预警\n\n正文"}}
    assert robots.body("wecom", "k", "一级预警", "正文") == {"msgtype": "markdown", "markdown": {"content": "**一级预警**\n正文"}}
    assert robots.body("webhook", "k", "t", "x") == {"key": "k", "title": "t", "text": "x"}
    long = robots.body("wecom", "k", "t", "氨" * 5000)["markdown"]["content"]
    assert len(long.encode("utf-8")) <= 4096 and long.endswith("已截断）")
    # DingTalk's documented recipe, computed here independently
    stamp = 1767225600000
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest())
    signed = robots.dingtalk_signed_url(f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}", SECRET, stamp)
    query = parse_qs(urlsplit(signed).query)
    assert query == {"access_token": [TOKEN], "timestamp": [str(stamp)], "sign": [expected.decode()]}
    assert "%2B" in signed or "+" not in expected.decode()  # URL-encoded
    assert robots.robot_error("dingtalk", '{"errcode":0,"errmsg":"ok"}') is None
    throttled = robots.robot_error("dingtalk", '{"errcode":130101,"errmsg":"send too fast"}')
    assert throttled.retryable and throttled.retry_after == 60
    assert robots.robot_error("dingtalk", '{"errcode":-1,"errmsg":"系统繁忙"}').retry_after is None
    assert not robots.robot_error("dingtalk", '{"errcode":310000,"errmsg":"sign not match"}').retryable
    assert robots.robot_error("wecom", '{"errcode":45009,"errmsg":"api freq out of limit"}').retryable
    assert robots.robot_error("webhook", '{"errcode":1}') is None


def write_webhooks(path: Path, spec: dict, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"endpoints": spec}), encoding="utf-8")
    os.chmod(path, mode)
    return path


def test_the_webhooks_file_must_be_private_and_outside_the_repository(tmp_path, home, monkeypatch, sqlite_url):
    spec = {"wl": {"channel": "dingtalk", "url": f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}",
                   "secret": SECRET}}
    with pytest.raises(ConfigError, match="不存在"):
        endpoints.load()  # nothing configured: no default file either
    shared = write_webhooks(tmp_path / "etc" / "webhooks.json", spec, mode=0o644)
    with pytest.raises(ConfigError, match="权限为 0644.*chmod 600"):
        endpoints.load(shared)
    link = tmp_path / "etc" / "in_repo.yml"
    link.symlink_to(ROOT / "pyproject.toml")  # resolves into the repository
    with pytest.raises(ConfigError, match="在代码仓库内"):
        endpoints.load(link)
    os.chmod(shared, 0o600)
    loaded = endpoints.load(shared)
    assert loaded["wl"].channel == "dingtalk" and TOKEN not in repr(loaded) and SECRET not in repr(loaded)
    default = write_webhooks(config.settings().secrets_dir / "webhooks.yml", spec)  # the default place
    assert endpoints.load() == loaded and config.webhooks_file() == default
    for broken, says in [({"x": {"channel": "sms", "url": "https://a"}}, "channel 须为"),
                         ({"x": {"channel": "webhook", "url": "ftp://a"}}, "url 须为"),
                         ({"x": {"channel": "wecom", "url": "https://a", "secret": "s"}}, "只有钉钉"),
                         ({"x": {"channel": "webhook", "url": "https://a", "token": "t"}}, "未知字段")]:
        with pytest.raises(ConfigError, match=says):
            endpoints.load(write_webhooks(tmp_path / "etc" / "broken.json", broken))

    # a broken file stops the dispatcher before it claims anything: the message waits
    store.upgrade(sqlite_url)
    with store.session(sqlite_url) as s:
        outbox.enqueue(s, "m1", "wl", "dingtalk", "wl", "t", "x", now=T0)
    os.chmod(default, 0o640)
    with pytest.raises(ConfigError, match="权限为 0640"):
        outbox.dispatch_due(sqlite_url, now=T0)
    with store.session(sqlite_url) as s:
        message = s.scalars(sa.select(Notification)).one()
        assert (message.status, message.attempts, message.claimed_until) == ("pending", 0, None)


def test_enqueue_is_idempotent_on_its_key(ops):
    with store.session(ops) as s:
        alarm_id = store.record_alarm(s, point_id="P1", street_code="WL", started_at=T0, now=T0).id
        assert outbox.enqueue(s, "P1@start/wl", "武林街道", "dingtalk", "wl", "预警", "正文", alarm_id=alarm_id, now=T0)
    with store.session(ops) as s:
        assert not outbox.enqueue(s, "P1@start/wl", "武林街道", "dingtalk", "wl", "预警（重发）", "正文", now=T0)
        assert outbox.enqueue(s, "P1@start/emb", "应急局值班", "wecom", "emb", "预警", "正文", now=T0)
        with pytest.raises(ValueError, match="unknown channel"):
            outbox.enqueue(s, "k", "r", "sms", "e", "t", "x")
    with store.session(ops) as s:
        rows = s.scalars(sa.select(Notification).order_by(Notification.id)).all()
    assert [(n.idempotency_key, n.alarm_id, n.status, n.attempts, n.next_attempt_at) for n in rows] == [
        ("P1@start/wl", alarm_id, "pending", 0, T0), ("P1@start/emb", None, "pending", 0, T0)]
    assert rows[0].payload["markdown"]["title"] == "预警"  # the first one kept


# ------------------------------------------------------------------ a real receiver on loopback


class Receiver:
    """Robots and a webhook on 127.0.0.1 (one thread per request). The paths /dingtalk, /wecom and
    /hook share one request count: every `fail_every`-th answers 503, every `throttle_every`-th
    429 with `Retry-After: 0`; the rest are checked (DingTalk's signature and timestamp, the
    payload's form, the Idempotency-Key) and accepted. /reject answers 400, /slow sleeps."""

    def __init__(self, fail_every: int = 5, throttle_every: int = 7, delay: float = 0.0):
        self.fail_every, self.throttle_every, self.delay = fail_every, throttle_every, delay
        self.lock = threading.Lock()
        self.requests = 0
        self.answers: Counter = Counter()  # status code -> n
        self.accepted: Counter = Counter()  # idempotency key -> times accepted
        self.seen: Counter = Counter()  # path -> requests
        self.refused_signatures = 0
        self.port = 0
        self.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}?access_token={TOKEN}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.answer(self, urlsplit(self.path), json.loads(body), self.headers.get("Idempotency-Key"))

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler, where, payload, key) -> None:
        path, query = where.path, parse_qs(where.query)
        with self.lock:
            self.seen[path] += 1
        if self.delay:
            time.sleep(self.delay)
        if path == "/reject":
            return self.reply(handler, 400, {"error": "bad payload: missing field recipient"})
        if path == "/slow":
            time.sleep(1.0)
            return self.reply(handler, 200, {})
        with self.lock:
            self.requests += 1
            n = self.requests
        if self.fail_every and n % self.fail_every == 0:
            return self.reply(handler, 503, {"error": "busy"})
        if self.throttle_every and n % self.throttle_every == 0:
            return self.reply(handler, 429, {"error": "slow down"}, {"Retry-After": "0"})
        assert query.get("access_token") == [TOKEN]
        if path == "/dingtalk":
            stamp, sign = query["timestamp"][0], query["sign"][0]
            good = base64.b64encode(hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest())
            if not hmac.compare_digest(sign.encode(), good) or abs(time.time() * 1000 - int(stamp)) > 3_600_000:
                with self.lock:
                    self.refused_signatures += 1
                return self.reply(handler, 200, {"errcode": 310000, "errmsg": "sign not match"})
            assert payload["msgtype"] == "markdown" and set(payload["markdown"]) == {"title", "text"}
        elif path == "/wecom":
            assert payload["msgtype"] == "markdown" and set(payload["markdown"]) == {"content"}
        else:
            assert payload["key"] == key
        with self.lock:
            self.accepted[key] += 1
        return self.reply(handler, 200, {"errcode": 0, "errmsg": "ok"})

    def reply(self, handler, code: int, body: dict, headers: dict | None = None) -> None:
        with self.lock:
            self.answers[code] += 1
        data = json.dumps(body).encode()
        handler.send_response(code)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        try:
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout case)


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.stop()


@pytest.fixture
def hooks(tmp_path, monkeypatch, receiver):
    """The webhooks file naming the receiver's paths (0600, outside the repository)."""
    path = write_webhooks(tmp_path / "private" / "webhooks.yml", {
        "wl_dingtalk": {"channel": "dingtalk", "url": receiver.url("/dingtalk"), "secret": SECRET},
        "emb_wecom": {"channel": "wecom", "url": receiver.url("/wecom")},
        "grid_hook": {"channel": "webhook", "url": receiver.url("/hook")},
        "rejecting": {"channel": "webhook", "url": receiver.url("/reject")},
        "slow": {"channel": "webhook", "url": receiver.url("/slow")},
        "wrong_secret": {"channel": "dingtalk", "url": receiver.url("/dingtalk"), "secret": "SECnot-the-one"},
    })
    monkeypatch.setenv("CITYSAFETY_WEBHOOKS_FILE", str(path))
    return path


ROUTES = [("dingtalk", "wl_dingtalk"), ("wecom", "emb_wecom"), ("webhook", "grid_hook")]


def enqueue_many(url: str, n: int, now: datetime | None = T0) -> list[str]:
    keys = []
    with store.session(url) as s:
        for i in range(n):
            channel, endpoint = ROUTES[i % len(ROUTES)]
            key = f"alarm-{i:04d}/{endpoint}"
            outbox.enqueue(s, key, endpoint, channel, endpoint, f"二级（橙色）预警 {i}", "可燃气体浓度超过高报阈值",
                           now=now)
            keys.append(key)
    return keys


def drain(url: str, now: datetime, limit: int = 64, rounds: int = 200) -> tuple[datetime, list[outbox.Dispatched]]:
    """Dispatch until nothing waits, moving `now` to each next due time instead of sleeping."""
    done = []
    for _ in range(rounds):
        due = outbox.next_due(url)
        if due is None:
            return now, done
        now = max(now, due)
        done.append(outbox.dispatch_due(url, now=now, limit=limit, timeout=2.0))
    raise AssertionError("the outbox did not drain")


def notifications(url: str) -> list[Notification]:
    with store.session(url) as s:
        return list(s.scalars(sa.select(Notification).order_by(Notification.id)))


def test_every_message_arrives_exactly_once_through_503s_and_429s(sqlite_url, receiver, hooks):
    store.upgrade(sqlite_url)
    keys = enqueue_many(sqlite_url, 200)
    started = time.monotonic()
    _, rounds = drain(sqlite_url, T0)
    elapsed = time.monotonic() - started

    assert receiver.accepted == Counter({k: 1 for k in keys})  # 0 lost, 0 duplicated
    assert receiver.refused_signatures == 0
    assert receiver.answers[503] > 0 and receiver.answers[429] > 0
    rows = notifications(sqlite_url)
    assert {(n.status, n.last_status_code) for n in rows} == {("sent", 200)}
    retries = sum(n.attempts for n in rows) - len(rows)
    assert retries == receiver.answers[503] + receiver.answers[429] == sum(r.retried for r in rounds)
    assert sum(r.sent for r in rounds) == 200 and all(n.sent_at >= T0 for n in rows)
    assert outbox.counts(sqlite_url) == {"sent": 200}
    print(f"\n200 messages: {receiver.requests} requests, {retries} retries "
          f"({receiver.answers[503]} x 503, {receiver.answers[429]} x 429), {len(rounds)} rounds, {elapsed:.2f} s")


def test_a_refusal_is_dead_with_its_reason_and_never_retried(sqlite_url, receiver, hooks):
    store.upgrade(sqlite_url)
    receiver.fail_every = receiver.throttle_every = 0
    with store.session(sqlite_url) as s:
        outbox.enqueue(s, "rejected", "grid", "webhook", "rejecting", "t", "x", now=T0)
        outbox.enqueue(s, "unsigned", "wl", "dingtalk", "wrong_secret", "t", "x", now=T0)
        outbox.enqueue(s, "nowhere", "wl", "dingtalk", "no_such_endpoint", "t", "x", now=T0)
        outbox.enqueue(s, "mismatch", "wl", "wecom", "wl_dingtalk", "t", "x", now=T0)
    result = outbox.dispatch_due(sqlite_url, now=T0)
    assert (result.claimed, result.dead, result.sent, result.retried) == (4, 4, 0, 0)
    for later in (timedelta(minutes=1), timedelta(days=2)):
        assert outbox.dispatch_due(sqlite_url, now=T0 + later).claimed == 0
    dead = {n.idempotency_key: (n.status, n.attempts, n.last_status_code, n.last_error)
            for n in notifications(sqlite_url)}
    assert dead["rejected"][:3] == ("dead", 1, 400) and "HTTP 400" in dead["rejected"][3]
    assert "missing field recipient" in dead["rejected"][3]
    assert dead["unsigned"][:3] == ("dead", 1, 200) and "errcode 310000: sign not match" in dead["unsigned"][3]
    assert dead["nowhere"][:3] == ("dead", 1, None) and "'no_such_endpoint' 不在 webhooks 文件中" in dead["nowhere"][3]
    assert dead["mismatch"][0] == "dead" and "dingtalk，消息是 wecom" in dead["mismatch"][3]
    assert receiver.seen == Counter({"/reject": 1, "/dingtalk": 1})  # once each, nothing sent elsewhere
    assert receiver.accepted == Counter()


def test_a_receiver_that_is_down_delays_messages_which_arrive_once_it_is_back(sqlite_url, receiver, hooks):
    store.upgrade(sqlite_url)
    keys = enqueue_many(sqlite_url, 30)
    receiver.stop()
    first = outbox.dispatch_due(sqlite_url, now=T0)
    assert (first.claimed, first.retried, first.sent) == (30, 30, 0)
    rows = notifications(sqlite_url)
    assert {(n.status, n.attempts) for n in rows} == {("pending", 1)}
    assert all("连接失败" in n.last_error and TOKEN not in n.last_error for n in rows)
    assert all(T0 + timedelta(seconds=1) <= n.next_attempt_at <= T0 + timedelta(seconds=3) for n in rows)
    assert outbox.dispatch_due(sqlite_url, now=T0).claimed == 0  # not due again at once
    assert outbox.dispatch_due(sqlite_url, now=T0 + timedelta(seconds=5)).retried == 30  # still down
    receiver.start()  # back, on the same port
    drain(sqlite_url, T0 + timedelta(seconds=5))
    assert receiver.accepted == Counter({k: 1 for k in keys})
    assert {n.status for n in notifications(sqlite_url)} == {"sent"}


def test_timeouts_retry_and_retries_end(sqlite_url, receiver, hooks, monkeypatch):
    store.upgrade(sqlite_url)
    monkeypatch.setenv("CITYSAFETY_OUTBOX_MAX_ATTEMPTS", "3")
    receiver.fail_every, receiver.throttle_every = 1, 0  # every request 503
    with store.session(sqlite_url) as s:
        outbox.enqueue(s, "slow", "grid", "webhook", "slow", "t", "x", now=T0)
        outbox.enqueue(s, "failing", "grid", "webhook", "grid_hook", "t", "x", now=T0)
    result = outbox.dispatch_due(sqlite_url, now=T0, timeout=0.3)
    assert (result.claimed, result.retried) == (2, 2)
    slow = notifications(sqlite_url)[0]
    assert slow.status == "pending" and "超时" in slow.last_error and slow.last_status_code is None
    now, _ = drain(sqlite_url, T0)
    rows = {n.idempotency_key: n for n in notifications(sqlite_url)}
    assert rows["failing"].status == "dead" and rows["failing"].attempts == 3
    assert "3 次尝试均未送达" in rows["failing"].last_error and "HTTP 503" in rows["failing"].last_error
    assert outbox.dispatch_due(sqlite_url, now=now + timedelta(days=1)).claimed == 0
    assert receiver.seen["/hook"] == 3


def test_claims_the_lease_may_not_cover_are_released_untried(sqlite_url, receiver, hooks, monkeypatch):
    store.upgrade(sqlite_url)
    receiver.fail_every = receiver.throttle_every = 0
    monkeypatch.setattr(outbox, "lease_seconds", lambda timeout: 5 * timeout + 5 + 0.1)  # 0.1 s to send in
    with store.session(sqlite_url) as s:
        outbox.enqueue(s, "first", "grid", "webhook", "slow", "t", "x", now=T0)
        outbox.enqueue(s, "second", "grid", "webhook", "grid_hook", "t", "x", now=T0)
    result = outbox.dispatch_due(sqlite_url, now=T0, timeout=0.3)
    assert (result.claimed, result.retried, result.released) == (2, 1, 1)
    second = notifications(sqlite_url)[1]
    assert (second.status, second.attempts, second.claimed_until, second.claimed_by) == ("pending", 0, None, None)
    assert outbox.dispatch_due(sqlite_url, now=T0).sent == 1 and receiver.accepted == Counter({"second": 1})


def test_a_claim_whose_dispatcher_died_is_sent_after_its_lease(sqlite_url, receiver, hooks):
    store.upgrade(sqlite_url)
    receiver.fail_every = receiver.throttle_every = 0
    (key,) = enqueue_many(sqlite_url, 1)
    assert len(outbox._claim(sqlite_url, T0, "a-dispatcher-that-dies", 10)) == 1  # claimed, never sent
    assert outbox.dispatch_due(sqlite_url, now=T0 + timedelta(seconds=60)).claimed == 0  # leased
    assert outbox.dispatch_due(sqlite_url, now=T0 + timedelta(seconds=outbox.LEASE)).sent == 1
    (row,) = notifications(sqlite_url)
    assert (row.status, row.attempts, row.claimed_by) == ("sent", 2, None)
    assert receiver.accepted == Counter({key: 1})


def test_two_dispatchers_at_once_send_each_message_once(db_url, receiver, hooks):
    """On PostgreSQL (SELECT … FOR UPDATE SKIP LOCKED and the lease), and on SQLite too (the
    claiming UPDATE re-checks the lease under the single write lock), though the demo runs one."""
    receiver.fail_every, receiver.throttle_every, receiver.delay = 0, 5, 0.002  # 429 Retry-After: 0 every 5th
    store.upgrade(db_url)
    keys = enqueue_many(db_url, 200, now=None)
    statements = []
    sa.event.listen(store.engine(db_url), "before_cursor_execute",
                    lambda conn, cursor, statement, *args: statements.append(statement))
    barrier, results, errors = threading.Barrier(2), {}, []

    def dispatcher(name):
        try:
            barrier.wait()
            mine = outbox.Dispatched()
            while outbox.next_due(db_url) is not None:
                done = outbox.dispatch_due(db_url, limit=5)  # the real clock: Retry-After 0 is due at once
                mine.sent, mine.retried = mine.sent + done.sent, mine.retried + done.retried
                if not done.claimed:
                    time.sleep(0.005)
            results[name] = mine
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=dispatcher, args=(name,), daemon=True) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert receiver.accepted == Counter({k: 1 for k in keys})  # each once, though two sent at once
    assert results["a"].sent > 0 and results["b"].sent > 0 and results["a"].sent + results["b"].sent == 200
    assert receiver.answers[429] == results["a"].retried + results["b"].retried > 0
    assert outbox.counts(db_url) == {"sent": 200}
    if db_url.startswith("postgresql"):
        assert any("FOR UPDATE SKIP LOCKED" in s for s in statements)
