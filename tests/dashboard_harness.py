"""Shared scaffolding of the dashboard tests (tests/test_dashboard_*.py).

- a fixture warehouse: `open_warehouse` / `create_table` build $CITYSAFETY_HOME/warehouse/citysafety.duckdb
  from column specs and rows: a published table's columns are its contract's (`create_mart`,
  contracts.lock.json), an audit table's are where the platform declares them (`arrow_columns`
  of the raw layer's schemas, the gate's and the freshness check's column lists), the streets
  are the seed's through dbt's model (`create_dim_streets`); `derive_mart` adds a reporting table (rpt_*) by running its dbt
  model's SQL over the fixture's own tables (`render_model`: refs to `marts.<name>`, the
  project's vars and macros), so a page test reads the figures dbt publishes from its hand rows; `warehouse_fixture` makes the module-scoped `warehouse_home` fixture
  (a tmp CITYSAFETY_HOME) and `home` points CITYSAFETY_HOME at it for one test, with sign-in
  switched off explicitly (CITYSAFETY_AUTH=off: the app fails closed without users);
- AppTest helpers: `run_page`, `metrics`, `table_with`, `chart_titles`, `texts`;
- a real server: `served_app(home, log)` runs `streamlit run dashboards/app.py` on a free loopback
  port (sign-in off unless `auth=True`), waits for its health endpoint and kills its process
  group afterwards;
- Chromium: `require_chromium` (skip, or fail when CI=true), `browser_page` (served app + headless
  Chromium page), `wait_text`, `goto_via_app`, `screenshot` (to tests/artifacts/<name>.png).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import duckdb
import jinja2
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from citysafety.config import DBT_PROJECT_DIR, dbt_project_vars
from citysafety.share import contracts

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboards" / "app.py"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# --- fixture warehouse ------------------------------------------------------------------------


def contract_columns(relation: str) -> str:
    """The columns and types of a published relation (``marts.x``), as
    ``dbt_project/contracts.lock.json`` freezes them: the fixture tables are the published ones,
    so a contract change breaks the tests that read the table."""
    spec = contracts.read_lock()[relation if "." in relation else f"marts.{relation}"]
    return ", ".join(f"{name} {kind}" for name, kind in spec["columns"])


def arrow_columns(schema) -> str:
    """The columns of a table the raw layer writes (a pyarrow schema, e.g.
    ``citysafety.raw.store.RECONCILIATION``) as DuckDB declares them when it reads the Parquet."""
    con = duckdb.connect()
    try:
        con.register("empty", schema.empty_table())
        return ", ".join(f"{name} {kind}" for name, kind, *_ in con.execute("DESCRIBE empty").fetchall())
    finally:
        con.close()


# The mart tables several pages' fixtures hold.
DIM_STREETS = contract_columns("marts.dim_streets")
KPI_SAFETY_TARGETS = contract_columns("marts.kpi_safety_targets")
FCT_CASUALTY_EVENTS = contract_columns("marts.fct_casualty_events")
DIM_ENTERPRISES = contract_columns("marts.dim_enterprises")
FCT_HAZARDS = contract_columns("marts.fct_hazards")
KPI_OFFICIAL_INDICATORS = contract_columns("marts.kpi_official_indicators")


def render_model(model: str) -> str:
    """A mart model's SQL as dbt renders it for these fixtures: ``ref('x')`` → ``marts.x``,
    ``source('s', 't')`` → the schema and identifier the project's source YAML declares (e.g.
    ``audit.quarantine``), ``var`` → dbt_project.yml's vars, the project's macros available
    (loaded as text before the model, as dbt makes them global)."""
    variables = dbt_project_vars()
    sources = _declared_sources()

    def var(name, default=None):
        return variables.get(name, default)

    from citysafety import sources as registry
    from citysafety.streets import UNKNOWN_STREET, street_codes

    # macros/registry.sql is generated from the registry and returns values (dbt's `return`):
    # its macros are the registry's own functions here
    generated = DBT_PROJECT_DIR / registry.DBT_REGISTRY_FILE
    macros = "".join(
        path.read_text(encoding="utf-8") for path in sorted((DBT_PROJECT_DIR / "macros").glob("*.sql"))
        if path != generated
    )
    model_sql = (DBT_PROJECT_DIR / "models" / "marts" / f"{model}.sql").read_text(encoding="utf-8")
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])
    return environment.from_string(macros + model_sql).render(
        ref=lambda name, **_: f"marts.{name}", source=lambda name, table: sources[(name, table)], var=var,
        registry_feeds=registry.dbt_registry, casualty_departments=registry.casualty_departments,
        registry_feed_list=registry.dbt_feed_list, env_var=lambda name, default=None: os.environ.get(name, default),
        street_codes=lambda: [*street_codes(), UNKNOWN_STREET],
    ).strip()


def _declared_sources() -> dict[tuple[str, str], str]:
    """(source name, table name) → ``schema.identifier`` of every source of the dbt project."""
    import yaml

    found = {}
    for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"):
        for source in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("sources", []) or []:
            for table in source.get("tables", []):
                identifier = table.get("identifier", table["name"])
                found[(source["name"], table["name"])] = f"{source.get('schema', source['name'])}.{identifier}"
    return found


def derive_mart(con: duckdb.DuckDBPyConnection, model: str) -> None:
    """``marts.<model>`` with its contract's columns, filled by the model's own SQL over the
    tables already in the fixture warehouse (a reporting table derives from the facts)."""
    create_mart(con, f"marts.{model}")
    names = [c.split(" ")[0] for c in contract_columns(f"marts.{model}").split(", ")]
    con.execute(
        f"INSERT INTO marts.{model} SELECT {', '.join(names)} FROM ({render_model(model)}) AS derived"
    )


def create_dim_streets(con: duckdb.DuckDBPyConnection, codes: Sequence[str] | None = None) -> None:
    """``marts.dim_streets`` as dbt builds it: the model's SQL over the seed
    dbt_project/seeds/streets.csv (only the streets ``codes`` when given), so a fixture's streets,
    names and order are the seed's."""
    seed = DBT_PROJECT_DIR / "seeds" / "streets.csv"
    con.execute("CREATE TABLE marts.streets AS SELECT * FROM read_csv($seed, all_varchar = true)",
                {"seed": str(seed)})
    if codes is not None:
        con.execute("DELETE FROM marts.streets WHERE NOT list_contains($codes, street_code)",
                    {"codes": list(codes)})
    derive_mart(con, "dim_streets")
    con.execute("DROP TABLE marts.streets")  # the seed is not published


