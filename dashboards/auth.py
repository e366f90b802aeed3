"""Sign-in for the dashboards: who you are decides which pages and which streets you see.

Roles (policy/access.yml, read through citysafety.share.policy):

* ``leader`` sees every page and every street; its pages read the published warehouse;
* ``department`` (scope: emb, fire, traffic, stats, grid, safety_office, emergency) sees its
  pages, and its pages read its analyst file ``exports/<scope>/current/<scope>.duckdb``;
* ``street`` (scope: a street code, WL ... WH) sees its pages for its own street only, read from
  ``exports/street_<code>/current/street_<code>.duckdb``, which holds no other street's rows.

Fail closed. Data is served only to a signed-in user, unless ``CITYSAFETY_AUTH=off`` is set
explicitly (tests, a local demo); the app then says so on every page. No users configured
anywhere, or a users source that is missing where it is named, unreadable or malformed (bad
TOML/JSON, an entry that is not a table, an entry without role or password_hash, a role or
scope the policy does not know) stops the app with a message in Chinese before any page runs.

Users live outside the repository, with PBKDF2-SHA256 hashes (``citysafety.share.policy.hash_password``),
looked up in this order:

1. the file named by ``CITYSAFETY_USERS`` (JSON or TOML);
2. ``st.secrets["users"]`` (``.streamlit/secrets.toml``, kept out of git);
3. ``$CITYSAFETY_HOME/secrets/users.json`` (``python -m demo.accounts`` writes demo users).

Each holds ``{username: {role, scope, password_hash, display_name?}}`` (at the top level or under
``users``).

The data layer (``dashboards.data.warehouse_path``) asks ``_session_scope`` which file this
session may read: the published warehouse for the leader (or with sign-in off), the user's
analyst file otherwise; it raises ``NotSignedIn`` when nobody is signed in (or outside a
Streamlit session), never answers "everything" by default.

Sessions (``dashboards.signin_store``, ``$CITYSAFETY_HOME/secrets/signin.sqlite``): signing in
issues a token kept server-side (user, account fingerprint, issued, expires, revoked) and sent to
the browser as a cookie ``citysafety_session`` (``<id>.<expires>.<HMAC-SHA256>``, SameSite=Strict,
Path=/; never in the URL) for ``CITYSAFETY_SESSION_HOURS`` (default 8): a reload signs the person
back in. Signing out revokes the token (every tab holding it is signed out on its next run) and
clears the cookie. The HMAC key is ``st.secrets["session_key"]`` or
``$CITYSAFETY_HOME/secrets/session.key`` (0600, created on first use). Failed attempts are
throttled per (user name, client address) and every attempt, sign-out and download is in the
sign-in audit log (page 登录审计, for principals with ``pages: all``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import time
import tomllib
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import streamlit as st

from citysafety.share import policy as P
from citysafety.config import session_hours, settings
from citysafety.secretfiles import read_or_create_secret
from dashboards import signin_store as S

log = logging.getLogger(__name__)

USERS_ENV = "CITYSAFETY_USERS"
AUTH_ENV = "CITYSAFETY_AUTH"
USER_KEY = "citysafety_user"
TOKEN_KEY = "citysafety_token"
COOKIE_PENDING_KEY = "citysafety_cookie_pending"
NOTICE_KEY = "citysafety_signin_notice"
MODE_KEY = "citysafety_auth_mode"
LOGIN_FORM = "citysafety_login"
USERNAME_KEY = "citysafety_login_username"
PASSWORD_KEY = "citysafety_login_password"
LOGOUT_KEY = "citysafety_logout"
COOKIE_NAME = "citysafety_session"
SESSION_KEY_FILE = "session.key"
AUDIT_PAGE = "signin_audit"
LINK_KEY = "citysafety_link_before_signin"  # (page url path, query parameters) opened signed out

ON, OFF, BROKEN = "on", "off", "broken"
OFF_BANNER = "已关闭登录（CITYSAFETY_AUTH=off）：未经登录即可查看全部数据，仅限测试和本机演示。"
BROKEN_TITLE = "用户配置有误，仪表盘已停止运行，未读取任何数据。"
BROKEN_HINT = "请数据管理员检查用户配置（CITYSAFETY_USERS 指定的文件、.streamlit/secrets.toml 的 users 或 $CITYSAFETY_HOME/secrets/users.json）后刷新页面。"
WRONG = "用户名或密码错误。"
THROTTLED = "登录失败次数过多，请 {minutes} 分钟后再试。"
SESSION_ENDED = "登录已失效（已退出、已过期或账号已变更），请重新登录。"
ROLE_NAMES = {P.LEADER: "区领导", P.DEPARTMENT: "部门", P.STREET: "街道"}


@dataclass(frozen=True)
class User:
    username: str
    role: str  # leader | department | street
    scope: str | None  # department name or street code
    display_name: str
    principal: str  # the policy principal: leader, emb, ..., street_wl


class UsersUnavailable(Exception):
    """The users configuration is missing or unusable; ``str()`` is a Chinese reason."""


class NotSignedIn(PermissionError):
    """Data asked for while nobody is signed in (or outside a Streamlit session)."""

    def __init__(self, message: str = "未登录：请先登录后再查看数据。") -> None:
        super().__init__(message)


# --- where the users are ----------------------------------------------------------------------


def default_users_file() -> Path:
    return settings().secrets_dir / "users.json"


def auth_disabled() -> bool:
    return os.environ.get(AUTH_ENV, "").strip().lower() == "off"


def _read_users_file(path: Path) -> dict[str, dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsersUnavailable(f"用户文件不存在：{path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersUnavailable(f"用户文件无法读取：{path}（{type(exc).__name__}）") from exc
    toml = path.suffix.lower() == ".toml"
    try:
        doc = tomllib.loads(text) if toml else json.loads(text)
    except ValueError as exc:
        raise UsersUnavailable(f"用户文件格式错误（{'TOML' if toml else 'JSON'} 语法）：{path}") from exc
    return _users_mapping(doc, str(path))


def _users_mapping(doc: Any, where: str) -> dict[str, dict]:
    if isinstance(doc, dict) and "users" in doc:
        doc = doc["users"]
    if not isinstance(doc, dict) or not doc:
        raise UsersUnavailable(f"{where} 中没有用户表（应为 users.<用户名> = {{role, scope, password_hash}}）")
    users: dict[str, dict] = {}
    for number, (name, entry) in enumerate(doc.items(), start=1):
        if not hasattr(entry, "items"):
            log.error("users %s: entry %r is not a table", where, name)
            raise UsersUnavailable(f"{where} 中第 {number} 个用户条目不是表（应为 {{role, scope, password_hash}}）")
        entry = dict(entry.items())
        if not str(entry.get("role") or "").strip() or not str(entry.get("password_hash") or "").strip():
            log.error("users %s: entry %r has no role or password_hash", where, name)
            raise UsersUnavailable(f"{where} 中第 {number} 个用户条目缺少 role 或 password_hash")
        try:
            _user_from_entry(str(name), entry)
        except (KeyError, ValueError, P.PolicyError):
            log.error("users %s: entry %r: role/scope %r/%r unknown to the policy", where, name,
                      entry.get("role"), entry.get("scope"))
            raise UsersUnavailable(f"{where} 中第 {number} 个用户条目的角色或范围不在访问策略（policy/access.yml）中")
        users[str(name)] = entry
    return users


def _secrets_files_present() -> list[str]:
    try:
        from streamlit import config as st_config

        return [p for p in st_config.get_option("secrets.files") or [] if os.path.exists(p)]
    except Exception:  # noqa: BLE001 - no config: no files
        return []


def _secrets_users() -> dict[str, dict] | None:
    """The users of st.secrets; None when it has none; UsersUnavailable when it cannot be read."""
    if not st.secrets.load_if_toml_exists():
        present = _secrets_files_present()
        if present:  # a secrets file is there but Streamlit could not parse it
            raise UsersUnavailable(f"secrets 文件格式错误（TOML 语法）：{', '.join(present)}")
        return None
    if "users" not in st.secrets:
        return None
    raw = st.secrets["users"]
    if not hasattr(raw, "items"):
        raise UsersUnavailable("st.secrets 中的 users 不是表")
    return _users_mapping({str(k): v for k, v in raw.items()}, "st.secrets")


def load_users() -> tuple[str, dict[str, dict] | None, str]:
    """(mode, users, where): ON with the users, OFF when switched off, BROKEN (where: why)."""
    if auth_disabled():
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
    return BROKEN, None, (f"未配置任何用户：没有 {USERS_ENV}，st.secrets 中没有 users，也没有 {default}。"
                          f"（仅测试或本机演示可设 {AUTH_ENV}=off 关闭登录）")


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


def fingerprint(username: str, entry: dict) -> str:
    """What a session is bound to: the account as it was at sign-in (a change ends the session)."""
    material = json.dumps([username, str(entry.get("role")), entry.get("scope"),
                           str(entry.get("password_hash"))], ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return P.hash_password("citysafety-no-such-user")


def store() -> S.SigninStore:
    return S.SigninStore(S.default_path())


def client_address() -> str:
    """The client's address (st.context.ip_address; None on loopback: 本机)."""
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - outside a session
        address = None
    return address if isinstance(address, str) and address else S.LOCAL_ADDRESS


