"""The bureau's inspections API as a small real HTTP service, for the demo and the tests.

It serves what the agreement describes (../shared/feeds/README.md, emb/inspections):

    GET /api/v1/inspections?updated_since=<ISO-8601>&page=<n>&page_size=<k>
    Authorization: Bearer <token>
    -> {"items": [...], "page": n, "pages": N}

from `<home>/demo_sources/emb_api/`:

- `inspections.jsonl`: the bureau's records, one version of an inspection a line (an inspection
  changed after review has several lines, same `inspection_id`, later `updated_at`). The server
  shows each inspection's latest version with `updated_at` <= its clock (`as_of`; default: no
  clock, the latest version), re-reading the file when it changes;
- `token`: the bearer token (mode 0600), random, written by the demo generator
  (demo/feeds/inspections.py), never in the repo.

Items are ordered by (`updated_at`, `inspection_id`); `updated_since` is inclusive
(`updated_at >= updated_since`; an instant without offset is Asia/Shanghai); `page_size` is at
most 500. A missing or wrong token gets 401, a bad parameter 400. Fault injection (`Faults`)
makes it answer 429 with `Retry-After` or 503, as the real one does when pulled too fast.

Use:
- tests: `with DemoAPI(data_dir, token=..., faults=Faults(first_429=2)) as api: api.url`;
  `api.requests` records every request seen (time, parameters, status; never the token);
- demo: `python -m demo.emb_api --home H --port P` serves until Ctrl-C;
  `demo_connection_env(cfg)` starts it on a free loopback port for the length of a `with` block
  and yields `{"AIRFLOW_CONN_EMB_API": <connection URI>}` for the Airflow processes.
Environment for the demo: `CITYSAFETY_EMB_API_FAULTS` (e.g. `every_429=7,every_503=11,
retry_after=1`) and `CITYSAFETY_EMB_API_AS_OF` (ISO date-time: the server's clock).
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import math
import os
import random
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, quote, urlsplit

from citysafety.config import EMB_API_CONN_ID, Settings, settings
from citysafety.sources import EMB_INSPECTIONS

log = logging.getLogger(__name__)

PATH = EMB_INSPECTIONS.pull.path  # the registry's, as the pull asks for it
DATA_FILE = "inspections.jsonl"
TOKEN_FILE = "token"
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
SHANGHAI = timezone(timedelta(hours=8))
FAULTS_ENV = "CITYSAFETY_EMB_API_FAULTS"
AS_OF_ENV = "CITYSAFETY_EMB_API_AS_OF"


def data_dir(cfg: Settings | None = None) -> Path:
    """Where the demo API keeps its records and token: <home>/demo_sources/emb_api."""
    return (cfg or settings()).home / "demo_sources" / "emb_api"


def instant(text) -> datetime | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        stamp = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Faults:
    """Which API requests (counted from 1) are answered 429 or 503 instead of the page.

    first_429/first_503: a run of the first N requests (429s first, then 503s);
    every_429/every_503: every Nth request; storm: that share of requests, at random (seeded),
    half 429, half 503. retry_after: the 429's Retry-After, in seconds (`"1"`), or `"date:N"`
    for an HTTP date N seconds ahead. 503s carry no Retry-After.
    """
    first_429: int = 0
    first_503: int = 0
    every_429: int = 0
    every_503: int = 0
    storm: float = 0.0
    retry_after: str = "1"
    seed: int = 0

    @classmethod
    def parse(cls, text: str | None) -> "Faults":
        """`first_429=2,every_503=5,retry_after=1` (the environment variable's form)."""
        if not text or not text.strip():
            return cls()
        types = {f.name: f.type for f in fields(cls)}
        values = {}
        for part in text.split(","):
            if not part.strip():
                continue
            name, _, value = part.partition("=")
            name = name.strip()
            if name not in types:
                raise ValueError(f"unknown fault {name!r}; known: {sorted(types)}")
            kind = types[name]
            values[name] = (float(value) if kind in ("float", float) else
                            int(value) if kind in ("int", int) else value.strip())
        return cls(**values)

    @property
    def any(self) -> bool:
        return bool(self.first_429 or self.first_503 or self.every_429 or self.every_503 or self.storm)


@dataclass(frozen=True)
class Seen:
    """One request the server saw (the token is never recorded: only whether it was right)."""
    n: int  # API requests counted from 1 (other paths count 0)
    at: float  # time.monotonic() when the request arrived
    answered_at: float  # time.monotonic() when the answer was written
    path: str
    params: dict
    status: int
    authorized: bool
    retry_after: str | None = None


@dataclass
class _Store:
    path: Path
    signature: tuple = ()
    versions: list = field(default_factory=list)  # (instant, line number, item)

    def load(self) -> list:
        stat = self.path.stat()
        signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if signature != self.signature:
            versions = []
            with self.path.open(encoding="utf-8") as fh:
                for number, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    item = json.loads(line)
                    mark = instant(item.get("updated_at"))
                    if mark is None:
                        raise ValueError(f"{self.path}:{number}: no readable updated_at")
                    versions.append((mark, number, item))
            self.versions, self.signature = versions, signature
        return self.versions


class DemoAPI:
    """The inspections API on 127.0.0.1, in a background thread (a context manager)."""

    def __init__(self, data_dir: Path, *, token: str | None = None, faults: Faults | None = None,
                 as_of: datetime | str | None = None, host: str = "127.0.0.1", port: int = 0):
        self.data_dir = Path(data_dir)
        if token is None:
            token_file = self.data_dir / TOKEN_FILE
            if not token_file.exists():
                raise FileNotFoundError(f"no token given and no {token_file}")
            token = token_file.read_text("utf-8").strip()
        if not token:
            raise ValueError("the API token is empty")
        self._token = token
        self.faults = faults or Faults()
        self.as_of = instant(as_of) if isinstance(as_of, str) else (
            as_of if as_of is None or as_of.tzinfo else as_of.replace(tzinfo=SHANGHAI))
        self.host, self._port = host, port
        self._store = _Store(self.data_dir / DATA_FILE)
        self._lock = threading.Lock()
        self._count = 0
        self._rng = random.Random(self.faults.seed)
        self.requests: list[Seen] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> "DemoAPI":
        api = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "XCEnforcement/1.0"

            def do_GET(self):  # noqa: N802
                api._handle(self)

            def log_message(self, fmt, *args):  # the request line only: never headers
                log.debug("%s %s", self.address_string(), fmt % args)

        self._server = ThreadingHTTPServer((self.host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="emb-api-demo",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self) -> "DemoAPI":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the demo API is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base URL (the API path is /api/v1/inspections below it)."""
        return f"http://{self.host}:{self.port}"

    def connection_uri(self) -> str:
        """Airflow connection URI: the host and port, the token as the password."""
        return f"http://:{quote(self._token, safe='')}@{self.host}:{self.port}"

    def api_requests(self) -> list[Seen]:
        with self._lock:
            return [s for s in self.requests if s.path == PATH]

    # ---------------------------------------------------------------- serving

    def current(self) -> list[tuple[datetime, dict]]:
        """(updated_at, item): each inspection's latest version as of the clock, in API order."""
        latest: dict[str, tuple] = {}
        for mark, number, item in self._store.load():
            if self.as_of is not None and mark > self.as_of:
                continue
            key = str(item.get("inspection_id"))
            if key not in latest or (mark, number) >= latest[key][:2]:
                latest[key] = (mark, number, item)
        rows = sorted(latest.values(), key=lambda v: (v[0], str(v[2].get("inspection_id"))))
        return [(mark, item) for mark, _, item in rows]

    def _fault(self, n: int) -> int | None:
        f = self.faults
        if n <= f.first_429:
            return 429
        if n <= f.first_429 + f.first_503:
            return 503
        if f.every_429 and n % f.every_429 == 0:
            return 429
        if f.every_503 and n % f.every_503 == 0:
            return 503
        if f.storm and self._rng.random() < f.storm:
            return self._rng.choice((429, 503))
        return None

    def _retry_after(self) -> str:
        value = self.faults.retry_after.strip()
        if value.startswith("date:"):
            when = datetime.now(timezone.utc) + timedelta(seconds=float(value[5:]))
            return format_datetime(when.replace(microsecond=0), usegmt=True)
        return value

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        at = time.monotonic()
        parts = urlsplit(handler.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        given = handler.headers.get("Authorization", "")
        authorized = hmac.compare_digest(given.encode(), f"Bearer {self._token}".encode())
        headers: dict[str, str] = {}
        if parts.path != PATH:
            n, status, body = 0, 404, {"error": "not found"}
        else:
            with self._lock:
                self._count += 1
                n = self._count
                fault = self._fault(n)
            if fault == 429:
                status, body = 429, {"error": "too many requests"}
                headers["Retry-After"] = self._retry_after()
            elif fault == 503:
                status, body = 503, {"error": "service unavailable"}
            elif not authorized:
                status, body = 401, {"error": "unauthorized"}
                headers["WWW-Authenticate"] = 'Bearer realm="inspections"'
            else:
                status, body = self._page(params)
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        # Recorded before the response goes out: a client that has its answer finds it logged.
        with self._lock:
            self.requests.append(Seen(n, at, time.monotonic(), parts.path, params, status,
                                      authorized, headers.get("Retry-After")))
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _page(self, params: dict) -> tuple[int, dict]:
        try:
            page = int(params.get("page", "1"))
            size = int(params.get("page_size", str(DEFAULT_PAGE_SIZE)))
        except ValueError:
            return 400, {"error": "page and page_size must be whole numbers"}
        if page < 1 or size < 1:
            return 400, {"error": "page and page_size must be at least 1"}
        size = min(size, MAX_PAGE_SIZE)
        since = None
        if params.get("updated_since"):
            since = instant(params["updated_since"])
            if since is None:
                return 400, {"error": f"updated_since is not ISO-8601: {params['updated_since']!r}"}
        rows = [item for mark, item in self.current() if since is None or mark >= since]
        pages = math.ceil(len(rows) / size)
        return 200, {"items": rows[(page - 1) * size: page * size], "page": page, "pages": pages}


# ------------------------------------------------------------------ demo wiring

def _as_of_from_env() -> str | None:
    return os.environ.get(AS_OF_ENV) or None


@contextmanager
def demo_connection_env(cfg: Settings | None = None) -> Iterator[dict[str, str]]:
    """Serve the demo API for the length of the block; yield the Airflow connection as env.

    Yields `{"AIRFLOW_CONN_EMB_API": "http://:<token>@127.0.0.1:<port>"}` when
    `<home>/demo_sources/emb_api` holds the demo records and token, else `{}`. When the
    environment already defines the connection, that one is left to work and nothing is started.
    """
    folder = data_dir(cfg)
    env_name = f"AIRFLOW_CONN_{EMB_API_CONN_ID.upper()}"
    if os.environ.get(env_name) or not ((folder / TOKEN_FILE).exists()
                                        and (folder / DATA_FILE).exists()):
        yield {}
        return
    with DemoAPI(folder, faults=Faults.parse(os.environ.get(FAULTS_ENV)),
                 as_of=_as_of_from_env()) as api:
        log.info("demo inspections API at %s (faults: %s)", api.url, api.faults)
        yield {env_name: api.connection_uri()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.emb_api",
                                     description="Serve the demo inspections API until Ctrl-C.")
    parser.add_argument("--home", type=Path, default=None, help="CITYSAFETY_HOME (default: environment)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default=None,
                        help="address to listen on (default: CITYSAFETY_BIND_ADDRESS, else 127.0.0.1)")
    parser.add_argument("--faults", default=os.environ.get(FAULTS_ENV),
                        help=f"e.g. every_429=7,every_503=11,retry_after=1 (default: ${FAULTS_ENV})")
    parser.add_argument("--as-of", default=_as_of_from_env(), help="the server's clock (ISO-8601)")
    args = parser.parse_args(argv)
    if args.host is None:
        from citysafety.config import bind_address

        args.host = bind_address()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    folder = data_dir(Settings(home=args.home.resolve())) if args.home else data_dir()
    if not (folder / DATA_FILE).exists() or not (folder / TOKEN_FILE).exists():
        print(f"no demo API data in {folder}: run `python -m demo` first", file=sys.stderr)
        return 1
    api = DemoAPI(folder, faults=Faults.parse(args.faults), as_of=args.as_of, host=args.host,
                  port=args.port).start()
    print(f"demo inspections API at {api.url}{PATH} ({len(api.current())} inspections; "
          f"faults: {api.faults if api.faults.any else 'none'})", flush=True)
    print(f'export AIRFLOW_CONN_EMB_API="http://:$(cat {folder / TOKEN_FILE})@{args.host}:{api.port}"',
          flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
