"""The dashboard's boundary holds by construction and fails closed (dashboards/auth.py).

* fail closed: every users configuration that cannot be used (nothing configured, a named file
  missing, bad TOML/JSON, an entry that is not a table, without role or password_hash, a role or
  scope the policy does not know) stops the app with a Chinese message: no sign-in form, no page,
  no data; CITYSAFETY_AUTH=off (only explicitly) shows a banner on every page;
* the data layer's resolver: a path, or NotSignedIn;
* throttling by (user name, client address), kept in the sign-in store across restarts; the
  sign-in audit log (success, failure and why, sign-out, download) and its page, for `pages: all`;
* in headless Chromium against a served app: a reload keeps the sign-in, signing out ends it in
  every tab holding the cookie, an expired token is refused, downloads are logged;
* services listen on 127.0.0.1 unless CITYSAFETY_BIND_ADDRESS says otherwise; secret files are 0600.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict
from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from citysafety.orchestrate import cli, runner
from citysafety.share import policy as P
from citysafety.config import Settings
from demo import accounts
from dashboard_harness import APP, ROOT, free_port, require_chromium, wait_healthy, wait_text
from dashboard_harness import screenshot, served_app, warehouse_fixture
from dashboards import auth
from dashboards import signin_store as S
from test_dashboard_overview import build_warehouse

PASSWORDS = {"leader": "leader-pw-1", "safety_office": "so-pw-1", "traffic": "traffic-pw-1",
             "street_wl": "wl-pw-1"}
AUDIT_VIEW = "views/signin_audit.py"

warehouse_home = warehouse_fixture(build_warehouse)


def entries(passwords: dict[str, str] = PASSWORDS) -> dict[str, dict]:
    policy = P.load()
    out = {}
    for name, password in passwords.items():
        principal = policy.principal(name)
        out[name] = {"role": principal.kind, "scope": accounts.scope_of(principal),
                     "password_hash": P.hash_password(password, iterations=1000)}
    return out


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    """A CITYSAFETY_HOME without any users; sign-in neither switched off nor configured."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("CITYSAFETY_HOME", str(home))
    for name in ("CITYSAFETY_AUTH", "CITYSAFETY_USERS", "CITYSAFETY_BIND_ADDRESS", "CITYSAFETY_SESSION_HOURS"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def users(site, monkeypatch) -> Path:
    path = accounts.write_users(site / "secrets" / "users.json", entries())
    monkeypatch.setenv("CITYSAFETY_USERS", str(path))
    return path


def app(**secrets) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    for key, value in secrets.items():
        at.secrets[key] = value
    return at


def pages_of(at: AppTest) -> set[str]:
    return {Path(str(i["script_path"])).stem for i in at._registered_pages.values() if i.get("script_path")}


def sign_in(username: str, password: str) -> AppTest:
    at = app().run()
    assert [s.value for s in at.subheader][:1] == ["请登录"] and not at.metric
    at.text_input(key=auth.USERNAME_KEY).input(username)
    at.text_input(key=auth.PASSWORD_KEY).input(password)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def assert_stopped(at: AppTest, reason: str) -> None:
    """The app stopped on the configuration: its Chinese message, and nothing else ran."""
    assert not at.exception, [e.message for e in at.exception]
    errors = [e.value for e in at.error]
    assert any(auth.BROKEN_TITLE in e and reason in e for e in errors), errors
    assert not at.text_input and not at.button  # no sign-in form
    assert not at.metric and not at.dataframe and not at.get("vega_lite_chart")  # no data
    assert pages_of(at) <= {"app"}  # st.navigation never ran: no page
    assert auth.MODE_KEY in at.session_state and at.session_state[auth.MODE_KEY] == auth.BROKEN


# --- fail closed ------------------------------------------------------------------------------


def test_nothing_configured_stops_the_app(site, warehouse_home):
    (site / "warehouse").symlink_to(warehouse_home / "warehouse")  # data there, none served
    assert_stopped(app().run(), "未配置任何用户")


@pytest.mark.parametrize("name, content, reason", [
    ("missing.json", None, "用户文件不存在"),
    ("users.toml", "[users.leader\nrole = 'leader'\n", "TOML 语法"),
    ("users.json", '{"users": {"leader": ', "JSON 语法"),
    ("users.json", '{"users": {"leader": "leader-pw-1"}}', "不是表"),
    ("users.json", '{"users": {"leader": {"role": "leader"}}}', "缺少 role 或 password_hash"),
    ("users.json", '{"users": {"boss": {"role": "mayor", "password_hash": "x"}}}', "不在访问策略"),
    ("users.json", '{"users": {"x": {"role": "street", "scope": "ZZ", "password_hash": "x"}}}', "不在访问策略"),
    ("users.json", '{"users": {}}', "没有用户表"),
])
def test_a_named_users_file_that_cannot_be_used_stops_the_app(site, monkeypatch, name, content, reason):
    path = site / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    monkeypatch.setenv("CITYSAFETY_USERS", str(path))
    assert_stopped(app().run(), reason)


def test_default_users_file_deleted_or_broken_stops_the_app(site):
    path = accounts.write_users(site / "secrets" / "users.json", entries())
    sign_in("leader", PASSWORDS["leader"])  # works while it is there
    path.write_text('{"users": {"leader": {"role": "leader", "password_hash": 1', encoding="utf-8")
    assert_stopped(app().run(), "JSON 语法")
    path.unlink()  # deleted: not demo mode, a stop
    assert_stopped(app().run(), "未配置任何用户")


def test_secrets_that_cannot_be_used_stop_the_app(site, tmp_path):
    # A secrets.toml with a syntax error (Streamlit cannot parse it).
    bad = tmp_path / "secrets.toml"
    bad.write_text("[users.leader]\nrole = 'leader\n", encoding="utf-8")
    saved = st_config.get_option("secrets.files")
    st_config.set_option("secrets.files", [str(bad)])
    try:
        assert_stopped(app().run(), "secrets 文件格式错误")
    finally:
        st_config.set_option("secrets.files", saved)
    # st.secrets["users"] with an entry that is not a table, or a role the policy does not know.
    assert_stopped(app(users={"leader": "leader-pw-1"}).run(), "不是表")
    assert_stopped(app(users={"leader": {"role": "mayor", "password_hash": "x"}}).run(), "不在访问策略")


def test_auth_off_only_explicitly_with_a_banner_on_every_page(site, warehouse_home, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(warehouse_home))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")
    at = app().run()
    assert not at.exception and at.metric  # the data, without sign-in
    pages = sorted(pages_of(at) - {"app"})
    assert {"overview", "data_health", "signin_audit"} <= set(pages)
    for page in pages:
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, [e.message for e in at.exception])
        assert any(auth.OFF_BANNER in w.value for w in at.warning), page


