"""Pull the bureau's enforcement inspections over HTTP (emb/inspections), incrementally by `updated_at`.

The bureau's law-enforcement system answers

    GET {base}/api/v1/inspections?updated_since=<ISO-8601>&page=<n>&page_size=<k>
    Authorization: Bearer <token>
    -> {"items": [...], "page": n, "pages": N}

The path, the id and the watermark column are the registry's (`EMB_INSPECTIONS.pull`). Its
address and token are the Airflow connection `emb_api` (the registry's `Pull.connection`,
`citysafety.config.EMB_API_CONN_ID`; an `AIRFLOW_CONN_EMB_API` environment variable resolves too): host, port and schema make the
base URL (schema `http`/`https` is the scheme, as in Airflow's HTTP connections; any other schema
is a path prefix; a host written with `://` is used as it stands), the password is the bearer
token. No connection: `NotConfigured`, and the DAG skips the pull with that message.

One pull:

1. reads the watermark `landing/emb/inspections/.watermark.json` (none: the first pull asks
   without `updated_since` and gets everything);
2. asks for page 1, 2, ... until the server's `pages` (re-read from every answer: a page may be
   added while we pull), `updated_since` being the last `updated_at` seen, sent back exactly as
   the server wrote it;
3. writes ALL pages, one item a line exactly as received (`ensure_ascii=False`), into one hidden
   temporary file (`citysafety.files.atomic_stream`), renamed into place when whole, so the ingest loads it
   like any delivery (and quarantines an item that breaks the agreement, with the reason);
4. only then moves the watermark. Nothing new: no file, watermark unchanged, returns None.

Ties at the watermark: whether the server's `updated_since` is inclusive or not, the watermark
keeps the ids pulled at exactly that instant, and an item coming back with the same id and the
same instant is not written again. A changed item always has a later `updated_at`, so it comes
again and is written again: the ingest keeps every version and the dedup model keeps the latest.

Being polite and robust:
- 429: waits what `Retry-After` says (seconds or an HTTP date), then asks again; a wait longer
  than `max_wait` fails the pull rather than hold a worker (Airflow retries the task later);
- 503 (and 500/502/504, a dropped connection, a timeout): exponential backoff with jitter,
  `backoff_base * 2**n` seconds times a random factor in [0.5, 1], at most `backoff_cap`
  (a `Retry-After` on a 503 is honoured when given);
- `max_retries` consecutive failures of one request end the pull with `PullError`;
- 401: `ApiAuthError`, naming the connection, never the token; 403 and other 4xx: `PullError`
  with the status and the start of the answer.

The token is never logged: only the base URL, the page count, counts, the extract name and the
watermark instant. Under Airflow, `Connection.get` also registers the password with the log
masker.

Paging by page number has a known blind spot the API does not let us close: an item updated
*during* a pull moves to the end of the order and shifts later items back by one, so one item at
a page boundary can be missed with a watermark that then passes it. The pull re-reads `pages`
each time and takes the watermark from what it saw; a periodic full pull (`full=True`) repairs
such a gap (every version it brings again is collapsed by the dedup model).
"""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Callable

import requests

from citysafety import sources as S
from citysafety.config import Settings, settings
from citysafety.files import atomic_stream
from citysafety.land.extracts import (
    airflow_connection, extract_dir, ids_field, read_watermark, stamp, write_watermark,
)

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 100
MAX_PAGES = 100_000  # a guard against a server whose `pages` never ends
SHANGHAI = timezone(timedelta(hours=8))
RETRY_STATUSES = (500, 502, 503, 504)


class PullError(RuntimeError):
    """The API could not be pulled (after retries), or answered something unusable."""


class ApiAuthError(PullError):
    """The API refused the token (401)."""


# ------------------------------------------------------------------ connection

def base_url_of(conn) -> str:
    """Base URL of an Airflow connection: host, port and schema (scheme or path prefix)."""
    host = (conn.host or "").strip().rstrip("/")
    if not host:
        raise PullError(f"Airflow connection {conn.conn_id!r} has no host")
    schema = (conn.schema or "").strip().strip("/")
    if "://" in host:
        base = host
    else:
        conn_type = (conn.conn_type or "").lower()
        scheme = schema.lower() if schema.lower() in ("http", "https") else (
            "https" if conn_type == "https" else "http")
        base = f"{scheme}://{host}"
        if conn.port:
            base += f":{conn.port}"
    if schema and schema.lower() not in ("http", "https"):
        base += f"/{schema}"
    return base