def authenticate(users: dict[str, dict], username: str, password: str, address: str | None,
                 signin: S.SigninStore) -> tuple[User | None, str, float]:
    """(user or None, reason, seconds to wait): checks the throttle of (user name, address) first,
    then the password (an unknown name costs as much as a wrong password), and logs the attempt."""
    name = username.strip()[:S.MAX_NAME_LENGTH]
    wait = signin.throttle_wait(name, address)
    if wait > 0:
        signin.record(S.SIGNIN, name, address, success=False, reason=S.THROTTLED)
        return None, S.THROTTLED, wait
    entry = users.get(name)
    ok = P.verify_password(password, str(entry.get("password_hash", "")) if entry else _dummy_hash())
    if ok and entry is not None:
        signin.record(S.SIGNIN, name, address, success=True, reason=S.OK)
        return _user_from_entry(name, entry), S.OK, 0.0
    reason = S.WRONG_PASSWORD if entry is not None else S.UNKNOWN_ACCOUNT
    signin.record(S.SIGNIN, name, address, success=False, reason=reason)
    return None, reason, signin.throttle_wait(name, address)


# --- session tokens and the cookie ------------------------------------------------------------


def _session_key() -> bytes:
    try:
        if st.secrets.load_if_toml_exists() and "session_key" in st.secrets:
            return str(st.secrets["session_key"]).encode("utf-8")
    except Exception:  # noqa: BLE001 - no usable secrets: the key file
        pass
    path = settings().secrets_dir / SESSION_KEY_FILE
    return read_or_create_secret(path, lambda: secrets.token_urlsafe(48)).encode("utf-8")


