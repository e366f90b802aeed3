"""The quality report (Great Expectations Data Docs) offline, and from the app.

A real small validation (two suites over a Parquet file, one expectation failing) through a real
checkpoint writes the Data Docs where the quality gate does; `quality.localize_data_docs` (what the
gate runs after its checkpoint) points them at the shipped copies of their assets. Then: no page
loads anything from outside, and headless Chromium with its network switched off shows the index
styled, its validation list filled, and a validation page styled with its expectations. The app's
数据健康 shows the same report inlined in its signed-in page, to the principals the policy lets
read data health, and the open is in the sign-in audit log.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from citysafety import config
from citysafety.mart import datadocs, quality

from dashboard_harness import CHROMIUM, CHROMIUM_ARGS, require_chromium


@pytest.fixture(scope="module")
def docs_home(tmp_path_factory):
    """A CITYSAFETY_HOME whose quality/ holds the Data Docs of a real small validation."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    home = tmp_path_factory.mktemp("docs_home")
    cfg = config.Settings(home=home)
    batches = cfg.quality_dir / "batches"
    batches.mkdir(parents=True)
    pd.DataFrame({"event_id": ["A-1", "A-2", "A-2"], "deaths": [0, 1, 2]}).to_parquet(
        batches / "raw__emb__accidents.parquet")
    context = quality._context(cfg)
    source = context.data_sources.add_or_update_pandas_filesystem("build_copy", base_directory=str(batches))
    batch = source.add_parquet_asset("raw__emb__accidents").add_batch_definition_path(
        "latest", path="raw__emb__accidents.parquet")
    definitions = []
    for name, expectations in {
        "raw.emb__accidents": [gxe.ExpectColumnValuesToBeUnique(column="event_id"),
                               gxe.ExpectColumnValuesToNotBeNull(column="deaths")],
        "raw.emb__accidents_deaths": [gxe.ExpectColumnValuesToBeBetween(column="deaths", min_value=0,
                                                                         max_value=10)],
    }.items():
        suite = context.suites.add_or_update(gx.ExpectationSuite(name=name, expectations=expectations))
        definitions.append(context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)))
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name="quality_gate", validation_definitions=definitions,
        actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")], result_format="SUMMARY"))
    result = checkpoint.run()
    assert not result.success  # event_id A-2 twice: a failed expectation, as the gate sees one
    assert quality.localize_data_docs(cfg) == []  # every external asset has its shipped copy
    return home


def _site(home: Path) -> Path:
    return quality.data_docs_index(config.Settings(home=home)).parent


def _asset_refs(text: str) -> list[str]:
    return [m.group(3) for tag in re.finditer(r"<(script|link|img)\b[^>]*>", text, re.I)
            for m in re.finditer(r"""\b(src|href)\s*=\s*(["'])(.*?)\2""", tag.group(0), re.I)]


def test_no_generated_page_loads_anything_from_outside(docs_home):
    site = _site(docs_home)
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 3  # the index and a page per validation
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text.split("<body", 1)[0], re.I), page
        assert datadocs.external_assets(text) == [], page
        refs = _asset_refs(text)
        assert refs and "about:blank" not in refs, page
        for ref in refs:  # every style, script and image is a file of the site
            assert (page.parent / ref.split("?")[0]).resolve().is_file(), (page, ref)
    assert (site / datadocs.VENDOR / "fontawesome" / "webfonts" / "fa-solid-900.woff2").is_file()


def _offline_browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def _styled(page) -> dict:
    return page.evaluate("""() => ({
        bodyMargin: getComputedStyle(document.body).marginTop,
        bootstrap: getComputedStyle(document.querySelector('.navbar') || document.body).display,
        jquery: typeof window.jQuery,
        table: typeof (window.jQuery && window.jQuery.fn.bootstrapTable),
        icons: document.fonts.check('900 16px "Font Awesome 6 Free"'),
    })""")


def test_report_opens_styled_and_listed_in_chromium_without_network(docs_home):
    """file:// pages in Chromium offline; every http(s) request is refused and counted."""
    site = _site(docs_home)
    with _offline_browser() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True)
            outside: list[str] = []

            def refuse(route):
                outside.append(route.request.url)
                route.abort()

            context.route(re.compile(r"^https?://"), refuse)
            page = context.new_page()
            page.goto(site.joinpath("index.html").as_uri())
            page.wait_for_load_state("load")
            rows = page.locator("table tbody tr.clickable-row")
            rows.first.wait_for(timeout=15_000)
            # The suites' tab and the validations' tab: both suites in each.
            assert rows.count() == 4
            listed = " ".join(rows.all_inner_texts())
            assert listed.count("raw.emb__accidents_deaths") == 2 and listed.count("raw.emb__accidents") == 4
            page.evaluate("document.fonts.ready")
            styled = _styled(page)
            assert styled["bodyMargin"] == "0px"  # Bootstrap's reboot (a browser's own: 8px)
            assert styled["bootstrap"] == "flex" and styled["jquery"] == "function"
            assert styled["table"] == "function"
            # A row opens its validation: the failed expectation is there, styled.
            page.locator("tr.clickable-row", has_text="raw.emb__accidents_deaths").first.wait_for()
            page.locator("tr.clickable-row").filter(has_not_text="_deaths").first.click()
            page.wait_for_load_state("load")
            page.get_by_text("event_id").first.wait_for(timeout=15_000)
            assert _styled(page)["bodyMargin"] == "0px"
            assert outside == []
        finally:
            browser.close()


