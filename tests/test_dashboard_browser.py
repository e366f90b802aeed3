"""Every page in headless Chromium, signed in through the form, on one served app (issue 13).

* Links that work: a shared link opened before signing in (``/risk?streets=WL,TS&level=red``)
  lands, after signing in, on that page with its filters; a reload keeps page, filters and the
  sign-in; the streets chosen on one page are still chosen on the next; a street office opening
  the same link sees its own street only (the policy decides, the URL selects within the grant).
* Nothing cut, nothing overlapping, nothing "None": every page as the leader (and the street
  office's 风险) at 1366×768 and 1920×1080, a screenshot of each kept under the pytest tmp dir,
  and the DOM checked: no text "None"/"nan"/"NaT", no clipped metric value, button, table header
  or label, no English beyond an allowlist of units and codes, no table names.
* Every column of every table in view: each data grid (st.dataframe, Streamlit's glide data grid)
  at both sizes is no wider than the page shows (its scroller's scrollWidth within its clientWidth,
  no horizontal scroll bar). The grid draws its cells on a canvas, so its cell and header texts
  are read from the grid's accessibility mirror (a ``<table role="grid">`` in the DOM holding the
  rows and columns in view; every row of a table up to 30 rows is in view) and checked as the
  page's text is: no "None"/"nan"/"NaT", no English, no table names. Expanders are opened first.
  What the mirror cannot show is checked in tests/test_dashboard_frame.py on frame.table, which
  every page's table goes through: a missing number's mirror cell is empty while the canvas drew
  "None" (the grid's placeholder "—" is set), and a text cut short on the canvas (each column is
  sized to an upper bound of its longest text).
* An address that names no page (``/overview``, a mistyped one) opens 总览 without Streamlit's
  English "Page not found" box.

One Streamlit server and one browser for the module; the site is the page tests' own fixture
warehouses merged (tests/dashboard_site.py).
"""

from __future__ import annotations

import re
import time
import urllib.parse
from pathlib import Path

import pytest

from citysafety.share import policy as P
from dashboard_harness import CHROMIUM, CHROMIUM_ARGS, require_chromium, served_app, wait_text
from dashboard_site import build_site
from demo import accounts