def _sign(token_id: str, expires: int) -> str:
    return hmac.new(_session_key(), f"{token_id}.{expires}".encode(), hashlib.sha256).hexdigest()


def cookie_value(token_id: str, expires: float) -> str:
    return f"{token_id}.{int(expires)}.{_sign(token_id, int(expires))}"


def _parse_cookie(value: str) -> tuple[str | None, str]:
    """(token id, OK) for a well-signed, unexpired cookie value, else (None, why not)."""
    try:
        token_id, expires_text, signature = value.rsplit(".", 2)
        expires = int(expires_text)
    except ValueError:
        return None, S.BAD_SIGNATURE
    if not hmac.compare_digest(signature, _sign(token_id, expires)):
        return None, S.BAD_SIGNATURE
    if expires <= time.time():
        return None, S.EXPIRED
    return token_id, S.OK


def start_session(user: User, entry: dict, address: str | None, signin: S.SigninStore,
                  hours: float | None = None, now: float | None = None) -> tuple[str, str]:
    """Issue a token for the user: (token id, cookie value)."""
    token_id, expires = signin.issue(user.username, fingerprint(user.username, entry), address,
                                     session_hours() if hours is None else hours, now=now)
    return token_id, cookie_value(token_id, expires)


def _cookie_script(value: str, max_age: int) -> str:
    # Same-origin iframe (sandbox allow-same-origin allow-scripts): write the app page's cookie.
    # Secure cannot be set on plain http on loopback; HttpOnly cannot be set from a script.
    cookie = f"{COOKIE_NAME}={value}; Max-Age={max_age}; Path=/; SameSite=Strict"
    return ("<script>(function(){var c=" + json.dumps(cookie) + ";"
            "try{window.parent.document.cookie=c;}catch(e){document.cookie=c;}})();</script>")