def test_self_contained_page_needs_no_file_and_no_network(docs_home):
    """What the app shows: one document, set as a page's content in an offline Chromium with
    every request refused, is styled and lists the validations."""
    site = _site(docs_home)
    found = datadocs.pages(site)
    assert [p.path for p in found][0] == "index.html" and len(found) == 3
    assert {p.suite for p in found[1:]} == {"raw.emb__accidents", "raw.emb__accidents_deaths"}
    html = datadocs.self_contained(site, "index.html")
    assert datadocs.external_assets(html) == []
    assert not re.search(r"""<(script|link)\b[^>]*\b(src|href)=""", html.split("<body", 1)[0])
    with pytest.raises(FileNotFoundError):
        datadocs.self_contained(site, "../../../../etc/passwd")
    with _offline_browser() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True)
            requests: list[str] = []
            context.on("request", lambda r: requests.append(r.url))
            page = context.new_page()
            page.set_content(html, wait_until="load")
            page.locator("table tbody tr.clickable-row").first.wait_for(timeout=15_000)
            assert page.locator("table tbody tr.clickable-row").count() == 4
            page.evaluate("document.fonts.ready")
            styled = _styled(page)
            assert styled["bodyMargin"] == "0px" and styled["table"] == "function"
            assert styled["icons"] is True  # Font Awesome's font, inlined
            assert [u for u in requests if u.startswith(("http:", "https:"))] == []
        finally:
            browser.close()


def _can_read_report(principal_names: list[str]) -> None:
    import streamlit as st

    from dashboards import auth

    st.session_state[auth.MODE_KEY] = auth.ON
    for name in principal_names:
        st.session_state[auth.USER_KEY] = {"username": name, "role": "x", "scope": None,
                                           "display_name": name, "principal": name}
        st.text(f"{name}={auth.can_read_quality_report()}")


def test_who_may_open_the_report_is_the_policys_answer(monkeypatch):
    """The report covers every feed and street: those granted 数据健康, the gate's results and
    every street (policy/access.yml: the leader and 区安委办 today), nobody else (nor a name the
    policy does not know)."""
    from streamlit.testing.v1 import AppTest

    from citysafety.share import policy as P

    monkeypatch.delenv("CITYSAFETY_AUTH", raising=False)
    names = [*P.load().principals, "nobody"]
    at = AppTest.from_function(_can_read_report, args=(names,), default_timeout=30).run()
    assert not at.exception, [e.message for e in at.exception]
    answers = dict(t.value.split("=") for t in at.text)
    assert set(answers) == set(names) and len(names) > 15
    assert {n for n, ok in answers.items() if ok == "True"} == {"leader", "safety_office"}


def test_served_app_shows_the_report_and_its_links_stay_in_the_app(docs_home, tmp_path):
    """数据健康 in a served app, in Chromium: 打开质量报告 shows the index inside the page, styled and
    listed; a click on a validation opens it in the same dashboard page (?docs=), where the failed
    expectation shows. Only the app's own address is asked for anything."""
    from dashboard_harness import ARTIFACTS, browser_page, goto_via_app, warehouse_path
    from test_dashboard_data_health import PAGE, build_warehouse

    build_warehouse(warehouse_path(docs_home))
    with browser_page(docs_home, tmp_path / "streamlit.log", height=2600) as (page, base):
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((base, "data:", "about:"))
                else None)
        goto_via_app(page, base, PAGE)
        page.get_by_role("button", name="打开质量报告").click()
        frame = page.frame_locator("iframe[srcdoc]").last
        rows = frame.locator("table tbody tr.clickable-row")
        rows.first.wait_for(timeout=30_000)
        assert rows.count() == 4
        assert frame.locator("body").evaluate("b => getComputedStyle(b).marginTop") == "0px"
        assert "docs=index.html" in page.url
        rows.filter(has_not_text="_deaths").first.click()
        page.wait_for_url(re.compile(r"docs=validations%2Fraw%2Femb__accidents%2F"), timeout=30_000)
        frame = page.frame_locator("iframe[srcdoc]").last
        frame.get_by_text("event_id").first.wait_for(timeout=60_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("iframe[srcdoc]").last.screenshot(path=str(ARTIFACTS / "data_health_quality_report.png"))
        assert outside == []


def test_report_pages_are_listed_in_chinese(docs_home, monkeypatch):
    """The page chooser names each validation by its table's Chinese title and Beijing time."""
    from dashboard_harness import run_page, warehouse_path
    from test_dashboard_data_health import PAGE, build_warehouse

    if not warehouse_path(docs_home).exists():
        build_warehouse(warehouse_path(docs_home))
    monkeypatch.setenv("CITYSAFETY_HOME", str(docs_home))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")
    at = run_page(PAGE)
    assert not at.exception, [e.message for e in at.exception]
    options = at.selectbox(key="data_health_docs_page").options
    assert options[0] == "总览：全部检查套件与验证结果" and len(options) == 3
    assert all(re.fullmatch(r"验证结果：区应急管理局·生产安全事故快报（原始数据）（\d{4}-\d\d-\d\d \d\d:\d\d:\d\d）"
                            r"|验证结果：其他数据表（\d{4}-\d\d-\d\d \d\d:\d\d:\d\d）", o) for o in options[1:]), options
    assert not any("raw." in o for o in options)
