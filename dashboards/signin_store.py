"""The dashboard's sign-in store: throttling, sessions and the sign-in audit log, in one SQLite file.

``$CITYSAFETY_HOME/secrets/signin.sqlite`` (mode 0600, folder 0700; WAL, so several Streamlit
sessions and processes share it; a restart keeps it). No Streamlit here: ``dashboards.auth`` uses
it, and so can a test or an administrator's script.

* ``events``: the audit log, one row per sign-in attempt (success, or why not: wrong password,
  unknown account, throttled), sign-out, session restored from the cookie, session refused, and
  download. Times are stored in UTC (ISO 8601 and epoch seconds); pages show Beijing time.
* Throttling is keyed by (user name as typed, client address): after ``MAX_FAILURES`` failed
  attempts from that pair within ``WINDOW_SECONDS`` (and since its last success), the pair waits
  ``BASE_WAIT_SECONDS * 2**(failures - MAX_FAILURES)`` (at most ``WINDOW_SECONDS``) after its last
  failure. Failures from another address never lock the user out, and an unknown name is
  throttled exactly like a real one (no hint which names exist).
* ``tokens``: sessions (id, user, fingerprint of the account at sign-in, issued, expires,
  revoked). Signing out revokes the token; every session holding it is signed out on its next
  run; a changed or removed account no longer matches its fingerprint.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from citysafety.config import Settings, settings
from citysafety.secretfiles import private_dir, private_file

FILE_NAME = "signin.sqlite"
MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
BASE_WAIT_SECONDS = 60
LOCAL_ADDRESS = "本机"  # st.context.ip_address is None on loopback
MAX_NAME_LENGTH = 64  # what is kept of a name typed at the sign-in form

# Events and reasons (stored in English, shown in Chinese by LABELS).
SIGNIN, SIGNOUT, RESUME, REFUSED, DOWNLOAD = "signin", "signout", "resume", "session_refused", "download"
REPORT = "open_quality_report"  # a page of the quality report (Data Docs) shown on 数据健康
OK, WRONG_PASSWORD, UNKNOWN_ACCOUNT, THROTTLED = "ok", "wrong_password", "unknown_account", "throttled"
EXPIRED, REVOKED, ACCOUNT_CHANGED, BAD_SIGNATURE = "expired", "revoked", "account_changed", "bad_signature"
LABELS = {
    SIGNIN: "登录", SIGNOUT: "退出登录", RESUME: "恢复会话（刷新页面）", REFUSED: "会话被拒绝",
    DOWNLOAD: "下载", REPORT: "打开质量报告", OK: "成功", WRONG_PASSWORD: "密码错误", UNKNOWN_ACCOUNT: "账号不存在",
    THROTTLED: "尝试过多，已限制", EXPIRED: "会话已过期", REVOKED: "会话已退出",
    ACCOUNT_CHANGED: "账号已变更或删除", BAD_SIGNATURE: "凭据无效",
}
_FAILURE_REASONS = (WRONG_PASSWORD, UNKNOWN_ACCOUNT)

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    at_utc TEXT NOT NULL,
    at_epoch REAL NOT NULL,
    username TEXT,
    address TEXT NOT NULL,
    event TEXT NOT NULL,
    success INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_pair ON events (username, address, event, at_epoch);
CREATE INDEX IF NOT EXISTS events_time ON events (at_epoch);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    address TEXT NOT NULL,
    issued_epoch REAL NOT NULL,
    expires_epoch REAL NOT NULL,
    revoked_epoch REAL
);
"""


def default_path(cfg: Settings | None = None) -> Path:
    return (cfg or settings()).secrets_dir / FILE_NAME


def utc_iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc).isoformat(timespec="seconds")


