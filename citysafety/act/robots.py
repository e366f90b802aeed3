"""What the chat robots Chinese offices use take and answer: the payloads, DingTalk's signature,
reading an answer.

- `dingtalk`: a DingTalk group's custom robot (自定义机器人), `POST {url}` with
  `{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}`. A robot with 加签 (a
  secret) also wants `timestamp` (milliseconds) and `sign` in the query: the base64 of
  HMAC-SHA256(key=secret, message=f"{timestamp}\\n{secret}"), URL-encoded; it refuses a timestamp
  more than an hour from its clock.
- `wecom`: a WeCom (企业微信) group robot, `{"msgtype": "markdown", "markdown": {"content": ...}}`
  (the content at most 4,096 bytes of UTF-8: longer is cut, with a mark).
- `webhook`: any receiver of our own JSON, `{"key": ..., "title": ..., "text": ...}`.

Both robots answer HTTP 200 with `{"errcode": 0, "errmsg": "ok"}`, and report a refusal the
same way with another errcode (a bad signature, a keyword missing, a rate limit): `robot_error`
reads it, so that a 200 that is a refusal is not taken for a delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import quote_plus

CHANNELS = ("dingtalk", "wecom", "webhook")
WECOM_MARKDOWN_BYTES = 4096
CUT_MARK = "\n…（内容过长，已截断）"
# errcodes that mean "later": the platform is busy (-1) or the robot's rate limit is hit
# (DingTalk 130101: more than 20 messages a minute; WeCom 45009: over the call limit), when a
# try sooner than a minute later would only count against the limit again.
RETRYABLE_ERRCODES = {"dingtalk": {-1, 130101}, "wecom": {-1, 45009}}
RATE_LIMITED = {130101: 60.0, 45009: 60.0}  # errcode -> seconds to wait


def body(channel: str, key: str, title: str, text: str) -> dict:
    """The JSON a channel's receiver takes for one message."""
    if channel == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": f"#### {title}\n\n{text}"}}
    if channel == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": _cut(f"**{title}**\n{text}", WECOM_MARKDOWN_BYTES)}}
    if channel == "webhook":
        return {"key": key, "title": title, "text": text}
    raise ValueError(f"unknown channel {channel!r} (one of {', '.join(CHANNELS)})")


def _cut(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = limit - len(CUT_MARK.encode("utf-8"))
    return data[:room].decode("utf-8", errors="ignore") + CUT_MARK


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's `sign`: base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")), not yet URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    """The robot's URL with `timestamp` and the URL-encoded `sign` added to its query."""
    stamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={stamp}&sign={quote_plus(dingtalk_sign(secret, stamp))}"


@dataclass(frozen=True)
class RobotError:
    errcode: int
    errmsg: str
    retryable: bool
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"errcode {self.errcode}: {self.errmsg}"


def robot_error(channel: str, text: str) -> RobotError | None:
    """The refusal a robot reported in a 2xx answer, or None (delivered). An answer that is not
    the robots' JSON is taken as delivered: the receiver said 2xx."""
    if channel not in RETRYABLE_ERRCODES:
        return None
    try:
        answer = json.loads(text)
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    code = answer.get("errcode", 0)
    try:
        code = int(code)
    except (TypeError, ValueError):
        return RobotError(-2, f"unreadable errcode {code!r}", False)
    if code == 0:
        return None
    return RobotError(code, str(answer.get("errmsg", ""))[:200], code in RETRYABLE_ERRCODES[channel],
                      RATE_LIMITED.get(code) if code in RETRYABLE_ERRCODES[channel] else None)
