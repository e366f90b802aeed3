"""Sign-in for the dashboards: who you are decides which pages and which streets you see.

Roles (policy/access.yml, read through citysafety.policy):

* ``leader`` sees every page and every street; its pages read the published warehouse;
* ``department`` (scope: emb, fire, traffic, stats, grid, safety_office, emergency) sees its
  pages, and its pages read its analyst file ``exports/<scope>/current/<scope>.duckdb``;
* ``street`` (scope: a street code, WL ... WH) sees its pages for its own street only, read from
  ``exports/street_<code>/current/street_<code>.duckdb``, which holds no other street's rows.

The data layer (``dashboards.data.warehouse_path``) is bound to the signed-in user's file by
``bind_data_layer()``, so a page cannot read more than the policy grants even if it forgets a
filter; ``components.street_filter`` also offers a street office only its own street.

Users live outside the repository, with PBKDF2-SHA256 hashes (``citysafety.policy.hash_password``),
looked up in this order:

1. the file named by ``CITYSAFETY_USERS`` (JSON or TOML);
2. ``st.secrets["users"]`` (``.streamlit/secrets.toml``, kept out of git);
3. ``$CITYSAFETY_HOME/secrets/users.json`` (``python -m citysafety.demo.accounts`` writes demo users).

Each holds ``{username: {role, scope, password_hash, display_name?}}`` (at the top level or under
``users``). When none of them exists (a fresh checkout, the test fixtures) the app runs in demo
mode without sign-in and says so in a banner: "未配置用户，演示模式：无需登录". ``CITYSAFETY_AUTH=off``
forces that mode. A configured source that cannot be read stops the app (fail closed).
"""

from __future__ import annotations

import json
import os
import threading
import time
import tomllib
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import streamlit as st

from citysafety import policy as P
from citysafety.config import settings

USERS_ENV = "CITYSAFETY_USERS"
AUTH_ENV = "CITYSAFETY_AUTH"
USER_KEY = "citysafety_user"
MODE_KEY = "citysafety_auth_mode"
LOGIN_FORM = "citysafety_login"
USERNAME_KEY = "citysafety_login_username"
PASSWORD_KEY = "citysafety_login_password"
LOGOUT_KEY = "citysafety_logout"

ON, OFF, BROKEN = "on", "off", "broken"
DEMO_BANNER = "未配置用户，演示模式：无需登录"
OFF_BANNER = "已关闭登录（CITYSAFETY_AUTH=off），演示模式：无需登录"
WRONG = "用户名或密码错误。"
LOCKED = "登录失败次数过多，请 5 分钟后再试。"
ROLE_NAMES = {P.LEADER: "区领导", P.DEPARTMENT: "部门", P.STREET: "街道"}

MAX_FAILURES = 5
LOCK_SECONDS = 300
_FAILURES: dict[str, list[float]] = {}
_FAILURES_LOCK = threading.Lock()


@dataclass(frozen=True)
class User:
    username: str
    role: str  # leader | department | street
    scope: str | None  # department name or street code
    display_name: str
    principal: str  # the policy principal: leader, emb, ..., street_wl


class UsersUnavailable(Exception):
    pass


# --- where the users are ----------------------------------------------------------------------


def default_users_file() -> Path:
    return settings().home / "secrets" / "users.json"


def _read_users_file(path: Path) -> dict[str, dict]:
    try:
        text = path.read_text(encoding="utf-8")
        doc = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise UsersUnavailable(f"{path}: {type(exc).__name__}") from exc
    return _users_mapping(doc, str(path))


def _users_mapping(doc: Any, where: str) -> dict[str, dict]:
    if isinstance(doc, dict) and isinstance(doc.get("users"), dict):
        doc = doc["users"]
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise UsersUnavailable(f"{where}: expected {{username: {{role, scope, password_hash}}}}")
    return {str(k): dict(v) for k, v in doc.items()}


