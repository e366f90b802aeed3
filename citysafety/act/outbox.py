"""The notification outbox: messages are written in the same transaction as what they announce,
then sent to webhooks, with retries, back-off and an idempotency key; never lost, never doubled.

`enqueue(session, key, ...)` adds one message to the `notifications` table in the caller's
transaction (an alarm and its notices commit together, or neither does). The key is the
message's identity: enqueuing it again (a restart, a re-run) keeps the one message.

`dispatch_due()` sends what is due:

1. it reads the webhooks file first (`citysafety.act.endpoints`): a file that is missing, not
   private or malformed stops it (`ConfigError`) before anything is claimed;
2. it claims up to `limit` due messages in one short transaction: on PostgreSQL
   `SELECT … FOR UPDATE SKIP LOCKED`, then marks them `sending` with a lease (`claimed_until`,
   `claimed_by`) and counts the try in `attempts`. Two dispatchers never claim the same message:
   the second skips the rows the first has locked, and sees the lease once the first commits.
   On SQLite the claiming UPDATE re-checks the lease under the database's single write lock (one
   dispatcher at a time is what the demo runs, and more would still be safe);
3. it sends each claimed message (httpx, timeout `timeout` seconds, header `Idempotency-Key`
   (`idempotency_header`: percent-encoded when the key is not ASCII),
   no redirect followed), outside any transaction, and records the outcome, guarded by its
   claim:
   - 2xx (and, for the robots, errcode 0) → `sent`, with `sent_at` and the status code;
   - 429, 5xx, a robot's "busy"/rate-limit errcode, a connection error or a timeout → back to
     `pending`, due again after `Retry-After` when the receiver says (seconds or an HTTP date,
     at most an hour; a robot's rate limit: a minute), else an exponential back-off with jitter
     (2 s doubling, at most 10 min, times a random factor in [0.5, 1]);
   - any other answer (3xx, 4xx, a robot's refusal such as a bad signature), an endpoint name not
     in the webhooks file or of another channel → `dead`, with the reason in `last_error`,
     never retried, never sent elsewhere;
   - after `config.outbox_max_attempts()` tries (default 12) a retryable failure is `dead` too.
   A claim it will not reach before its lease ends (a slow receiver) is released untried.

A dispatcher that dies while sending leaves its claims `sending`; they are due again when the
lease ends (the try counted). A receiver that accepted a message whose answer was lost (a
timeout after it took it) gets it again: that is the one way a message can arrive twice, and the
`Idempotency-Key` header (the message's key) lets a receiver of our own drop the repeat (the
DingTalk and WeCom robots do not read it: there a repeat is possible only in that case).
"""

from __future__ import annotations

import json
import logging
import random
import ssl
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from citysafety import config
from citysafety.act import endpoints as E
from citysafety.act import robots
from citysafety.act.store import Notification, engine, insert, instant, session, utcnow
from citysafety.land.http_api import retry_after_seconds

log = logging.getLogger(__name__)

TIMEOUT = 5.0  # seconds, each of connect / write / read
LEASE = 120.0  # seconds a claim lasts; a dispatcher stops sending its batch well before
BACKOFF_BASE, BACKOFF_CAP = 2.0, 600.0  # seconds
RETRY_AFTER_CAP = 3600.0
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "citysafety-outbox/1"
DUE_STATUSES = ("pending", "sending")


def enqueue(s: Session, key: str, recipient: str, channel: str, endpoint: str, title: str, text: str,
            alarm_id: int | None = None, now: datetime | None = None) -> bool:
    """Add a message to the outbox in the session's transaction; False when `key` is there already
    (the message already enqueued is kept as it is)."""
    if not isinstance(key, str) or not key.strip() or len(key) > 200:
        raise ValueError("a notification needs a key of 1 to 200 characters")
    if channel not in robots.CHANNELS:
        raise ValueError(f"unknown channel {channel!r} (one of {', '.join(robots.CHANNELS)})")
    if not endpoint:
        raise ValueError("a notification needs the name of its endpoint")
    now = instant(now) or utcnow()
    done = s.execute(insert(s, Notification).values(
        idempotency_key=key, alarm_id=alarm_id, recipient=recipient, channel=channel, endpoint=endpoint,
        payload=robots.body(channel, key, title, text), status="pending", attempts=0, next_attempt_at=now,
        created_at=now,
    ).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(Notification.id))
    return done.scalar_one_or_none() is not None