def connection(conn_id: str, feed: S.Feed) -> tuple[str, str]:
    """(base URL, token) of the Airflow connection, or NotConfigured."""
    conn = airflow_connection(feed, conn_id)
    if isinstance(conn, str):
        return _from_uri(conn, conn_id)
    if not conn.password:
        raise PullError(f"Airflow connection {conn_id!r} has no password (the API token)")
    return base_url_of(conn), conn.password


def _from_uri(uri: str, conn_id: str) -> tuple[str, str]:
    from types import SimpleNamespace
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(uri)
    conn = SimpleNamespace(conn_id=conn_id, conn_type=parts.scheme, host=parts.hostname,
                           port=parts.port, schema=parts.path.strip("/"),
                           password=unquote(parts.password or ""))
    if not conn.password:
        raise PullError(f"Airflow connection {conn_id!r} has no password (the API token)")
    return base_url_of(conn), conn.password


# ------------------------------------------------------------------ watermark

def instant(value) -> datetime | None:
    """An `updated_at` as an aware instant (no offset: Asia/Shanghai); None if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=SHANGHAI)


# ------------------------------------------------------------------ HTTP with retries

def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds to wait: delay-seconds or an HTTP date; None if absent/unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def _snippet(response: requests.Response, token: str) -> str:
    text = (response.text or "")[:300].replace("\n", " ")
    return text.replace(token, "***") if token else text


class _Client:
    def __init__(self, base: str, path: str, token: str, conn_id: str, *, sleep: Callable[[float], None],
                 max_retries: int, backoff_base: float, backoff_cap: float, max_wait: float,
                 timeout: float):
        self.base, self.conn_id = base.rstrip("/"), conn_id
        self.url = f"{self.base}{path}"
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}",
                                     "Accept": "application/json"})
        self._token = token
        self.sleep, self.max_retries, self.timeout = sleep, max_retries, timeout
        self.backoff_base, self.backoff_cap, self.max_wait = backoff_base, backoff_cap, max_wait
        self.retries = {"429": 0, "5xx": 0, "network": 0}
        self.waited = 0.0

    def close(self) -> None:
        self.session.close()

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_cap, self.backoff_base * 2 ** attempt) * random.uniform(0.5, 1.0)

    def _wait(self, seconds: float, why: str, attempt: int) -> None:
        if attempt >= self.max_retries:
            raise PullError(f"{self.url}: gave up after {attempt} retries ({why})")
        if seconds > self.max_wait:
            raise PullError(f"{self.url}: {why}; the server asks to wait {seconds:.0f} s, "
                            f"more than {self.max_wait:.0f} s: try again later")
        log.warning("%s; retry %d/%d in %.2f s", why, attempt + 1, self.max_retries, seconds)
        self.waited += seconds
        self.sleep(seconds)

    def get_page(self, params: dict) -> dict:
        url = self.url
        attempt = 0
        while True:
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                self.retries["network"] += 1
                self._wait(self._backoff(attempt), f"page {params['page']}: cannot reach "
                           f"{self.base} ({type(exc).__name__})", attempt)
                attempt += 1
                continue
            status = response.status_code
            if status == 200:
                return self._page(response, params["page"])
            if status == 429:
                self.retries["429"] += 1
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                self._wait(self._backoff(attempt) if wait is None else wait,
                           f"page {params['page']}: 429 Too Many Requests", attempt)
                attempt += 1
                continue
            if status in RETRY_STATUSES:
                self.retries["5xx"] += 1
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                self._wait(self._backoff(attempt) if wait is None else wait,
                           f"page {params['page']}: {status} {response.reason}", attempt)
                attempt += 1
                continue
            if status == 401:
                raise ApiAuthError(
                    f"{self.url} refused the token of Airflow connection {self.conn_id!r} "
                    f"(401 Unauthorized): set that connection's password to a valid API token")
            if status == 403:
                raise PullError(f"{self.url}: 403 Forbidden: the token of Airflow connection "
                                f"{self.conn_id!r} may not read inspections: "
                                f"{_snippet(response, self._token)}")
            raise PullError(f"{self.url} answered {status} {response.reason} to page "
                            f"{params['page']}: {_snippet(response, self._token)}")

    def _page(self, response: requests.Response, page: int) -> dict:
        try:
            body = response.json()
        except ValueError:
            raise PullError(f"{self.url}: page {page} is not JSON: "
                            f"{_snippet(response, self._token)}") from None
        if not isinstance(body, dict) or not isinstance(body.get("items"), list) \
                or not isinstance(body.get("pages"), int) or isinstance(body.get("pages"), bool):
            raise PullError(f"{self.url}: page {page} is not {{items: [...], page, pages}}: "
                            f"{_snippet(response, self._token)}")
        if body.get("page", page) != page:
            raise PullError(f"{self.url}: asked for page {page}, got page {body.get('page')}")
        return body


# ------------------------------------------------------------------ the pull

def pull(feed: S.Feed, cfg: Settings | None = None, *, base_url: str | None = None,
         token: str | None = None, page_size: int | None = None,
         sleep: Callable[[float], None] = time.sleep, max_retries: int = 8,
         backoff_base: float = 1.0, backoff_cap: float = 60.0, max_wait: float = 300.0,
         timeout: float = 60.0, full: bool = False) -> Path | None:
    """Fetch what changed since the watermark into one extract; None when nothing is new.

    `base_url`/`token` stand in for the Airflow connection (both, or the missing one is read
    from it). `full`: ignore the watermark and pull everything again.
    """
    cfg = cfg or settings()
    spec = feed.pull
    if spec is None or spec.kind != "http":
        raise ValueError(f"{feed.id} is not pulled from the bureau's API")
    conn_id = spec.connection
    if base_url is None or token is None:
        conn_base, conn_token = connection(conn_id, feed)
        base_url, token = base_url or conn_base, token or conn_token
    page_size = page_size or DEFAULT_PAGE_SIZE
    if page_size < 1:
        raise ValueError("page_size must be at least 1")

    state = None if full else read_watermark(feed, cfg)
    since_text, since, seen_at_mark = None, None, set()
    if state:
        since_text = state[spec.watermark]
        since = instant(since_text)
        seen_at_mark = set(state.get(ids_field(spec)) or [])

    folder = extract_dir(feed, cfg)
    folder.mkdir(parents=True, exist_ok=True)
    name = feed.file_glob.replace("*", stamp())
    target = folder / name
    client = _Client(base_url, spec.path, token, conn_id, sleep=sleep, max_retries=max_retries,
                     backoff_base=backoff_base, backoff_cap=backoff_cap, max_wait=max_wait,
                     timeout=timeout)
    written, skipped, untracked, pages = 0, 0, 0, 0
    last, last_text, ids_at_last = since, since_text, set(seen_at_mark)
    written_keys: set[tuple[str, str]] = set()
    try:
        with atomic_stream(target) as out:
            page, total = 1, 1
            while page <= total:
                params = {"page": page, "page_size": page_size}
                if since_text:
                    params = {"updated_since": since_text, **params}
                body = client.get_page(params)
                total = min(body["pages"], MAX_PAGES)
                pages = page
                for item in body["items"]:
                    key = mark = None
                    if isinstance(item, dict):
                        key, mark = item.get(spec.key), instant(item.get(spec.watermark))
                    if mark is not None and key is not None:
                        pair = (str(key), mark.isoformat())
                        if (since is not None and mark == since and str(key) in seen_at_mark) \
                                or pair in written_keys:
                            skipped += 1  # already pulled: same id at the same instant
                            continue
                        written_keys.add(pair)
                    out.write(json.dumps(item, ensure_ascii=False) + "\n")
                    written += 1
                    if mark is None:
                        untracked += 1  # written as received; the ingest quarantines it
                        continue
                    if last is None or mark > last:
                        last, last_text, ids_at_last = mark, item[spec.watermark], set()
                    if mark == last and key is not None:
                        ids_at_last.add(str(key))
                page += 1
            if not written:
                out.discard()
    finally:
        client.close()

    retries = ", ".join(f"{k} {v}" for k, v in client.retries.items() if v) or "none"
    if not written:
        log.info("%s/%s: nothing new at %s since %s (%d page(s), %d repeat(s) at the watermark, "
                 "retries: %s)", feed.source, feed.feed, base_url, since_text or "-", pages,
                 skipped, retries)
        return None
    if untracked:
        log.warning("%s/%s: %d item(s) without a readable %s written to %s (the ingest will "
                    "quarantine them)", feed.source, feed.feed, untracked, spec.watermark, name)
    if last is not None and last_text is not None:
        write_watermark(feed, cfg, {
            spec.watermark: last_text,
            ids_field(spec): sorted(ids_at_last),
            "extract": name,
            "items": written,
            "pages": pages,
            "pulled_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        })
    log.info("%s/%s: %d item(s) from %s in %d page(s) into %s; watermark %s (retries: %s, "
             "waited %.1f s)", feed.source, feed.feed, written, base_url, pages, name,
             last_text or "-", retries, client.waited)
    return target