def _secrets_users() -> dict[str, dict] | None:
    try:
        if not st.secrets.load_if_toml_exists() or "users" not in st.secrets:
            return None
        raw = st.secrets["users"]
        return _users_mapping({str(k): dict(v) for k, v in raw.items()}, "st.secrets")
    except UsersUnavailable:
        raise
    except Exception:  # noqa: BLE001 - no secrets file, or no users in it
        return None


def load_users() -> tuple[str, dict[str, dict] | None, str]:
    """(mode, users, where): mode ON with users, OFF without any, BROKEN when unreadable."""
    if os.environ.get(AUTH_ENV, "").strip().lower() == "off":
        return OFF, None, f"{AUTH_ENV}=off"
    named = os.environ.get(USERS_ENV, "").strip()
    try:
        if named:
            return ON, _read_users_file(Path(named)), named
        from_secrets = _secrets_users()
        if from_secrets is not None:
            return ON, from_secrets, "st.secrets"
        default = default_users_file()
        if default.exists():
            return ON, _read_users_file(default), str(default)
    except UsersUnavailable as exc:
        return BROKEN, None, str(exc)
    return OFF, None, "none"


# --- users and the policy ---------------------------------------------------------------------


def _principal(role: str, scope: str | None) -> P.Principal:
    return P.load().for_user(role, scope)


def _user_from_entry(username: str, entry: dict) -> User:
    role = str(entry.get("role", ""))
    scope = entry.get("scope")
    principal = _principal(role, None if scope is None else str(scope))
    return User(username=username, role=role, scope=None if scope is None else str(scope),
                display_name=str(entry.get("display_name") or principal.name_zh),
                principal=principal.name)


def authenticate(users: dict[str, dict], username: str, password: str) -> User | None:
    """The user when the password matches and the account maps to a policy principal."""
    username = username.strip()
    if _locked_out(username):
        return None
    entry = users.get(username)
    # An unknown name costs as much as a wrong password (no hint which names exist).
    ok = P.verify_password(password, entry.get("password_hash", "") if entry else _dummy_hash())
    if ok and entry is not None:
        try:
            user = _user_from_entry(username, entry)
        except KeyError:
            user = None  # an account whose role or scope the policy does not know: refused
        if user is not None:
            with _FAILURES_LOCK:
                _FAILURES.pop(username, None)
            return user
    with _FAILURES_LOCK:
        _FAILURES.setdefault(username, []).append(time.monotonic())
    return None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return P.hash_password("citysafety-no-such-user")


def _locked_out(username: str) -> bool:
    now = time.monotonic()
    with _FAILURES_LOCK:
        recent = [t for t in _FAILURES.get(username, []) if now - t < LOCK_SECONDS]
        _FAILURES[username] = recent
        return len(recent) >= MAX_FAILURES


def current_user() -> User | None:
    """The signed-in user of this session (None when nobody is, or sign-in is off)."""
    raw = st.session_state.get(USER_KEY)
    return User(**raw) if isinstance(raw, dict) else None


def _mode() -> str | None:
    return st.session_state.get(MODE_KEY)


def _principal_of(user: User | None) -> P.Principal | None:
    if user is None:
        return None
    try:
        return P.load().principal(user.principal)
    except KeyError:
        return None


def allowed_pages(user: User | None) -> frozenset[str] | None:
    """url_paths and titles of the pages the user may open; None: every page."""
    if user is None:  # nobody signed in: everything in demo mode, nothing when sign-in is on
        return frozenset() if _mode() == ON else None
    principal = _principal_of(user)
    return frozenset() if principal is None else P.load().page_grants(principal)


def allowed_streets(user: User | None) -> list[str] | None:
    """Street codes whose rows the user may see; None: every street."""
    if user is None:
        return [] if _mode() == ON else None
    principal = _principal_of(user)
    if principal is None:
        return []
    return None if principal.streets is None else list(principal.streets)