def _emit_cookie() -> None:
    pending = st.session_state.get(COOKIE_PENDING_KEY)
    if pending is None:
        return
    value, max_age = pending
    st.iframe(_cookie_script(value, max_age), height=1, alt="会话")


def _cookie_from_browser() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # noqa: BLE001 - no request context
        return None
    return value if isinstance(value, str) else None  # AppTest has no browser: no cookie


def _live(user: User, token_id: str | None, users: dict[str, dict], signin: S.SigninStore) -> str:
    """OK when the session's token still holds for the account as configured now, else why not."""
    entry = users.get(user.username)
    if token_id is None:
        return S.BAD_SIGNATURE
    _, reason = signin.check(token_id, user.username,
                             None if entry is None else fingerprint(user.username, entry))
    if reason == S.OK and (entry is None or _user_from_entry(user.username, entry) != user):
        return S.ACCOUNT_CHANGED
    return reason


def _restore_from_cookie(users: dict[str, dict], signin: S.SigninStore) -> User | None:
    raw = _cookie_from_browser()
    if not raw:
        return None
    token_id, reason = _parse_cookie(raw)
    row = None if token_id is None else signin.token(token_id)
    user = None
    if row is not None and row["username"] in users:
        user = _user_from_entry(row["username"], users[row["username"]])
        reason = _live(user, token_id, users, signin)
    elif token_id is not None:
        reason = S.BAD_SIGNATURE if row is None else S.ACCOUNT_CHANGED
    if reason != S.OK:
        if st.session_state.get(COOKIE_PENDING_KEY) != ("", 0):
            signin.record(S.REFUSED, None if row is None else row["username"], client_address(),
                          success=False, reason=reason)
        st.session_state[COOKIE_PENDING_KEY] = ("", 0)  # clear the dead cookie
        return None
    st.session_state[USER_KEY] = asdict(user)
    st.session_state[TOKEN_KEY] = token_id
    signin.record(S.RESUME, user.username, client_address(), success=True, reason=S.OK)
    return user


# --- who is signed in -------------------------------------------------------------------------


def current_user() -> User | None:
    """The signed-in user of this session (None when nobody is, or sign-in is off)."""
    raw = st.session_state.get(USER_KEY)
    return User(**raw) if isinstance(raw, dict) else None


def _mode() -> str | None:
    return st.session_state.get(MODE_KEY)


def principal_of(user: User | None) -> P.Principal | None:
    """The policy principal of a signed-in user (None: nobody signed in, or not in the policy)."""
    if user is None:
        return None
    try:
        return P.load().principal(user.principal)
    except KeyError:
        return None


def allowed_pages(user: User | None) -> frozenset[str] | None:
    """url_paths and titles of the pages the user may open; None: every page."""
    if user is None:  # nobody signed in: every page with sign-in off, else nothing
        return None if _mode() == OFF or auth_disabled() else frozenset()
    principal = principal_of(user)
    return frozenset() if principal is None else P.load().page_grants(principal)


def allowed_streets(user: User | None) -> list[str] | None:
    """Street codes whose rows the user may see; None: every street."""
    if user is None:  # nobody signed in: every street with sign-in off, else none
        return None if _mode() == OFF or auth_disabled() else []
    principal = principal_of(user)
    if principal is None:
        return []
    return None if principal.streets is None else list(principal.streets)


def can_read_audit(user: User | None = None) -> bool:
    """The sign-in audit log is for signed-in principals with `pages: all` (leader, 区安委办); with
    sign-in explicitly off everything is open, this page too."""
    if _mode() == OFF:
        return True
    user = current_user() if user is None else user
    principal = principal_of(user)
    return _mode() == ON and principal is not None and principal.pages is None


def can_read_quality_report(user: User | None = None) -> bool:
    """The quality report (Data Docs) covers every feed and street: for signed-in principals the
    policy grants the 数据健康 page, the gate's results (audit.quality_results) and every street
    (today the leader and 区安委办); with sign-in explicitly off everything is open."""
    if _mode() == OFF or auth_disabled():
        return True
    user = current_user() if user is None else user
    principal = principal_of(user)
    return (_mode() == ON and principal is not None and principal.streets is None
            and principal.sees_table("audit.quality_results") and principal.sees_page("data_health", "数据健康"))