# --- the data layer's resolver ----------------------------------------------------------------


def _probe():
    import streamlit as st

    from dashboards import auth, data

    auth.bind_data_layer()
    st.session_state.setdefault(auth.MODE_KEY, auth.ON)
    try:
        st.markdown(f"path={data.warehouse_path()}")
    except data.NotBound as exc:  # the data layer refuses (auth.NotSignedIn underneath)
        st.markdown(f"refused={exc}")


def test_resolver_returns_a_path_or_raises_not_signed_in(users, site, monkeypatch):
    cfg = Settings(home=site)
    # Outside a Streamlit session: nobody to scope.
    with pytest.raises(auth.NotSignedIn) as refused:
        auth._session_scope()
    assert isinstance(refused.value, PermissionError) and "未登录" in str(refused.value)
    # Sign-in on, nobody bound: refused (never "the whole warehouse" by default).
    at = AppTest.from_function(_probe, default_timeout=30).run()
    assert [m.value for m in at.markdown] == ["refused=未登录：请先登录后再查看数据。"]
    # A user without a live session token is nobody.
    user = auth._user_from_entry("leader", entries()["leader"])
    at = AppTest.from_function(_probe, default_timeout=30)
    at.session_state[auth.USER_KEY] = asdict(user)
    assert [m.value for m in at.run().markdown][0].startswith("refused=")
    # Signed in: the leader reads the warehouse, a street office its analyst file.
    for name, expected in (("leader", cfg.warehouse_db),
                           ("street_wl", cfg.home / "exports" / "street_wl" / "current" / "street_wl.duckdb")):
        entry = entries()[name]
        user = auth._user_from_entry(name, entry)
        at = AppTest.from_function(_probe, default_timeout=30)
        at.session_state[auth.USER_KEY] = asdict(user)
        at.session_state[auth.TOKEN_KEY] = auth.start_session(user, entry, None, auth.store())[0]
        assert [m.value for m in at.run().markdown] == [f"path={expected}"]
    # Sign-in switched off explicitly: the warehouse.
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")
    assert [m.value for m in AppTest.from_function(_probe, default_timeout=30).run().markdown] == [
        f"path={cfg.warehouse_db}"]


