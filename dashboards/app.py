"""下城区城市安全管理平台: entry point of the leaders' dashboards.

Run with ``streamlit run dashboards/app.py`` (from the project root). Pages read the published
mart read-only through ``dashboards.data``; the one write path is 告警处置 (``views/alarms.py``),
which writes to the operations database only, through ``citysafety.act.store``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

DASHBOARD_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = DASHBOARD_DIR.parent
# `streamlit run dashboards/app.py` puts dashboards/ on sys.path; pages import the package.
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from dashboards import auth  # noqa: E402 - after the sys.path line above

APP_TITLE = "下城区城市安全管理平台"


def build_navigation():
    """All pages of the app. Add new pages to the list (or to a section dict) here."""
    pages = [
        st.Page(
            DASHBOARD_DIR / "views" / "overview.py",
            title="总览",
            icon=":material/dashboard:",
            url_path="overview",
            default=True,
        ),
        st.Page(
            DASHBOARD_DIR / "views" / "risk.py",
            title="风险",
            icon=":material/map:",
            url_path="risk",
        ),
        st.Page(
            DASHBOARD_DIR / "views" / "hazards.py",
            title="隐患",
            icon=":material/report_problem:",
            url_path="hazards",
        ),
        st.Page(
            DASHBOARD_DIR / "views" / "monitoring.py",
            title="监测",
            icon=":material/sensors:",
            url_path="monitoring",
        ),
        st.Page(
            DASHBOARD_DIR / "views" / "alarms.py",
            title="告警处置",
            icon=":material/notifications_active:",
            url_path="alarms",
        ),
        st.Page(
            DASHBOARD_DIR / "views" / "enforcement.py",
            title="执法与信用",
            icon=":material/gavel:",
            url_path="enforcement",
        ),
        st.Page(
            DASHBOARD_DIR / "views" / "emergency.py",
            title="应急",
            icon=":material/emergency:",
            url_path="emergency",
        ),
        st.Page(
            DASHBOARD_DIR / "views" / "demonstration.py",
            title="示范创建",
            icon=":material/workspace_premium:",
            url_path="demonstration",
        ),
        st.Page(
            DASHBOARD_DIR / "views" / "education.py",
            title="宣传教育",
            icon=":material/school:",
            url_path="education",
        ),
        st.Page(
            DASHBOARD_DIR / "views" / "data_health.py",
            title="数据健康",
            icon=":material/monitor_heart:",
            url_path="data_health",
        ),
        st.Page(
            DASHBOARD_DIR / "views" / "signin_audit.py",
            title="登录审计",
            icon=":material/manage_accounts:",
            url_path="signin_audit",
        ),
    ]
    # Sign-in: only the pages the access policy (policy/access.yml) grants this user.
    shown = auth.visible_pages(pages)
    _unknown_path_opens_default(shown)
    navigation = st.navigation(shown)
    auth.land_on_link(navigation, shown)  # a link opened before signing in: its page and filters
    return navigation


def _unknown_path_opens_default(pages: list) -> None:
    """An address that names no page of this user (``/overview``: 总览 is served at the root; a
    mistyped or outdated link) opens the default page quietly. st.navigation would open it too,
    but with Streamlit's English "Page not found" box over it; forgetting the requested name
    first makes it resolve to the default page like the root address does."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return
    manager = ctx.pages_manager
    requested = (manager.intended_page_name or "").strip("/")
    if manager.intended_page_script_hash or not requested:
        return  # a page chosen in the app (by its hash), or the root address
    if not any(requested == page.url_path for page in pages):
        manager.set_script_intent("", "")


def main() -> None:
    st.set_page_config(page_title=APP_TITLE, page_icon="🛡️", layout="wide")
    auth.require_login()  # the login form until someone signs in (sign-in off: a banner); stops
    # the app on a users configuration it cannot use
    auth.bind_data_layer()  # pages read the signed-in user's analyst file, never more
    navigation = build_navigation()
    navigation.run()


if __name__ == "__main__":
    main()
