"""The demo's webhook receiver: the DingTalk and WeCom robots and a plain webhook, on loopback.

    python -m demo.receiver [--port 8586] --out DIR [--secret-file FILE] [--fail-every N]

One HTTP server (`ThreadingHTTPServer`, 127.0.0.1 by default; port 0 picks a free one) stands
for every endpoint of the demo's webhooks file (demo/webhooks.py writes it), by path:

- `/dingtalk`: a DingTalk custom robot with 加签. Given the secret, it checks the signed form
  (`timestamp` in milliseconds within an hour of its clock, `sign` the base64 of
  HMAC-SHA256(secret, "{timestamp}\\n{secret}"), citysafety.act.robots) and answers a bad one
  as the robot does: HTTP 200 with errcode 310000. The body must be
  `{"msgtype": "markdown", "markdown": {"title", "text"}}`.
- `/wecom`: a WeCom group robot, `{"msgtype": "markdown", "markdown": {"content"}}`.
- `/hook`: our own JSON, `{"key", "title", "text"}`, whose `key` is the Idempotency-Key header.

A robot's refusal of a malformed body is errcode 40035 in a 200 (as the robots answer), the
webhook's is HTTP 400: either way the outbox marks the message dead, never retried. Accepted,
the robots answer `{"errcode": 0, "errmsg": "ok"}`.

`fail_every=n` answers every n-th request 503 (the bench's "one request in five fails"); the
outbox retries it after its back-off. Every ACCEPTED message is one JSON line in
`<out>/received.jsonl` (appended and flushed: the time received, UTC; the path; the
Idempotency-Key; the title or the first line of the text; whether the key came before) and is
counted by key in `Receiver.accepted`, so that a message accepted twice shows as a count of 2.
A repeat is still accepted (200): a receiver answers what it already took the same way, the
Idempotency-Key is there for it to drop the second copy.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

DEFAULT_PORT = 8586
PATHS = {"/dingtalk": "dingtalk", "/wecom": "wecom", "/hook": "webhook"}
RECEIVED_FILE = "received.jsonl"
MAX_BODY_BYTES = 256 * 1024  # a notice is a few kilobytes; a larger body is refused unread
SIGN_WINDOW_MS = 3_600_000  # DingTalk refuses a timestamp more than an hour from its clock
BAD_SIGNATURE = 310000  # DingTalk's errcode for a signature or timestamp it does not accept
BAD_PARAMETER = 40035  # the robots' errcode for a body that is not their form


def demo_receiver_port() -> int:
    """The port the demo's receiver listens on (CITYSAFETY_DEMO_RECEIVER_PORT, default 8586)."""
    text = (os.environ.get("CITYSAFETY_DEMO_RECEIVER_PORT") or "").strip()
    if not text:
        return DEFAULT_PORT
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        from citysafety.config import ConfigError

        raise ConfigError(f"CITYSAFETY_DEMO_RECEIVER_PORT={text!r} 无效：应为 1 到 65535 的端口号"
                          " (the demo receiver's port must be 1-65535)")
    return port


def read_credentials(path: Path) -> tuple[list[str], str | None]:
    """(DingTalk secrets, access token) for the receiver from `path`: the demo's webhooks file
    (its dingtalk endpoints' secrets; the access token when every URL carries the same one) or a
    text file holding one secret. The file must be its owner's only, as every secret file."""
    path = Path(path)
    info = path.stat()
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise PermissionError(f"密钥文件 {path} 的权限为 {stat.S_IMODE(info.st_mode):04o}，其他用户可读："
                              f"请执行 chmod 600 {path} (the secret file must be its owner's only)")
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("endpoints"), dict):
        specs = [s for s in doc["endpoints"].values() if isinstance(s, dict)]
        secrets = sorted({s["secret"] for s in specs if s.get("channel") == "dingtalk" and s.get("secret")})
        tokens = {parse_qs(urlsplit(str(s.get("url", ""))).query).get("access_token", [None])[0] for s in specs}
        return secrets, tokens.pop() if len(tokens) == 1 else None
    secret = text.strip()
    return ([secret] if secret else []), None