# --- throttling and the audit log -------------------------------------------------------------


def test_throttle_is_per_user_and_address_and_survives_a_restart(tmp_path):
    path = tmp_path / "secrets" / "signin.sqlite"
    store, t0 = S.SigninStore(path), 1_900_000_000.0
    for i in range(S.MAX_FAILURES - 1):
        store.record(S.SIGNIN, "leader", "10.0.0.9", success=False, reason=S.WRONG_PASSWORD, now=t0 + i)
    assert store.throttle_wait("leader", "10.0.0.9", now=t0 + 10) == 0  # four: not yet
    store.record(S.SIGNIN, "leader", "10.0.0.9", success=False, reason=S.WRONG_PASSWORD, now=t0 + 5)
    assert store.throttle_wait("leader", "10.0.0.9", now=t0 + 10) == pytest.approx(55)  # 60 s after the 5th
    assert store.throttle_wait("leader", "10.0.0.7", now=t0 + 10) == 0  # another address: not locked out
    assert store.throttle_wait("emb", "10.0.0.9", now=t0 + 10) == 0  # another user from there: neither
    # A restart (a new store on the same file) keeps it; the wait doubles with each failure.
    store = S.SigninStore(path)
    assert store.throttle_wait("leader", "10.0.0.9", now=t0 + 10) == pytest.approx(55)
    store.record(S.SIGNIN, "leader", "10.0.0.9", success=False, reason=S.UNKNOWN_ACCOUNT, now=t0 + 70)
    assert store.throttle_wait("leader", "10.0.0.9", now=t0 + 70) == pytest.approx(120)
    # Throttled attempts are logged but do not count; failures older than the window expire.
    store.record(S.SIGNIN, "leader", "10.0.0.9", success=False, reason=S.THROTTLED, now=t0 + 80)
    assert store.throttle_wait("leader", "10.0.0.9", now=t0 + 80) == pytest.approx(110)
    assert store.throttle_wait("leader", "10.0.0.9", now=t0 + S.WINDOW_SECONDS + 6) == 0
    # A success of that pair starts it afresh.
    store.record(S.SIGNIN, "leader", "10.0.0.9", success=True, reason=S.OK, now=t0 + 75)
    assert store.throttle_wait("leader", "10.0.0.9", now=t0 + 80) == 0


def test_failed_signins_throttle_that_address_only_and_are_audited(users, site):
    for _ in range(S.MAX_FAILURES - 1):
        at = sign_in("leader", "Tr0ub4dor-x")
        assert [e.value for e in at.error] == [auth.WRONG]
    at = sign_in("leader", "Tr0ub4dor-x")  # the fifth: from now on this address waits
    assert any("登录失败次数过多" in e.value for e in at.error)
    # A restart (a new app session, a new store object): the right password is refused too.
    at = sign_in("leader", PASSWORDS["leader"])
    assert any("登录失败次数过多，请 1 分钟后再试" in e.value for e in at.error)
    assert auth.USER_KEY not in at.session_state and not at.metric
    # The same account from another address is not locked out (it knows the password).
    signin = S.SigninStore(S.default_path(Settings(home=site)))
    user, reason, _ = auth.authenticate(json.loads(users.read_text("utf-8"))["users"], "leader",
                                        PASSWORDS["leader"], "192.0.2.77", signin)
    assert user is not None and user.principal == "leader" and reason == S.OK
    # An unknown name gets the same answer as a wrong password (no hint which names exist).
    at = sign_in("no_such_user", "x")
    assert [e.value for e in at.error] == [auth.WRONG]
    rows = signin.events()
    got = [(r["username"], r["address"], r["event"], r["success"], r["reason"]) for r in reversed(rows)]
    assert got == ([("leader", S.LOCAL_ADDRESS, S.SIGNIN, 0, S.WRONG_PASSWORD)] * 5
                   + [("leader", S.LOCAL_ADDRESS, S.SIGNIN, 0, S.THROTTLED),
                      ("leader", "192.0.2.77", S.SIGNIN, 1, S.OK),
                      ("no_such_user", S.LOCAL_ADDRESS, S.SIGNIN, 0, S.UNKNOWN_ACCOUNT)])
    assert all(r["at_utc"].endswith("+00:00") for r in rows)
    assert not any(PASSWORDS["leader"] in json.dumps(r) or "Tr0ub4dor" in json.dumps(r) for r in rows)