class SigninStore:
    """A handle on the store; each operation is one short transaction (safe across processes)."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else default_path()
        private_dir(self.path.parent)
        private_file(self.path)  # 0600 before SQLite writes anything (its -wal/-shm follow it)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout=10000")
            con.row_factory = sqlite3.Row
            yield con
        finally:
            con.close()

    # --- audit ----------------------------------------------------------------------------

    def record(self, event: str, username: str | None, address: str | None, *, success: bool,
               reason: str, detail: str | None = None, now: float | None = None) -> None:
        at = time.time() if now is None else now
        name = None if username is None else username[:MAX_NAME_LENGTH]
        with self._connect() as con:
            con.execute(
                "INSERT INTO events (at_utc, at_epoch, username, address, event, success, reason, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (utc_iso(at), at, name, address or LOCAL_ADDRESS, event, int(success), reason, detail))

    def events(self, *, since: float | None = None, until: float | None = None,
               username: str | None = None) -> list[dict]:
        """Audit rows, newest first: epoch range [since, until), optionally one user name."""
        sql = "SELECT * FROM events WHERE at_epoch >= ? AND at_epoch < ?"
        params: list = [since if since is not None else 0.0, until if until is not None else 1e12]
        if username is not None:
            sql += " AND username = ?"
            params.append(username)
        with self._connect() as con:
            return [dict(r) for r in con.execute(sql + " ORDER BY at_epoch DESC, id DESC", params)]

    def usernames(self) -> list[str]:
        with self._connect() as con:
            return [r[0] for r in con.execute(
                "SELECT DISTINCT username FROM events WHERE username IS NOT NULL ORDER BY username")]

    # --- throttling -----------------------------------------------------------------------

    def throttle_wait(self, username: str, address: str | None, now: float | None = None) -> float:
        """Seconds (user name, address) must still wait before its next attempt (0: none)."""
        now = time.time() if now is None else now
        name, address = username[:MAX_NAME_LENGTH], address or LOCAL_ADDRESS
        with self._connect() as con:
            last_ok = con.execute(
                "SELECT coalesce(max(at_epoch), 0) FROM events WHERE event = ? AND success = 1"
                " AND username = ? AND address = ?", (SIGNIN, name, address)).fetchone()[0]
            failures = [r[0] for r in con.execute(
                "SELECT at_epoch FROM events WHERE event = ? AND success = 0 AND username = ?"
                " AND address = ? AND reason IN (SELECT value FROM json_each(?))"
                " AND at_epoch > ? AND at_epoch > ?",
                (SIGNIN, name, address, json.dumps(list(_FAILURE_REASONS)), now - WINDOW_SECONDS,
                 last_ok))]
        if len(failures) < MAX_FAILURES:
            return 0.0
        wait = min(BASE_WAIT_SECONDS * 2 ** (len(failures) - MAX_FAILURES), WINDOW_SECONDS)
        return max(0.0, max(failures) + wait - now)

    # --- sessions -------------------------------------------------------------------------

    def issue(self, username: str, fingerprint: str, address: str | None, hours: float,
              now: float | None = None) -> tuple[str, float]:
        """A new session token for the user: (id, expires epoch)."""
        now = time.time() if now is None else now
        token_id = secrets.token_urlsafe(24)
        expires = now + hours * 3600
        with self._connect() as con:
            con.execute("INSERT INTO tokens (id, username, fingerprint, address, issued_epoch, expires_epoch)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (token_id, username, fingerprint, address or LOCAL_ADDRESS, now, expires))
        return token_id, expires

    def token(self, token_id: str) -> dict | None:
        with self._connect() as con:
            row = con.execute("SELECT * FROM tokens WHERE id = ?", (token_id,)).fetchone()
        return None if row is None else dict(row)

    def check(self, token_id: str, username: str | None, fingerprint: str | None,
              now: float | None = None) -> tuple[dict | None, str]:
        """(token row, OK) when the token is live for that account, else (row or None, reason)."""
        now = time.time() if now is None else now
        row = self.token(token_id)
        if row is None:
            return None, BAD_SIGNATURE
        if row["revoked_epoch"] is not None:
            return row, REVOKED
        if row["expires_epoch"] <= now:
            return row, EXPIRED
        if username is None or row["username"] != username or row["fingerprint"] != fingerprint:
            return row, ACCOUNT_CHANGED
        return row, OK

    def revoke(self, token_id: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._connect() as con:
            con.execute("UPDATE tokens SET revoked_epoch = ? WHERE id = ? AND revoked_epoch IS NULL",
                        (now, token_id))