class Receiver:
    """The demo's robots and webhook on one loopback server (module docstring). A context
    manager: `with Receiver(out_dir=...) as r:` serves in a thread until the block ends.

    secret: the DingTalk secret(s) a signature is checked against (None: the signed form is not
    checked). access_token: the token every URL must carry (None: any non-empty one).
    """

    def __init__(self, out_dir: Path | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 secret: str | Iterable[str] | None = None, access_token: str | None = None,
                 fail_every: int = 0):
        if fail_every < 0:
            raise ValueError("fail_every must be 0 (never) or a positive n (every n-th request)")
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.host, self.port = host, port
        self.secrets = [secret] if isinstance(secret, str) else list(secret or [])
        self.access_token = access_token
        self.fail_every = fail_every
        self.lock = threading.Lock()
        self.requests = 0  # requests on the three paths, the count fail_every applies to
        self.accepted: Counter = Counter()  # Idempotency-Key -> times accepted
        self.answers: Counter = Counter()  # HTTP status -> n
        self.refused: Counter = Counter()  # reason -> n (bad signature, malformed body, ...)
        self.server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log = None

    # -- life cycle
    def start(self) -> "Receiver":
        if self.server is not None:
            return self
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._log = (self.out_dir / RECEIVED_FILE).open("a", encoding="utf-8")
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the outbox sends a batch over one connection
            # The headers and the body leave in two writes: with Nagle's algorithm the second
            # waits for the ACK of the first, which the client delays (~40 ms a request).
            disable_nagle_algorithm = True

            def log_message(self, *args):  # one line per accepted message goes to received.jsonl
                pass

            def do_POST(self):
                receiver._handle(self)

            def do_GET(self):
                if urlsplit(self.path).path == "/health":
                    return receiver._reply(self, 200, {"status": "ok"})
                return receiver._reply(self, 405, {"error": "POST only"})

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="demo-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self.lock:
            if self._log is not None:
                self._log.close()
                self._log = None

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def url(self, path: str = "/hook", access_token: str | None = None) -> str:
        """The URL of one of the paths, with the access token (the receiver's, or the one given)."""
        token = access_token or self.access_token
        return f"http://{self.host}:{self.port}{path}" + (f"?access_token={token}" if token else "")

    @property
    def received_file(self) -> Path | None:
        return self.out_dir / RECEIVED_FILE if self.out_dir is not None else None

    def duplicated(self) -> dict[str, int]:
        """Keys accepted more than once, with the times."""
        with self.lock:
            return {k: n for k, n in self.accepted.items() if n > 1}

    # -- one request
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        where = urlsplit(handler.path)
        channel = PATHS.get(where.path)
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            handler.close_connection = True  # the body was not read: the connection cannot go on
            return self._reply(handler, 413, {"error": "body missing or too large"})
        raw = handler.rfile.read(length)
        if channel is None:
            return self._reply(handler, 404, {"error": f"no endpoint at {where.path}"})
        with self.lock:
            self.requests += 1
            n = self.requests
        if self.fail_every and n % self.fail_every == 0:
            return self._reply(handler, 503, {"error": "busy (the demo receiver fails this request on purpose)"})
        query = parse_qs(where.query)
        # percent-encoded by the outbox when the key is not ASCII (outbox.idempotency_header)
        key = handler.headers.get("Idempotency-Key")
        key = unquote(key) if key else key
        token = (query.get("access_token") or [""])[0]
        if not token or (self.access_token and not hmac.compare_digest(token, self.access_token)):
            return self._refuse(handler, channel, "access_token", 300001, "token is not exist")
        if channel == "dingtalk" and self.secrets:
            why = self._signature_problem(query)
            if why:
                return self._refuse(handler, channel, "signature", BAD_SIGNATURE, why)
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            payload = None
        title = _title(channel, payload, key)
        if title is None:
            return self._refuse(handler, channel, "payload", BAD_PARAMETER, f"body is not the {channel} form")
        with self.lock:
            self.accepted[key] += 1
            times = self.accepted[key]
            if self._log is not None:
                record = {"received_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                          "path": where.path, "idempotency_key": key, "title": title, "times": times}
                self._log.write(json.dumps(record, ensure_ascii=False) + "\n")
                self._log.flush()
        return self._reply(handler, 200, {"errcode": 0, "errmsg": "ok"})

    def _signature_problem(self, query: dict) -> str | None:
        stamp, sign = (query.get("timestamp") or [""])[0], (query.get("sign") or [""])[0]
        if not stamp.isdigit() or not sign:
            return "timestamp and sign are required"
        if abs(time.time() * 1000 - int(stamp)) > SIGN_WINDOW_MS:
            return "timestamp is more than an hour from the server's time"
        for secret in self.secrets:
            digest = hmac.new(secret.encode("utf-8"), f"{stamp}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
            if hmac.compare_digest(sign.encode("ascii", "replace"), base64.b64encode(digest)):
                return None
        return "sign not match"

    def _refuse(self, handler, channel: str, reason: str, errcode: int, errmsg: str) -> None:
        with self.lock:
            self.refused[reason] += 1
        if channel == "webhook":
            return self._reply(handler, 401 if reason == "access_token" else 400, {"error": errmsg})
        return self._reply(handler, 200, {"errcode": errcode, "errmsg": errmsg})

    def _reply(self, handler: BaseHTTPRequestHandler, code: int, body: dict) -> None:
        with self.lock:
            self.answers[code] += 1
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            handler.send_response(code)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender gave up waiting: it will try again


def _title(channel: str, payload, key: str | None) -> str | None:
    """The message's title (a robot's markdown: its first line), or None when the body is not the
    channel's form (a webhook's key must be its Idempotency-Key)."""
    if not isinstance(payload, dict):
        return None
    if channel == "webhook":
        ok = (isinstance(payload.get("key"), str) and payload["key"] == key
              and isinstance(payload.get("title"), str) and isinstance(payload.get("text"), str))
        return payload["title"] if ok else None
    markdown = payload.get("markdown")
    if payload.get("msgtype") != "markdown" or not isinstance(markdown, dict):
        return None
    if channel == "dingtalk":
        if set(markdown) != {"title", "text"} or not all(isinstance(v, str) for v in markdown.values()):
            return None
        return markdown["title"]
    if set(markdown) != {"content"} or not isinstance(markdown["content"], str):
        return None
    first = markdown["content"].split("\n", 1)[0]
    return re.sub(r"^\*\*(.*)\*\*$", r"\1", first)  # the outbox writes the title in bold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.receiver",
                                     description="The demo's loopback webhook receiver (DingTalk, WeCom, webhook).")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None,
                        help=f"port (default CITYSAFETY_DEMO_RECEIVER_PORT or {DEFAULT_PORT}; 0: a free one)")
    parser.add_argument("--out", type=Path, required=True, help=f"folder of {RECEIVED_FILE}")
    parser.add_argument("--secret-file", type=Path,
                        help="the demo webhooks file (or a file holding the DingTalk secret): signatures are checked")
    parser.add_argument("--fail-every", type=int, default=0, help="answer every n-th request 503 (default never)")
    args = parser.parse_args(argv)
    try:
        port = demo_receiver_port() if args.port is None else args.port
        secrets, token = read_credentials(args.secret_file) if args.secret_file else ([], None)
    except (OSError, ValueError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    receiver = Receiver(args.out, host=args.host, port=port, secret=secrets, access_token=token,
                        fail_every=args.fail_every)
    try:
        receiver.start()
    except OSError as exc:
        print(f"错误：演示接收端无法监听 {args.host}:{port}：{exc.strerror or exc} (cannot listen)", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    signed = "，校验钉钉加签" if secrets else "，不校验钉钉加签（未给 --secret-file）"
    print(f"演示接收端监听 http://{args.host}:{receiver.port}（/dingtalk、/wecom、/hook{signed}），"
          f"收到的消息写入 {receiver.received_file} "
          f"(demo receiver listening on {args.host}:{receiver.port}, writing {receiver.received_file})", flush=True)
    try:
        while not stop.wait(0.5):  # a timed wait: the signal handlers run in this thread
            pass
    finally:
        receiver.stop()
    total = sum(receiver.accepted.values())
    print(f"演示接收端已停止：共接收 {total} 条消息（{len(receiver.accepted)} 个不同的幂等键）"
          f" (stopped: {total} messages accepted)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