def test_success_signout_and_the_leader_only_audit_page(users, site):
    at = sign_in("traffic", PASSWORDS["traffic"])
    assert pages_of(at) - {"app"} == {"overview", "risk"}  # no 登录审计
    with pytest.raises(ValueError):
        at.switch_page(AUDIT_VIEW)
    at.button(key=auth.LOGOUT_KEY).click().run()
    assert [s.value for s in at.subheader][:1] == ["请登录"] and any("已退出登录" in i.value for i in at.info)
    # The page checks for itself too (opened without the app's sign-in gate).
    page = AppTest.from_file(str(ROOT / "dashboards" / AUDIT_VIEW), default_timeout=30).run()
    assert any("无权查看登录审计" in e.value for e in page.error) and not page.dataframe
    for name in ("leader", "safety_office"):  # `pages: all`
        at = sign_in(name, PASSWORDS[name])
        assert "signin_audit" in pages_of(at)
    at.switch_page(AUDIT_VIEW).run()
    assert not at.exception, [e.message for e in at.exception]
    assert [t.value for t in at.title] == ["登录审计"]
    table = at.dataframe[0].value
    assert list(table.columns) == ["时间（北京时间）", "用户名", "来源地址", "事件", "结果", "原因", "详情"]
    seen = set(zip(table["用户名"], table["事件"], table["结果"]))
    assert {("traffic", "登录", "成功"), ("traffic", "退出登录", "成功"), ("leader", "登录", "成功"),
            ("safety_office", "登录", "成功")} <= seen
    # Filter by user and date.
    at.selectbox(key="signin_audit_user").select("traffic").run()
    assert set(at.dataframe[0].value["用户名"]) == {"traffic"}
    assert {m.label: m.value for m in at.metric}["登录成功"] == "1 次"
    import datetime as dt

    past = dt.date(2020, 1, 1)
    at.date_input(key="signin_audit_period").set_value((past, past)).run()
    assert not at.dataframe and any("没有记录" in i.value for i in at.info)


def test_a_changed_or_removed_account_ends_its_session(users):
    at = sign_in("street_wl", PASSWORDS["street_wl"])
    assert any("当前用户" in c.value for c in at.sidebar.caption) and auth.TOKEN_KEY in at.session_state
    changed = entries({**PASSWORDS, "street_wl": "new-password"})
    accounts.write_users(users, changed)
    at.run()
    assert [s.value for s in at.subheader][:1] == ["请登录"] and not at.sidebar.caption
    assert auth.TOKEN_KEY not in at.session_state
    assert any(auth.SESSION_ENDED in i.value for i in at.info)


# --- in the browser ---------------------------------------------------------------------------


def _sign_in_browser(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/")
    wait_text(page, "请登录", exact=True)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    wait_text(page, "当前用户")


def _session_cookie(context) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == auth.COOKIE_NAME), None)