def _page_keys(page) -> set[str]:
    # The default page reports url_path "" (the root URL): match its declared path too.
    return {str(k) for k in (getattr(page, "_url_path", None), getattr(page, "url_path", None),
                             getattr(page, "title", None)) if k}


def visible_pages(pages: list) -> list:
    """The st.Page objects the signed-in user may open (every page when sign-in is off)."""
    grants = allowed_pages(current_user())
    if grants is None:
        return list(pages)
    shown = [p for p in pages if _page_keys(p) & grants]
    if not shown:
        st.info("您的账号没有可访问的页面，请联系数据管理员。", icon=":material/lock:")
        st.stop()
    return shown


# --- the data layer ---------------------------------------------------------------------------


def scoped_warehouse_path() -> Path | None:
    """The file this session's pages must read: None for the whole warehouse (leader, or
    sign-in off), the user's analyst file for a department or street office, and a path that
    does not exist when sign-in is on but nobody is signed in (fail closed)."""
    from citysafety.exports import analyst_file

    mode = _mode()
    if mode is None or mode == OFF:
        return None
    principal = _principal_of(current_user())
    if principal is None:
        return settings().home / "exports" / ".nobody" / "none.duckdb"
    if principal.unrestricted:
        return None
    return analyst_file(settings(), principal.name)


def _session_scope() -> Path | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:  # not in a Streamlit session: nobody to scope
        return None
    return scoped_warehouse_path()


def bind_data_layer() -> None:
    """Make ``dashboards.data`` read the signed-in user's file (idempotent)."""
    from dashboards import data

    data.set_scope(_session_scope)


# --- the page parts ---------------------------------------------------------------------------


def _login_form(users: dict[str, dict]) -> None:
    st.title("下城区城市安全管理平台")
    st.subheader("请登录")
    st.caption("按账号权限显示页面和数据：区领导看全区，部门看本部门授权的数据表，街道办只看本街道。")
    with st.form(LOGIN_FORM):
        username = st.text_input("用户名", key=USERNAME_KEY)
        password = st.text_input("密码", type="password", key=PASSWORD_KEY)
        submitted = st.form_submit_button("登录", type="primary")
    if not submitted:
        return
    if _locked_out(username.strip()):
        st.error(LOCKED)
        return
    user = authenticate(users, username, password)
    if user is None:
        st.error(LOCKED if _locked_out(username.strip()) else WRONG)
        return
    st.session_state[USER_KEY] = asdict(user)
    st.rerun()


def logout() -> None:
    for key in (USER_KEY, PASSWORD_KEY):
        st.session_state.pop(key, None)


def _sidebar(user: User) -> None:
    with st.sidebar:
        principal = _principal_of(user)
        scope = "全区" if principal is None or principal.streets is None else principal.name_zh
        st.caption(f"当前用户：{user.display_name}（{user.username}，{ROLE_NAMES.get(user.role, user.role)}，"
                   f"数据范围：{scope}）")
        st.button("退出登录", key=LOGOUT_KEY, on_click=logout, icon=":material/logout:")


def require_login() -> User | None:
    """Sign-in gate: returns the user (None in demo mode) or shows the login form and stops."""
    mode, users, where = load_users()
    st.session_state[MODE_KEY] = mode
    if mode == OFF:
        st.session_state.pop(USER_KEY, None)
        st.warning(OFF_BANNER if where.startswith(AUTH_ENV) else DEMO_BANNER, icon=":material/lock_open:")
        return None
    if mode == BROKEN:
        st.error("用户配置无法读取，暂时无法登录，请联系数据管理员。", icon=":material/lock:")
        st.caption(f"配置来源：{where}")
        st.stop()
    assert users is not None
    user = current_user()
    if user is not None:
        entry = users.get(user.username)
        try:
            still = entry is not None and _user_from_entry(user.username, entry) == user
        except KeyError:
            still = False
        if still:
            _sidebar(user)
            return user
        logout()  # removed or changed since sign-in: sign in again
    _login_form(users)
    st.stop()
    return None  # pragma: no cover - st.stop() ends the run