def warehouse_path(home: Path) -> Path:
    return home / "warehouse" / "citysafety.duckdb"


@contextlib.contextmanager
def open_warehouse(db_path: Path, schemas: Sequence[str] = ("marts",)) -> Iterator[duckdb.DuckDBPyConnection]:
    """A new fixture warehouse at db_path with the given schemas; closed afterwards."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    try:
        for schema in schemas:
            con.execute(f"CREATE SCHEMA {schema}")
        yield con
    finally:
        con.close()


def create_mart(
    con: duckdb.DuckDBPyConnection, relation: str, rows: Iterable[Sequence] = (), *, values: str | None = None
) -> None:
    """A published relation with its contract's columns (contracts.lock.json) and the rows."""
    create_table(con, relation, contract_columns(relation), rows, values=values)


def create_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: str,
    rows: Iterable[Sequence] = (),
    *,
    values: str | None = None,
) -> None:
    """CREATE TABLE table (columns) and insert the rows (one `?` a value unless `values` is given)."""
    con.execute(f"CREATE TABLE {table} ({columns})")
    rows = list(rows)
    if not rows:
        return
    if values is None:
        values = "(" + ", ".join("?" * len(rows[0])) + ")"
    con.executemany(f"INSERT INTO {table} VALUES {values}", rows)


def warehouse_fixture(build: Callable[..., None], **kwargs):
    """A module-scoped `warehouse_home` fixture: a tmp CITYSAFETY_HOME whose warehouse `build` made."""

    @pytest.fixture(scope="module")
    def warehouse_home(tmp_path_factory) -> Path:
        home = tmp_path_factory.mktemp("citysafety_home")
        build(warehouse_path(home), **kwargs)
        return home

    return warehouse_home


@pytest.fixture
def home(warehouse_home, monkeypatch) -> Path:
    monkeypatch.setenv("CITYSAFETY_HOME", str(warehouse_home))
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # these tests read pages without signing in
    return warehouse_home


# --- AppTest ----------------------------------------------------------------------------------