@dataclass
class Dispatched:
    """What one `dispatch_due` did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0


@dataclass(frozen=True)
class _Claim:
    id: int
    key: str
    channel: str
    endpoint: str
    payload: dict
    attempts: int


@dataclass(frozen=True)
class _Outcome:
    status: str  # sent | retry | dead
    code: int | None = None
    reason: str | None = None
    retry_after: float | None = None


def _due(now: datetime):
    return sa.and_(Notification.status.in_(DUE_STATUSES), Notification.next_attempt_at <= now,
                   sa.or_(Notification.claimed_until.is_(None), Notification.claimed_until <= now))


def dispatch_due(url: str | None = None, now: datetime | None = None, limit: int = 50,
                 timeout: float = TIMEOUT) -> Dispatched:
    """Send the messages due at `now` (default: the clock), at most `limit` of them."""
    endpoints = E.load()
    start, clock = instant(now) or utcnow(), time.monotonic()

    def at() -> datetime:  # `now` moved on by the time this dispatch has taken
        return start + timedelta(seconds=time.monotonic() - clock)

    token = uuid.uuid4().hex
    claims = _claim(url, start, token, limit, lease_seconds(timeout))
    result = Dispatched(claimed=len(claims))
    if not claims:
        return result
    max_attempts = config.outbox_max_attempts()
    budget = lease_seconds(timeout) - 5 * timeout - 5  # never start a request the lease may not outlast
    with httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT},
                      verify=_tls()) as client:
        for claim in claims:
            if time.monotonic() - clock > budget:
                _release(url, claim, token)
                result.released += 1
                continue
            outcome = _attempt(client, claim, endpoints.get(claim.endpoint), timeout, max_attempts)
            if outcome.status == "retry" and claim.attempts >= max_attempts:
                outcome = _Outcome("dead", outcome.code, f"{claim.attempts} 次尝试均未送达，放弃"
                                   f" (gave up after {claim.attempts} tries); last: {outcome.reason}")
            _record(url, claim, token, outcome, at())
            counter = {"sent": "sent", "retry": "retried", "dead": "dead"}[outcome.status]
            setattr(result, counter, getattr(result, counter) + 1)
    log.info("outbox: %d claimed, %d sent, %d to retry, %d dead, %d released", result.claimed, result.sent,
             result.retried, result.dead, result.released)
    return result


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    """httpx's TLS context (certifi's roots), made once per process: loading the roots takes
    ~30 ms, longer than sending a message."""
    return httpx.create_ssl_context()


def lease_seconds(timeout: float) -> float:
    """How long a claim lasts: LEASE, longer with a long timeout (one request may take up to about
    five timeouts: connect, write, the answer read to its deadline)."""
    return max(LEASE, 10 * timeout + 10)


def _claim(url: str | None, now: datetime, token: str, limit: int, lease: float = LEASE) -> list[_Claim]:
    with session(url) as s:
        ids = list(s.scalars(sa.select(Notification.id).where(_due(now))
                             .order_by(Notification.next_attempt_at, Notification.id)
                             .limit(limit).with_for_update(skip_locked=True)))
        if not ids:
            return []
        rows = s.execute(
            sa.update(Notification).where(Notification.id.in_(ids), _due(now))
            .values(status="sending", claimed_until=now + timedelta(seconds=lease), claimed_by=token,
                    attempts=Notification.attempts + 1)
            .returning(Notification.id, Notification.idempotency_key, Notification.channel,
                       Notification.endpoint, Notification.payload, Notification.attempts)
            .execution_options(synchronize_session=False)).all()
    return sorted((_Claim(*row) for row in rows), key=lambda c: ids.index(c.id))


def _attempt(client: httpx.Client, claim: _Claim, endpoint: E.Endpoint | None, timeout: float,
             max_attempts: int) -> _Outcome:
    if claim.attempts > max_attempts:  # tried already by a dispatcher that died sending it
        return _Outcome("dead", None, f"{max_attempts} 次尝试后不再发送 (gave up after {max_attempts} tries)")
    if endpoint is None:
        return _Outcome("dead", None, f"接收端 {claim.endpoint!r} 不在 webhooks 文件中，未发送"
                                      f" (endpoint {claim.endpoint!r} is not in the webhooks file; nothing sent)")
    if endpoint.channel != claim.channel:
        return _Outcome("dead", None, f"接收端 {endpoint.name!r} 是 {endpoint.channel}，消息是 {claim.channel}，未发送"
                                      f" (endpoint channel {endpoint.channel} != message channel {claim.channel})")
    target = endpoint.url
    if endpoint.channel == "dingtalk" and endpoint.secret:
        target = robots.dingtalk_signed_url(endpoint.url, endpoint.secret)
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": idempotency_header(claim.key)}
    data = json.dumps(claim.payload, ensure_ascii=False).encode("utf-8")
    deadline = time.monotonic() + 3 * timeout
    try:
        with client.stream("POST", target, content=data, headers=headers) as response:
            answer = bytearray()
            for chunk in response.iter_bytes():
                answer += chunk
                if len(answer) >= MAX_ANSWER_BYTES or time.monotonic() > deadline:
                    break
    except httpx.TimeoutException as exc:
        return _Outcome("retry", None, endpoint.scrub(f"超时 (timeout: {type(exc).__name__} {exc})")[:500])
    except httpx.TransportError as exc:
        return _Outcome("retry", None, endpoint.scrub(f"连接失败 (connection error: {type(exc).__name__} {exc})")[:500])
    code, text = response.status_code, bytes(answer).decode("utf-8", errors="replace")
    snippet = endpoint.scrub(" ".join(text.split()))[:300]
    if 200 <= code < 300:
        refused = robots.robot_error(claim.channel, text)
        if refused is None:
            return _Outcome("sent", code)
        return _Outcome("retry" if refused.retryable else "dead", code, f"robot {refused}"[:500], refused.retry_after)
    if code == 429 or code >= 500:
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        return _Outcome("retry", code, f"HTTP {code}: {snippet}", wait)
    return _Outcome("dead", code, f"HTTP {code}: {snippet}")


def idempotency_header(key: str) -> str:
    """The `Idempotency-Key` header of a message: its key, percent-encoded (UTF-8) where it is not
    plain ASCII (a grade Ⅰ in a change's key, a point named in Chinese): HTTP headers are ASCII.
    ASCII keys go as they are; a receiver reads the key back with `urllib.parse.unquote`."""
    return key if key.isascii() else urllib.parse.quote(key, safe="@:/+-._~=")


def backoff_seconds(attempts: int) -> float:
    """Wait after the `attempts`-th failed try: 2 s doubling, at most 10 min, times [0.5, 1]."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.0)


def _record(url: str | None, claim: _Claim, token: str, outcome: _Outcome, now: datetime) -> None:
    values: dict = {"claimed_until": None, "claimed_by": None, "last_status_code": outcome.code}
    if outcome.status == "sent":
        values.update(status="sent", sent_at=now, last_error=None)
    elif outcome.status == "retry":
        wait = (min(outcome.retry_after, RETRY_AFTER_CAP) if outcome.retry_after is not None
                else backoff_seconds(claim.attempts))
        values.update(status="pending", next_attempt_at=now + timedelta(seconds=wait), last_error=outcome.reason)
    else:
        values.update(status="dead", last_error=outcome.reason)
        log.warning("outbox: message %s to %s is dead: %s", claim.key, claim.endpoint, outcome.reason)
    with session(url) as s:
        done = s.execute(sa.update(Notification)
                         .where(Notification.id == claim.id, Notification.claimed_by == token,
                                Notification.status == "sending")
                         .values(**values).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        log.warning("outbox: the claim on message %s ended before its outcome (%s) was recorded",
                    claim.key, outcome.status)


def _release(url: str | None, claim: _Claim, token: str) -> None:
    with session(url) as s:
        s.execute(sa.update(Notification)
                  .where(Notification.id == claim.id, Notification.claimed_by == token,
                         Notification.status == "sending")
                  .values(status="pending", claimed_until=None, claimed_by=None,
                          attempts=Notification.attempts - 1)
                  .execution_options(synchronize_session=False))


def counts(url: str | None = None) -> dict[str, int]:
    """Messages by status."""
    with engine(url).connect() as conn:
        rows = conn.execute(sa.select(Notification.status, sa.func.count()).group_by(Notification.status))
        return {status: n for status, n in rows}


def next_due(url: str | None = None) -> datetime | None:
    """When the next message not sent or dead is due (None: nothing waits)."""
    with session(url) as s:
        return s.scalar(sa.select(sa.func.min(Notification.next_attempt_at))
                        .where(Notification.status.in_(DUE_STATUSES)))