def test_browser_session_survives_reload_and_sign_out_ends_it_everywhere(warehouse_home, tmp_path, monkeypatch):
    require_chromium()
    from playwright.sync_api import sync_playwright

    home = tmp_path / "home"
    monkeypatch.setenv("CITYSAFETY_HOME", str(home))  # the same session key as the server's
    (home / "warehouse").mkdir(parents=True)
    (home / "warehouse" / "citysafety.duckdb").symlink_to(warehouse_home / "warehouse" / "citysafety.duckdb")
    users_file = accounts.write_users(home / "secrets" / "users.json", entries())
    env = {"CITYSAFETY_USERS": str(users_file), "CITYSAFETY_SESSION_HOURS": "2"}
    with served_app(home, tmp_path / "streamlit.log", auth=True, env_extra=env) as base, \
            sync_playwright() as pw:
        from dashboard_harness import CHROMIUM, CHROMIUM_ARGS

        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            one = browser.new_context()
            page = one.new_page()
            page.goto(f"{base}/")
            wait_text(page, "请登录", exact=True)
            screenshot(page, "signin_form")
            _sign_in_browser(page, base, "leader", PASSWORDS["leader"])
            wait_text(page, "2020年各类生产安全事故死亡人数", exact=True)
            page.wait_for_function(f"document.cookie.includes('{auth.COOKIE_NAME}=')", timeout=10_000)
            cookie = _session_cookie(one)
            assert cookie and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
            assert 1.9 * 3600 < cookie["expires"] - time.time() <= 2 * 3600 + 5
            assert PASSWORDS["leader"] not in cookie["value"] and cookie["value"] not in page.url
            # A reload keeps the sign-in.
            page.reload()
            wait_text(page, "当前用户")
            wait_text(page, "2020年各类生产安全事故死亡人数", exact=True)
            assert "请登录" not in page.inner_text("body")
            # Another browser holding the same cookie, and a second tab of the first one.
            two = browser.new_context()
            two.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path", "expires", "sameSite")}])
            other = two.new_page()
            other.goto(f"{base}/")
            wait_text(other, "当前用户")
            tab = one.new_page()
            tab.goto(f"{base}/")
            wait_text(tab, "当前用户")
            # A download is logged (the leader downloads the audit log itself).
            page.goto(f"{base}/signin_audit")
            wait_text(page, "审计记录", exact=False)
            page.wait_for_timeout(1500)  # the table draws on a canvas after the text
            screenshot(page, "signin_audit")
            with page.expect_download() as download:
                page.get_by_role("button", name="下载 CSV").click()
            assert download.value.suggested_filename.startswith("登录审计_")
            # Sign out in the first tab: the cookie is cleared there ...
            page.get_by_role("button", name="退出登录").click()
            wait_text(page, "请登录", exact=True)
            page.wait_for_function(f"!document.cookie.includes('{auth.COOKIE_NAME}=')", timeout=10_000)
            assert _session_cookie(one) is None
            # ... and every session holding the token is signed out on its next run.
            tab.reload()
            wait_text(tab, "请登录", exact=True)
            other.reload()  # still sends the old cookie: revoked server-side
            wait_text(other, "请登录", exact=True)
            assert "当前用户" not in other.inner_text("body")
            # An expired token is refused, however well signed.
            signin = S.SigninStore(S.default_path(Settings(home=home)))
            entry = entries()["leader"]
            user = auth._user_from_entry("leader", entry)
            token_id, expires = signin.issue("leader", auth.fingerprint("leader", entry), None, hours=1,
                                             now=time.time() - 7200)
            expired = auth.cookie_value(token_id, expires)
            _, live_value = auth.start_session(user, entry, None, signin, hours=1)
            forged = live_value.rsplit(".", 1)[0] + "." + "0" * 64
            for value in (expired, forged):
                three = browser.new_context()
                three.add_cookies([{"name": auth.COOKIE_NAME, "value": value, "url": base}])
                late = three.new_page()
                late.goto(f"{base}/")
                wait_text(late, "请登录", exact=True)
                assert "当前用户" not in late.inner_text("body")
                three.close()
        finally:
            browser.close()
    rows = signin.events()
    kinds = [(r["username"], r["event"], r["reason"]) for r in reversed(rows)]
    assert ("leader", S.SIGNIN, S.OK) in kinds and ("leader", S.SIGNOUT, S.OK) in kinds
    assert kinds.count(("leader", S.RESUME, S.OK)) >= 3  # the reload, the other browser, the tab
    assert ("leader", S.REFUSED, S.REVOKED) in kinds and ("leader", S.REFUSED, S.EXPIRED) not in kinds
    assert (None, S.REFUSED, S.EXPIRED) in kinds and (None, S.REFUSED, S.BAD_SIGNATURE) in kinds
    downloads = [r for r in rows if r["event"] == S.DOWNLOAD]
    assert len(downloads) == 1 and downloads[0]["username"] == "leader"
    assert downloads[0]["detail"].startswith("登录审计_") and ".csv" in downloads[0]["detail"]


# --- services and secret files ----------------------------------------------------------------