def _page_keys(page) -> set[str]:
    # The default page reports url_path "" (the root URL): match its declared path too.
    return {str(k) for k in (getattr(page, "_url_path", None), getattr(page, "url_path", None),
                             getattr(page, "title", None)) if k}


def visible_pages(pages: list) -> list:
    """The st.Page objects the signed-in user may open (every page with sign-in off)."""
    user = current_user()
    grants = allowed_pages(user)
    if grants is None:
        shown = list(pages)
    else:
        shown = [p for p in pages if _page_keys(p) & grants]
    if not can_read_audit(user):
        shown = [p for p in shown if AUDIT_PAGE not in _page_keys(p)]
    if not shown:
        st.info("您的账号没有可访问的页面，请联系数据管理员。", icon=":material/lock:")
        st.stop()
    return shown


# --- a link opened before signing in -------------------------------------------------------------


def _remember_link() -> None:
    """Keep the page and filters of the address the sign-in form was shown at (a shared link such
    as ``/risk?streets=WL,TS&level=red``), so that signing in lands there rather than on 总览.
    The first address that names a page or filters is kept: the form's own reruns carry none."""
    if st.session_state.get(LINK_KEY) is not None:
        return
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    page = (ctx.pages_manager.intended_page_name or "") if ctx is not None else ""
    params = st.query_params.to_dict()
    if page or params:
        st.session_state[LINK_KEY] = (page.strip("/"), params)


def land_on_link(current, pages: list) -> None:
    """After signing in, open the page and filters of the link the sign-in form was shown at.

    ``current`` is the page st.navigation chose, ``pages`` the pages this user may open: a page
    outside the grant is not opened (the user stays on the page chosen), and filters select within
    the grant only (a street office's link naming other streets shows its own street: the filters
    drop what the account may not see)."""
    link = st.session_state.get(LINK_KEY)
    if link is None or current_user() is None:
        return
    del st.session_state[LINK_KEY]
    path, params = link
    target = next((p for p in pages if path in _page_keys(p)), None) if path else current
    if target is None:
        return
    if _page_keys(target) & _page_keys(current):
        for name, value in params.items():
            if name not in st.query_params:
                st.query_params[name] = value
        return
    st.switch_page(target, query_params=params or None)


# --- the data layer ---------------------------------------------------------------------------


def scoped_warehouse_path() -> Path:
    """The file this session's pages must read: the published warehouse for the leader (or with
    sign-in explicitly off), the user's analyst file for a department or street office.
    Raises NotSignedIn when sign-in is on and nobody signed in is bound to the session."""
    from citysafety.share.exports import analyst_file

    if auth_disabled():
        return settings().warehouse_db
    if _mode() != ON or st.session_state.get(TOKEN_KEY) is None:
        raise NotSignedIn()
    principal = principal_of(current_user())
    if principal is None:
        raise NotSignedIn()
    if principal.unrestricted:
        return settings().warehouse_db
    return analyst_file(settings(), principal.name)


def _session_scope() -> Path:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:  # not in a Streamlit session: nobody to scope
        raise NotSignedIn("未登录：不在仪表盘会话中，不能读取数据。")
    return scoped_warehouse_path()


def bind_data_layer() -> None:
    """Make ``dashboards.data`` read the signed-in user's file (idempotent)."""
    from dashboards import data

    data.set_scope(_session_scope)


# --- audit hooks --------------------------------------------------------------------------------


def record_download(file_name: str, rows: int) -> None:
    """Log a download (st.download_button's on_click): who, from where, which file, how many rows."""
    user = current_user()
    try:
        store().record(S.DOWNLOAD, None if user is None else user.username, client_address(),
                       success=True, reason=S.OK, detail=f"{file_name}（{rows} 行）")
    except Exception:  # noqa: BLE001 - the download itself must not fail on the log
        log.exception("could not record the download of %s", file_name)