PASSWORDS = {"leader": "leader-pw-1", "street_wl": "wl-pw-1"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(base URL, browser) of one served app with sign-in on, over the merged fixture site."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    home = build_site(tmp_path_factory.mktemp("browser_home"))
    policy = P.load()
    users = accounts.write_users(home / "secrets" / "users.json", {
        name: {"role": policy.principal(name).kind, "scope": accounts.scope_of(policy.principal(name)),
               "password_hash": P.hash_password(password, iterations=1000)}
        for name, password in PASSWORDS.items()})
    log = tmp_path_factory.mktemp("browser_log") / "streamlit.log"
    with served_app(home, log, auth=True, env_extra={"CITYSAFETY_USERS": str(users)}) as base, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield base, browser
        finally:
            browser.close()


def settled(page, timeout: float = 60_000) -> None:
    """The script run is over and the charts are drawn."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stSkeleton\"], [data-testid=\"stSpinner\"]')",
        timeout=timeout)
    page.wait_for_timeout(800)  # vega-embed draws after the run


def sign_in(page, username: str) -> None:
    wait_text(page, "请登录", exact=True)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORDS[username])
    page.get_by_role("button", name="登录", exact=True).click()
    wait_text(page, "当前用户")
    settled(page)


def query(page) -> dict[str, str]:
    parts = urllib.parse.urlsplit(page.url)
    return dict(urllib.parse.parse_qsl(parts.query))


def path(page) -> str:
    return urllib.parse.urlsplit(page.url).path.strip("/")


def chosen_streets(page, expected: list[str] | None = None, timeout: float = 20.0) -> list[str]:
    """The street names chosen in the sidebar's street filter (its chips).

    The sign-in may be followed by one more script run (the link's filters written back to the
    address), between which the sidebar is redrawn; with ``expected`` the chips are read until they
    show it or the time is up, and the last reading is returned for the assertion.
    """
    chips = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"] [data-tag] > span[title]')
    deadline = time.monotonic() + timeout
    while True:
        names = [chips.nth(i).get_attribute("title") for i in range(chips.count())]
        if expected is None or names == expected or time.monotonic() > deadline:
            return names
        page.wait_for_timeout(250)


# --- links that work ------------------------------------------------------------------------------


def test_a_shared_link_lands_after_sign_in_survives_reload_and_carries_across_pages(site, tmp_path):
    base, browser = site
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        page.goto(f"{base}/risk?streets=WL,TS&level=red")
        sign_in(page, "leader")
        wait_text(page, "城市安全风险清单", exact=True)
        assert path(page) == "risk"
        assert query(page) == {"streets": "WL,TS", "level": "红"}
        assert chosen_streets(page, ["武林街道", "天水街道"]) == ["武林街道", "天水街道"]
        page.screenshot(path=str(tmp_path / "link_after_signin.png"), full_page=True)
        # A reload keeps the sign-in, the page and its filters.
        page.reload()
        wait_text(page, "当前用户")
        settled(page)
        assert "请登录" not in page.inner_text("body")
        assert path(page) == "risk" and query(page) == {"streets": "WL,TS", "level": "红"}
        assert chosen_streets(page, ["武林街道", "天水街道"]) == ["武林街道", "天水街道"]
        # The streets carry to 隐患 (opened from the sidebar); the level filter is 风险's own.
        page.locator('[data-testid="stSidebarNav"]').get_by_text("隐患", exact=True).click()
        wait_text(page, "隐患排查治理", exact=True)
        settled(page)
        assert path(page) == "hazards" and query(page) == {"streets": "WL,TS"}
        assert chosen_streets(page, ["武林街道", "天水街道"]) == ["武林街道", "天水街道"]
        # ... and that page's link is shareable as it stands.
        other = context.new_page()
        other.goto(page.url)
        wait_text(other, "隐患排查治理", exact=True)
        settled(other)
        assert chosen_streets(other, ["武林街道", "天水街道"]) == ["武林街道", "天水街道"]
    finally:
        context.close()


def test_a_street_office_opening_a_link_with_other_streets_sees_its_own_only(site, tmp_path):
    base, browser = site
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        page.goto(f"{base}/risk?streets=WL,TS&level=red")
        sign_in(page, "street_wl")
        wait_text(page, "城市安全风险清单", exact=True)
        assert path(page) == "risk"
        assert query(page) == {"streets": "WL", "level": "红"}  # TS is not in the grant
        assert chosen_streets(page, ["武林街道"]) == ["武林街道"]
        body = page.inner_text("body")
        assert "天水" not in body and "朝晖" not in body
        page.screenshot(path=str(tmp_path / "street_office_link.png"), full_page=True)
        # A page outside the grant named in a link: the sign-in lands on the default page.
        fresh = browser.new_context()
        late = fresh.new_page()
        late.goto(f"{base}/data_health?source=fire")
        sign_in(late, "street_wl")
        assert path(late) in ("", "overview")
        assert "数据健康" not in late.locator('[data-testid="stSidebarNav"]').inner_text()
        fresh.close()
    finally:
        context.close()


# --- nothing cut, nothing overlapping, nothing "None" ---------------------------------------------

SIZES = {"1366x768": (1366, 768), "1920x1080": (1920, 1080)}
LEADER_PAGES = ("overview", "risk", "hazards", "monitoring", "enforcement", "emergency", "demonstration",
                "education", "data_health", "signin_audit")
STREET_PAGES = ("risk", "demonstration", "education")
CHART_PAGES = ("overview", "risk", "hazards", "monitoring", "enforcement", "emergency", "demonstration",
               "education")
# Latin a person may read on a page: units, formats and codes (street codes are data codes, USCC
# and hazard source ids hold digits and are not words).
LATIN_ALLOWED = {"CSV", "Excel", "XLSX", "PDF", "JSON", "UTF", "BOM", "GDP", "LNG", "ID", "km", "kg", "ppm",
                 "LEL", "MPa", *PASSWORDS}  # the account names the pages show are codes too

# What the page shows, read from the DOM: text nodes (icons' ligature names left out), elements whose
# text is clipped, and the texts vega draws (its SVG) which it shortens with "…".
DOM_REPORT = r"""
() => {
  const roots = [document.body];  // the page, its sidebar, toolbar and any dialog
  const texts = [];
  const clipped = [];
  const isIcon = el => !!el.closest('[data-testid="stIconMaterial"], [data-testid*="Icon"], .material-icons, .material-symbols-rounded')
      || /Material Symbols|Material Icons/.test(getComputedStyle(el).fontFamily);
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  for (const root of roots) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || ['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(el.tagName) || isIcon(el)) continue;
      // Off-screen text for screen readers (Streamlit's "Skip to main content") is not shown.
      const r = el.getBoundingClientRect();
      if (el.tagName !== 'title' && (r.right <= 0 || r.bottom <= 0 || r.width <= 1 || r.height <= 1)) continue;
      const t = n.nodeValue.trim();
      if (t) texts.push(t);
    }
    const sel = '[data-testid="stMetricValue"], [data-testid="stMetricValue"] *, [data-testid="stMetricLabel"] *,'
      + ' button, button *, [data-testid="stWidgetLabel"] *, th, th *, [data-testid="stCaptionContainer"] *,'
      + ' [data-testid="stHeading"] *, [data-testid="stPageLink"] *, [data-testid="stSidebarNav"] span';
    for (const el of root.querySelectorAll(sel)) {
      if (!visible(el) || isIcon(el) || !el.textContent.trim()) continue;
      if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') {
        clipped.push(`${el.tagName.toLowerCase()}[${el.getAttribute('data-testid') || ''}] ${el.textContent.trim().slice(0, 40)}`
          + ` (${el.scrollWidth}>${el.clientWidth})`);
      }
    }
  }
  const chart = [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg text, .vega-embed svg text,'
    + ' [data-testid="stGraphVizChart"] svg text, [data-testid="stGraphVizChart"] svg title')]
    .map(t => t.textContent.trim()).filter(Boolean);
  // A graph's node label must stay inside its box (graphviz sizes the box with its own font metrics).
  for (const node of document.querySelectorAll('[data-testid="stGraphVizChart"] g.node')) {
    const shape = node.querySelector('path, polygon, ellipse');
    if (!shape) continue;
    const box = shape.getBBox();
    for (const t of node.querySelectorAll('text')) {
      const b = t.getBBox();
      if (b.x < box.x - 1 || b.x + b.width > box.x + box.width + 1) {
        clipped.push(`graph node ${t.textContent.trim().slice(0, 40)} (${Math.round(b.width)} in ${Math.round(box.width)})`);
      }
    }
  }
  // The thickness of each chart's bars (their band): a chart with one street must not draw a hairline.
  const bands = [...document.querySelectorAll('[data-testid="stVegaLiteChart"] g.mark-rect')].map(g => {
    const sizes = [...g.querySelectorAll('path')].map(p => { const b = p.getBBox(); return Math.min(b.width, b.height); });
    return sizes.length ? Math.max(...sizes) : null;
  }).filter(v => v !== null);
  const tables = [...document.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller')]
    .map(e => [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]);
  return {texts, clipped, chart, bands, tables};
}
"""
# Every data grid on the page (read with the viewport grown to the whole page: the grids below the
# fold are drawn only once in view): its scroller's widths, its number of columns and the texts of
# its accessibility mirror (headers and the cells of the rows in view).
GRID_REPORT = r"""
() => [...document.querySelectorAll('[data-testid="stDataFrame"]')].map(frame => {
  const scroller = frame.querySelector('.dvn-scroller');
  const mirror = frame.querySelector('table[role="grid"]');
  if (!scroller || !mirror) return {drawn: false, top: Math.round(frame.getBoundingClientRect().top)};
  const headers = [...mirror.querySelectorAll('th')].map(th => th.textContent);
  const cells = [...mirror.querySelectorAll('td')].map(td => td.textContent);
  return {drawn: true, scrollWidth: scroller.scrollWidth, clientWidth: scroller.clientWidth,
          columns: Number(mirror.getAttribute('aria-colcount')), headers, cells};
})
"""
MISSING_WORDS = re.compile(r"\b(None|nan|NaN|NaT|null|undefined)\b")
TABLE_NAME = re.compile(r"\b(marts|audit)\.\w+|\b(rpt|fct|kpi|agg|dim|stg|int)_[a-z]\w*")
# A Latin word; letters joined to digits, "_", "." or "-" are a code (QY-0006, street_wl, H2).
LATIN_WORD = re.compile(r"(?<![A-Za-z0-9_.\-])[A-Za-z]{2,}(?![A-Za-z0-9_\-])")


def grid_problems(grids: list[dict]) -> list[str]:
    """A grid wider than it is shown (a horizontal scroll bar), and what its cells and headers
    show (the mirror's texts go through the page's text checks)."""
    found = []
    for number, grid in enumerate(grids, 1):
        if not grid["drawn"]:
            found.append(f"table {number} not drawn (at {grid['top']} px)")
            continue
        name = f"table {number} ({', '.join(grid['headers'][:2])} …)"
        if grid["scrollWidth"] > grid["clientWidth"] + 1:
            found.append(f"{name} wider than shown ({grid['scrollWidth']} px in {grid['clientWidth']} px):"
                         " columns hidden behind a horizontal scroll bar")
        if len(grid["headers"]) != grid["columns"]:
            found.append(f"{name}: {len(grid['headers'])} of {grid['columns']} columns in view")
        found += [f"{name}: {p}" for p in problems(
            {"texts": grid["headers"] + grid["cells"], "chart": [], "clipped": [], "bands": [], "tables": []})]
    return found


def problems(report: dict) -> list[str]:
    found = []
    # Bars of at least 8 px across (their band), whatever the number of streets shown.
    found += [f"bars drawn as a hairline ({band:.1f} px)" for band in report["bands"] if band < 8]
    # A table of up to 30 rows shows them all (rows of 35 px, the header too).
    found += [f"table hides rows ({sh} px of rows in {ch} px)" for _, _, sh, ch in report["tables"]
              if sh > ch + 1 and sh <= 31 * 35 + 3]
    for text in report["texts"] + report["chart"]:
        if MISSING_WORDS.search(text):
            found.append(f"missing value shown: {text[:80]!r}")
        if TABLE_NAME.search(text):
            found.append(f"table name: {text[:80]!r}")
        latin = [w for w in LATIN_WORD.findall(text) if w not in LATIN_ALLOWED]
        if latin:
            found.append(f"English {latin}: {text[:80]!r}")
    found += [f"clipped: {c}" for c in report["clipped"]]
    found += [f"chart text cut: {t!r}" for t in report["chart"] if t.endswith("…")]
    return found


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_at_both_sizes_shows_nothing_cut_none_english_or_table_names(site, size, tmp_path):
    base, browser = site
    width, height = SIZES[size]
    shots = tmp_path / "screens"
    shots.mkdir()
    found: dict[str, list[str]] = {}
    for account, pages in (("leader", LEADER_PAGES), ("street_wl", STREET_PAGES)):
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            page.goto(f"{base}/{pages[0]}")
            sign_in(page, account)
            for name in pages:
                page.set_viewport_size({"width": width, "height": height})
                page.goto(f"{base}/{'' if name == 'overview' else name}")  # 总览 is the root
                wait_text(page, "当前用户")
                settled(page)
                report = page.evaluate(DOM_REPORT)
                if name in CHART_PAGES:  # the chart checks read the drawn charts
                    assert report["chart"] and report["bands"], f"{name}: no chart read"
                # The screenshot shows the whole page: Streamlit scrolls its main area inside the
                # viewport, so the viewport grows to the content (same width) once checked.
                # Every expander opened (a table in a closed one is not drawn, so not checked).
                page.evaluate("() => document.querySelectorAll('[data-testid=\"stExpander\"] details:not([open])"
                              " > summary').forEach(s => s.click())")
                settled(page)
                tall = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
                page.set_viewport_size({"width": width, "height": max(height, int(tall))})
                page.wait_for_timeout(500)
                page.wait_for_function(  # every grid drawn, now that all are in view
                    "() => [...document.querySelectorAll('[data-testid=\"stDataFrame\"]')]"
                    ".every(f => f.querySelector('.dvn-scroller') && f.querySelector('table[role=grid]'))",
                    timeout=15_000)
                grids = page.evaluate(GRID_REPORT)
                assert grids, f"{name}: no table read"  # every page shows at least one
                page.screenshot(path=str(shots / f"{account}_{name}_{size}.png"), full_page=True)
                assert report["texts"], f"{name}: nothing read from the page"
                issues = problems(report) + grid_problems(grids)
                if issues:
                    found[f"{account} /{name}"] = issues
        finally:
            context.close()
    assert sorted(p.name for p in shots.iterdir()) == sorted(
        f"{a}_{n}_{size}.png" for a, ps in (("leader", LEADER_PAGES), ("street_wl", STREET_PAGES)) for n in ps)
    assert not found, "\n".join(f"{k}: {v}" for k, v in found.items())


def test_charts_stay_readable_with_one_street_or_one_source(site, tmp_path):
    """One street (or one hazard source) chosen: the bars keep their thickness, nothing is cut."""
    base, browser = site
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    found: dict[str, list[str]] = {}
    try:
        page = context.new_page()
        page.goto(f"{base}/")
        sign_in(page, "leader")
        for link in ("risk?streets=WL", "hazards?streets=WL", "monitoring?source=H1", "enforcement?streets=WL",
                     "emergency?streets=WL", "demonstration?streets=WL", "education?streets=WL", "?streets=WL"):
            page.goto(f"{base}/{link}")
            wait_text(page, "当前用户")
            settled(page)
            report = page.evaluate(DOM_REPORT)
            assert report["bands"], f"{link}: no bars read"
            page.screenshot(path=str(tmp_path / f"{link.replace('?', '_').replace('=', '-') or 'overview'}.png"))
            issues = problems(report)
            if issues:
                found[link] = issues
    finally:
        context.close()
    assert not found, "\n".join(f"{k}: {v}" for k, v in found.items())


def test_an_address_naming_no_page_opens_the_overview_without_an_english_box(site, tmp_path):
    """/overview (总览 is served at the root) and a mistyped page open 总览, filters kept, with no
    "Page not found" box; signed in first, and as the address the sign-in form was shown at."""
    base, browser = site
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        page.goto(f"{base}/overview?streets=WL")
        sign_in(page, "leader")
        for link in (None, "overview", "overview?streets=WL", "no_such_page"):
            if link is not None:
                page.goto(f"{base}/{link}")
                wait_text(page, "当前用户")
                settled(page)
            body = page.inner_text("body")
            page.screenshot(path=str(tmp_path / f"{link or 'after_sign_in'}.png".replace("?", "_")))
            assert "下城区城市安全总览" in body, link
            assert "Page not found" not in body and "does not seem to exist" not in body, link
            assert not page.locator('[role="dialog"]').count(), link
            assert path(page) == "", link
            assert query(page) == ({} if link in ("overview", "no_such_page") else {"streets": "WL"}), link
    finally:
        context.close()