def run_page(page: str | None, query_params: dict[str, str] | None = None) -> AppTest:
    """The app with its default page first, then views/<page>.py (None: stay on the default page)."""
    at = AppTest.from_file(str(APP), default_timeout=30)
    if page is not None:
        at.run()  # the default page (总览) first: switch_page needs the registered pages
        at.switch_page(f"views/{page}.py")
    for key, value in (query_params or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def tables(at: AppTest) -> list[pd.DataFrame]:
    """The page's tables as a reader reads them: a table that dashboards.frame.table showed in
    parts (too wide for the page; each part repeats the key columns, same rows) joined back into
    one, its columns in their order."""
    out: list[pd.DataFrame] = []
    for element in at.dataframe:
        df = element.value.reset_index(drop=True)
        prev = out[-1] if out else None
        keys = [c for c in df.columns if prev is not None and c in prev.columns]
        if (prev is not None and len(prev) == len(df) and keys and df.columns[0] == prev.columns[0]
                and all(prev[c].equals(df[c]) for c in keys) and len(keys) < len(df.columns)):
            out[-1] = pd.concat([prev, df.drop(columns=keys)], axis=1)
            continue
        out.append(df)
    return out


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    for df in tables(at):
        if column in df.columns:
            return df
    raise AssertionError(f"no table with column {column!r}")


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def chart_titles(at: AppTest) -> list[str]:
    """The titles of the altair charts of the page (vega-lite specs embedded in the page)."""
    titles = []
    for spec in chart_specs(at):
        title = spec.get("title", {})
        titles.append(title.get("text") if isinstance(title, dict) else title)
    return titles


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.error,
                               *at.success, *at.title, *at.subheader)]
    return "\n".join(str(p) for p in parts)


# --- real server + browser --------------------------------------------------------------------


def page_text(at: AppTest) -> str:
    """Everything a page shows as text: every element's proto (texts, metrics, chart specs with
    their data) and every dataframe as CSV, main area and sidebar."""
    from google.protobuf import text_format

    def nodes(node):
        children = getattr(node, "children", None)
        if children:
            for child in children.values():
                yield from nodes(child)
        else:
            yield node

    parts = []
    for root in (at.main, at.sidebar):
        for node in nodes(root):
            if getattr(node, "type", None) == "dataframe":
                parts.append(node.value.to_csv())
            elif getattr(node, "proto", None) is not None:
                parts.append(text_format.MessageToString(node.proto, as_utf8=True))
    return "\n".join(parts)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"streamlit not healthy at {url} after {timeout}s")


@contextlib.contextmanager
def served_app(home: Path, log_path: Path, *, auth: bool = False,
               env_extra: dict[str, str] | None = None) -> Iterator[str]:
    """A fresh `streamlit run dashboards/app.py` on a free loopback port; yields the base URL.

    auth: keep sign-in on (the users must then be configured, e.g. CITYSAFETY_USERS in
    env_extra); by default sign-in is switched off explicitly (CITYSAFETY_AUTH=off).
    """
    port = free_port()
    env = {**os.environ, "CITYSAFETY_HOME": str(home)}
    if auth:
        env.pop("CITYSAFETY_AUTH", None)
    else:
        env["CITYSAFETY_AUTH"] = "off"
    env.update(env_extra or {})
    log = log_path.open("w")
    server = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
            "--browser.serverAddress", "localhost",
            "--server.address", "127.0.0.1",
            "--server.port", str(port),
            "--server.fileWatcherType", "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", server)
        yield f"http://127.0.0.1:{port}"
    finally:
        try:
            os.killpg(server.pid, 15)
        except ProcessLookupError:
            pass
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait(timeout=5)
        log.close()


def require_chromium() -> None:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@contextlib.contextmanager
def browser_page(home: Path, log_path: Path, height: int | None = None):
    """Chromium (required) on a fresh served app; yields (page, base URL).

    height: a 1440 px wide viewport of that height; None: Playwright's default viewport.
    """
    require_chromium()
    from playwright.sync_api import sync_playwright

    with served_app(home, log_path) as base:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                if height is None:
                    page = browser.new_page()
                else:
                    page = browser.new_page(viewport={"width": 1440, "height": height})
                yield page, base
            finally:
                browser.close()


def wait_text(page, text: str, *, exact: bool | None = None, timeout: float = 30_000) -> None:
    """Content arrives over the websocket after load: wait until the text is on the page."""
    page.get_by_text(text, exact=exact).first.wait_for(timeout=timeout)


def goto_via_app(page, base: str, path: str) -> None:
    """The app's main script first (its filters are up), then the page itself."""
    page.goto(f"{base}/")
    wait_text(page, "筛选条件", exact=True)
    page.goto(f"{base}/{path}")


def sidebar_nav(page) -> str:
    nav = page.locator('[data-testid="stSidebarNav"]')
    return nav.inner_text() if nav.count() else ""


def screenshot(page, name: str, *, grow_viewport: bool = False) -> Path:
    """A full-page screenshot to tests/artifacts/<name>.png.

    grow_viewport: Streamlit scrolls its main area inside the viewport, so grow the viewport to the
    content first.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if grow_viewport:
        height = page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section.main, body')]"
            ".map(e => e.scrollHeight))"
        )
        page.set_viewport_size({"width": 1440, "height": int(height) + 40})
        page.wait_for_timeout(1000)
    page.screenshot(path=str(path), full_page=True)
    return path