def _other_address() -> str | None:
    """A non-loopback IPv4 address of this machine, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("10.255.255.255", 1))  # no packet is sent
            address = sock.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def test_services_bind_loopback_unless_configured(site, monkeypatch):
    command = cli.dashboard_command(1234)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert runner.airflow_env()["AIRFLOW__API__HOST"] == "127.0.0.1"
    docs = subprocess.run(["make", "-n", "docs"], cwd=ROOT, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "CITYSAFETY_BIND_ADDRESS"})
    assert "--host 127.0.0.1" in docs.stdout, docs.stdout
    monkeypatch.setenv("CITYSAFETY_BIND_ADDRESS", "0.0.0.0")
    command = cli.dashboard_command(1234)
    assert command[command.index("--server.address") + 1] == "0.0.0.0"
    assert runner.airflow_env()["AIRFLOW__API__HOST"] == "0.0.0.0"
    monkeypatch.delenv("CITYSAFETY_BIND_ADDRESS")
    # The dashboard as orchestration starts it, and the demo API: loopback only.
    other = _other_address()
    api_dir = site / "demo_sources" / "emb_api"
    api_dir.mkdir(parents=True)
    (api_dir / "inspections.jsonl").write_text("", encoding="utf-8")
    (api_dir / "token").write_text("t0ken\n", encoding="utf-8")
    dash_port, api_port = free_port(), free_port()
    env = {**os.environ, "CITYSAFETY_AUTH": "off"}
    procs = []
    try:
        procs.append(subprocess.Popen(
            [*cli.dashboard_command(dash_port), "--server.fileWatcherType", "none"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "demo.emb_api", "--home", str(site), "--port", str(api_port)],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True))
        wait_healthy(f"http://127.0.0.1:{dash_port}/_stcore/health", procs[0])
        assert f"http://127.0.0.1:{api_port}" in procs[1].stdout.readline()
        with pytest.raises(urllib.error.HTTPError) as answer:  # the API answers on loopback
            urllib.request.urlopen(f"http://127.0.0.1:{api_port}/api/v1/inspections", timeout=5)
        assert answer.value.code == 401
        assert _reachable("127.0.0.1", dash_port) and _reachable("127.0.0.1", api_port)
        if other is not None:
            assert not _reachable(other, dash_port), f"dashboard reachable on {other}"
            assert not _reachable(other, api_port), f"demo API reachable on {other}"
    finally:
        for proc in procs:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=10)


def test_secret_files_are_private(site, tmp_path):
    cfg = Settings(home=site)
    # Demo accounts (users.json, demo_passwords.txt), the session key and the sign-in store.
    accounts.main(["--home", str(site), "--no-print"])
    signin = auth.store()
    reader = sqlite3.connect(signin.path)  # an open reader keeps the WAL files in place
    try:
        reader.execute("select count(*) from events").fetchall()
        signin.record(S.SIGNIN, "leader", None, success=True, reason=S.OK)
        auth._session_key()
        private = [cfg.secrets_dir / "users.json", cfg.secrets_dir / "demo_passwords.txt",
                   cfg.secrets_dir / "session.key", cfg.secrets_dir / "signin.sqlite",
                   cfg.secrets_dir / "signin.sqlite-wal", cfg.secrets_dir / "signin.sqlite-shm"]
        for path in private:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        reader.close()
    assert stat.S_IMODE(cfg.secrets_dir.stat().st_mode) == 0o700
    # Airflow's simple auth manager password file: written by us first (random, 0600), and
    # Airflow 3.3 keeps it as it is (its mode and the admin's password).
    path = runner.airflow_passwords_file(cfg)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = json.loads(path.read_text(encoding="utf-8"))["admin"]
    assert len(password) >= 16
    env = runner.airflow_env(cfg)
    done = subprocess.run([sys.executable, "-c",
                           "from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import "
                           "SimpleAuthManager as M; M().init(); print(M.get_generated_password_file())"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text(encoding="utf-8")) == {"admin": password}
    # An existing one Airflow wrote world-readable is made private.
    path.chmod(0o644)
    runner.airflow_passwords_file(cfg)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The demo API token.
    from demo.feeds import inspections

    token = tmp_path / "token"
    inspections._write_token(token)
    assert stat.S_IMODE(token.stat().st_mode) == 0o600 and len(token.read_text().strip()) > 30