def record_report_open(page: str) -> None:
    """Log an open of a quality report page, like a download: who, from where, which page."""
    user = current_user()
    try:
        store().record(S.REPORT, None if user is None else user.username, client_address(),
                       success=True, reason=S.OK, detail=f"质量报告 {page}")
    except Exception:  # noqa: BLE001 - showing the report must not fail on the log
        log.exception("could not record the open of the quality report %s", page)


# --- the page parts ---------------------------------------------------------------------------


def _login_form(users: dict[str, dict], signin: S.SigninStore) -> None:
    st.title("下城区城市安全管理平台")
    st.subheader("请登录")
    st.caption("按账号权限显示页面和数据：区领导看全区，部门看本部门授权的数据表，街道办只看本街道。")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice, icon=":material/info:")
    with st.form(LOGIN_FORM):
        username = st.text_input("用户名", key=USERNAME_KEY)
        password = st.text_input("密码", type="password", key=PASSWORD_KEY)
        submitted = st.form_submit_button("登录", type="primary")
    _emit_cookie()
    if not submitted:
        return
    address = client_address()
    user, reason, wait = authenticate(users, username, password, address, signin)
    if user is None:
        st.error(THROTTLED.format(minutes=max(1, -(-int(wait) // 60))) if wait > 0 else WRONG)
        return
    token_id, value = start_session(user, users[user.username], address, signin)
    st.session_state[USER_KEY] = asdict(user)
    st.session_state[TOKEN_KEY] = token_id
    st.session_state[COOKIE_PENDING_KEY] = (value, int(session_hours() * 3600))
    st.session_state.pop(PASSWORD_KEY, None)
    st.rerun()


def _forget(notice: str | None = None) -> None:
    for key in (USER_KEY, TOKEN_KEY, PASSWORD_KEY):
        st.session_state.pop(key, None)
    st.session_state[COOKIE_PENDING_KEY] = ("", 0)  # clear the browser's cookie
    if notice:
        st.session_state[NOTICE_KEY] = notice


def logout() -> None:
    """Sign out: revoke the session's token everywhere, clear the cookie, log it."""
    user, token_id = current_user(), st.session_state.get(TOKEN_KEY)
    signin = store()
    if token_id is not None:
        signin.revoke(token_id)
    if user is not None:
        signin.record(S.SIGNOUT, user.username, client_address(), success=True, reason=S.OK)
    _forget("您已退出登录。")


def _sidebar(user: User) -> None:
    with st.sidebar:
        principal = principal_of(user)
        scope = "全区" if principal is None or principal.streets is None else principal.name_zh
        st.caption(f"当前用户：{user.display_name}（{user.username}，{ROLE_NAMES.get(user.role, user.role)}，"
                   f"数据范围：{scope}）")
        st.button("退出登录", key=LOGOUT_KEY, on_click=logout, icon=":material/logout:")
        _emit_cookie()


def require_login() -> User | None:
    """Sign-in gate: returns the user (None with sign-in off) or shows the login form and stops.
    A users configuration that cannot be used stops the app here, before any page runs."""
    mode, users, where = load_users()
    st.session_state[MODE_KEY] = mode
    if mode == OFF:
        for key in (USER_KEY, TOKEN_KEY):
            st.session_state.pop(key, None)
        st.warning(OFF_BANNER, icon=":material/lock_open:")
        return None
    if mode == BROKEN:
        for key in (USER_KEY, TOKEN_KEY):
            st.session_state.pop(key, None)
        log.error("dashboard stopped: users configuration unusable: %s", where)
        st.error(f"{BROKEN_TITLE}\n\n原因：{where}\n\n{BROKEN_HINT}", icon=":material/lock:")
        st.stop()
    assert users is not None
    signin = store()
    user = current_user()
    if user is not None:
        reason = _live(user, st.session_state.get(TOKEN_KEY), users, signin)
        if reason != S.OK:
            signin.record(S.REFUSED, user.username, client_address(), success=False, reason=reason)
            _forget(SESSION_ENDED)
            user = None
    if user is None:
        user = _restore_from_cookie(users, signin)
    if user is not None:
        _sidebar(user)
        return user
    _remember_link()
    _login_form(users, signin)
    st.stop()
    return None  # pragma: no cover - st.stop() ends the run
