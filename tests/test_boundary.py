"""The boundary, tested from the policy: every principal × every published relation × every path.

Nothing here is listed by hand. The principals, their tables, streets, row rules and pages come
from `policy/access.yml`; the relations and their columns from `dbt_project/contracts.lock.json`
(plus the three audit tables). The fixture warehouse holds, in every relation with a street, one
row per street and rows made to trap name matching: UNKNOWN, the district row ALL, an empty and a
NULL street, one street's name inside another's (a TS row owned by 天水街道武林门社区居委会, an
UNKNOWN row at 城东新城片区, an ALL row naming 武林广场). Every text column of a row holds that
row's token (``TK00042``), so a path leaks when it holds a token of a row the principal may not
see, and is complete when it holds every token it may.

Which rows a principal may see is worked out here from the policy file's own words (the street
column, `none`, `whole`, `{column: [values]}`), independently of `citysafety.share.policy`.

Paths, for each principal: the analyst DuckDB file, each Parquet and XLSX export and the row
counts of its manifest (`citysafety.share.exports` run on the fixture); and, signed in through the
login form (AppTest), each page it may open: the page's tables, texts, charts and the bytes of
its CSV/XLSX downloads. A street office's pages name no other street.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import duckdb
import openpyxl
import pytest
import streamlit
import yaml
from streamlit.testing.v1 import AppTest

from dashboard_harness import page_text
from citysafety.share import contracts, exports
from citysafety.share import policy as P
from citysafety.config import PROJECT_ROOT, Settings
from demo import accounts
from dashboards import auth

APP = PROJECT_ROOT / "dashboards" / "app.py"
PASSWORD = "boundary-test"
TOKEN = re.compile(r"TK\d{5}")

STREET_NAMES = {"WL": "武林街道", "TS": "天水街道", "CH": "朝晖街道", "CM": "潮鸣街道",
                "CQ": "长庆街道", "SQ": "石桥街道", "DX": "东新街道", "WH": "文晖街道"}
# Street values of the trap rows, beside one row per street.
TRAPS = ["UNKNOWN", "ALL", "", None]

# The audit tables are published but not contracted (the pipeline writes them): their columns.
AUDIT_COLUMNS = {
    "audit.reconciliation": [
        ("source", "VARCHAR"), ("feed", "VARCHAR"), ("file_name", "VARCHAR"), ("file_sha256", "VARCHAR"),
        ("file_bytes", "BIGINT"), ("rows_delivered", "BIGINT"), ("rows_loaded", "BIGINT"),
        ("rows_quarantined", "BIGINT"), ("status", "VARCHAR"), ("duplicate_of", "VARCHAR"),
        ("notes", "VARCHAR"), ("loaded_at", "TIMESTAMP")],
    "audit.quarantine": [
        ("source", "VARCHAR"), ("feed", "VARCHAR"), ("file_name", "VARCHAR"), ("row_number", "BIGINT"),
        ("reason", "VARCHAR"), ("raw_record", "VARCHAR"), ("file_sha256", "VARCHAR"),
        ("quarantined_at", "TIMESTAMP")],
    "audit.source_freshness": [
        ("checked_at", "TIMESTAMP"), ("source", "VARCHAR"), ("table_name", "VARCHAR"), ("status", "VARCHAR"),
        ("max_loaded_at", "TIMESTAMP"), ("hours_since_load", "DOUBLE"), ("warn_after", "VARCHAR"),
        ("error_after", "VARCHAR")],
    "audit.quality_results": [
        ("checked_at", "TIMESTAMP"), ("table_name", "VARCHAR"), ("expectation", "VARCHAR"),
        ("column_name", "VARCHAR"), ("success", "BOOLEAN"), ("unexpected_count", "BIGINT"),
        ("unexpected_sample", "VARCHAR")],
}

# Values the pages read as categories (a token there would only test the pages' fallbacks).
CATEGORIES = {
    "department": "emb", "department_name": "工矿商贸", "risk_level": "红", "risk_level_computed": "红",
    "risk_level_effective": "红", "risk_category": "工业企业", "snapshot_quarter": "2020Q2", "level": "重大",
    "status": "整改中", "result": "责令整改", "metric": "gas", "unit": "%", "resource_type": "救援队伍",
    "quantity_unit": "人", "drill_form": "实战", "plan_tier": "社区", "gdp_status": "final",
    "source": "emb", "feed": "accidents", "link_issue": None, "parent_plan_id": None,
    "duplicate_of": None, "standardisation_grade": "二级", "industry": "C 制造业", "hazard_level": "一级",
    "quantity_by_unit": "30 人", "category": "其他",
}


# --- the policy's own words ---------------------------------------------------------------------


def policy_doc() -> dict:
    return yaml.safe_load(P.POLICY_FILE.read_text(encoding="utf-8"))


def may_see(doc: dict, principal: P.Principal, relation: str, row: dict) -> bool:
    """Whether the policy file lets `principal` see `row` of the table `relation` belongs to."""
    if principal.streets is None:
        return True
    rule = (doc.get("row_rules") or {}).get(table_name(relation).split(".", 1)[1])
    if rule == "none":
        return False
    if rule == "whole":
        return True
    column = doc.get("street_column", "street_code")
    if column in row and row[column] in principal.streets:
        return True
    return isinstance(rule, dict) and any(
        row.get(c) is not None and str(row[c]) in {str(v) for v in values} for c, values in rule.items())


def table_name(relation: str) -> str:
    """The shared table a published relation serves (marts.fct_x_v2 -> marts.fct_x)."""
    for table in contracts.shared_tables().values():
        if relation.split(".", 1)[1] in table.relation_versions():
            return table.qualified
    return relation


# --- the fixture warehouse, generated from the contracts ------------------------------------------


def relations() -> dict[str, list[tuple[str, str]]]:
    out = {q: [(c, t) for c, t in spec["columns"]] for q, spec in contracts.read_lock().items()}
    return {**out, **AUDIT_COLUMNS}


def _value(column: str, kind: str, token: str, street: str | None, text: str):
    if column == "street_code":
        return street
    if column == "street_name":
        return {**STREET_NAMES, "UNKNOWN": "未知街道", "ALL": "全区"}.get(street or "", None)
    if column == "short_name":
        return STREET_NAMES.get(street or "", "")[:2] or None
    if column == "is_unknown":
        return street == "UNKNOWN"
    if column == "is_district":
        return street == "ALL"
    if column in CATEGORIES:
        return CATEGORIES[column]
    if column in ("year", "drill_year"):
        return 2020
    if kind == "VARCHAR":
        return f"{token}{text}"
    if kind in ("INTEGER", "BIGINT"):
        return 1
    if kind == "DOUBLE":
        return 0.5
    if kind == "BOOLEAN":
        return True
    if kind == "DATE":
        return dt.date(2020, 6, 1)
    if kind.startswith("TIMESTAMP"):
        return dt.datetime(2020, 6, 1, 8, 0)
    raise AssertionError(f"no fixture value for {column} {kind}")


def fixture_rows(relation: str, columns: list[tuple[str, str]], counter: list[int]) -> list[dict]:
    """The rows of one relation: per street and trap street when it has a street column (plans
    also a district and a department plan), else two rows."""
    names = [c for c, _ in columns]
    plans = relation.startswith("marts.fct_emergency_plans")
    if "street_code" in names:
        variants = [(code, "") for code in STREET_NAMES] + [
            ("TS", "天水街道武林门社区居委会"), ("UNKNOWN", "城东新城片区"), ("ALL", "武林广场"),
            ("", "武林门"), (None, "武林")]
        if plans:
            variants += [("ALL", "区应急管理局")]
        if relation == "marts.dim_streets":  # the seed: the streets and UNKNOWN, one row each
            variants = [(code, "") for code in STREET_NAMES] + [("UNKNOWN", "")]
    else:
        variants = [(None, ""), (None, "")]
    rows = []
    district_tiers = ["区级", "部门"]
    for street, text in variants:
        counter[0] += 1
        token = f"TK{counter[0]:05d}"
        row = {c: _value(c, t, token, street, text) for c, t in columns}
        if plans:  # district and department plans belong to the district (ALL)
            row["tier"] = district_tiers.pop(0) if street == "ALL" else "社区"
            row["chain"] = row["plan_id"]
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    """(settings, {relation: rows}) of a published fixture warehouse and its exports."""
    home = tmp_path_factory.mktemp("boundary")
    cfg = Settings(home=home)
    cfg.warehouse_dir.mkdir(parents=True)
    counter = [0]
    tables: dict[str, list[dict]] = {}
    con = duckdb.connect(str(cfg.warehouse_db))
    try:
        for relation, columns in relations().items():
            schema, _ = relation.split(".", 1)
            con.execute(f"create schema if not exists {schema}")
            rows = fixture_rows(relation, columns, counter)
            con.execute(f"create table {relation} ({', '.join(f'{c} {t}' for c, t in columns)})")
            con.executemany(f"insert into {relation} values ({', '.join('?' * len(columns))})",
                            [[row[c] for c, _ in columns] for row in rows])
            tables[relation] = rows
    finally:
        con.close()
    exports.export_all(cfg)
    return cfg, tables


def tokens(rows: list[dict]) -> set[str]:
    return {TOKEN.search(str(v)).group() for row in rows for v in row.values() if TOKEN.search(str(v) or "")}


def expected(doc: dict, principal: P.Principal, relation: str, rows: list[dict]) -> set[str]:
    return tokens([r for r in rows if may_see(doc, principal, relation, r)])


# --- exports and analyst files --------------------------------------------------------------------


def _text_tokens(text: str) -> set[str]:
    return set(TOKEN.findall(text))


def _xlsx_tokens(data: bytes | Path) -> set[str]:
    book = openpyxl.load_workbook(io.BytesIO(data) if isinstance(data, bytes) else data, read_only=True)
    return {t for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
            for v in row if v is not None for t in TOKEN.findall(str(v))}


def test_every_principal_gets_exactly_its_rows_on_every_export_path(fixture):
    cfg, tables = fixture
    doc = policy_doc()
    policy = P.load()
    checked = 0
    for name, principal in policy.principals.items():
        folder = exports.exports_dir(cfg) / name / exports.CURRENT
        manifest = exports.current_manifest(cfg, name)
        entries = {e["table"].split(".", 1)[0] + "." + e["relation"]: e for e in manifest["tables"]}
        analyst = duckdb.connect(str(folder / f"{name}.duckdb"), read_only=True)
        try:
            held = {f"{s}.{t}" for s, t in analyst.execute(
                "select schema_name, table_name from duckdb_tables() where not internal").fetchall()}
            granted = {r for r in tables if principal.sees_table(table_name(r))}
            assert held == granted, (name, held ^ granted)
            for relation in sorted(granted):
                want = expected(doc, principal, relation, tables[relation])
                cursor = analyst.execute(f"select * from {relation}")
                rows = cursor.fetchall()
                columns = [d[0] for d in cursor.description]
                # Exactly the admitted rows, column for column (withheld columns left out).
                admitted = sorted(repr(tuple(r[c] for c in columns)) for r in tables[relation]
                                  if may_see(doc, principal, relation, r))
                assert sorted(repr(r) for r in rows) == admitted, (name, relation, "analyst file")
                got = {t for row in rows for v in row for t in TOKEN.findall(str(v))}
                assert got == want, (name, relation, "analyst file", got ^ want)
                entry = entries.get(relation)
                if relation.startswith("audit."):
                    assert entry is None  # audit tables: in the analyst file only
                    continue
                assert entry["rows"] == len(rows), (name, relation)
                parquet = duckdb.connect().execute(
                    "select * from read_parquet(?)", [str(folder / entry["files"]["parquet"]["path"])]).fetchall()
                assert sorted(repr(r) for r in parquet) == admitted, (name, relation, "parquet")
                assert _xlsx_tokens(folder / entry["files"]["xlsx"]["path"]) == want, (name, relation, "xlsx")
                checked += 1
        finally:
            analyst.close()
    assert checked >= len(policy.principals) * 2


def test_street_offices_get_no_trap_row_and_all_of_their_own(fixture):
    """The hand-readable core of the generated check: 武林's file holds its rows, the district and
    department plans, and none of UNKNOWN, ALL, empty or NULL streets, nor 天水's 武林门 plan."""
    cfg, tables = fixture
    con = duckdb.connect(str(exports.analyst_file(cfg, "street_wl")), read_only=True)
    try:
        for relation in ("marts.fct_casualty_events", "marts.fct_hazards", "marts.dim_streets"):
            assert con.execute(f"select distinct street_code from {relation}").fetchall() == [("WL",)]
        assert con.execute("select count(*) from marts.kpi_safety_targets").fetchone() == (0,)
        plans = con.execute("select tier, owner_unit from marts.fct_emergency_plans order by tier").fetchall()
        assert {tier for tier, _ in plans} <= {"区级", "部门", "社区"}
        assert not [o for _, o in plans if "武林门" in o or "城东" in o]
        if "street_code" in dict(relations()["marts.fct_emergency_plans"]):
            assert sorted(t for t, _ in plans) == ["区级", "社区", "部门"]
    finally:
        con.close()


# --- pages, signed in -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def users_file(fixture, tmp_path_factory):
    policy = P.load()
    entries = {}
    for name, principal in policy.principals.items():
        scope = None if principal.kind == P.LEADER else (
            principal.streets[0] if principal.kind == P.STREET else name)
        entries[name] = {"role": principal.kind, "scope": scope,
                         "password_hash": P.hash_password(PASSWORD, iterations=1000)}
    return accounts.write_users(tmp_path_factory.mktemp("users") / "users.json", entries)




def _download_text(payloads: list) -> str:
    out = []
    for data in payloads:
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if raw[:2] == b"PK":
            book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
            out += [str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                    for v in row if v is not None]
        else:
            out.append(raw.decode("utf-8-sig", errors="replace"))
    return "\n".join(out)


def sign_in(username: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.text_input(key=auth.USERNAME_KEY).input(username)
    at.text_input(key=auth.PASSWORD_KEY).input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


# A table (marts.x, rpt_x...) or a column (snake_case) named where a person reads: texts,
# metric labels and values, table headers. Material icon names (:material/check_circle:) are not
# read.
TABLE_OR_COLUMN_NAME = re.compile(r"\b(?:marts|audit|raw|staging)\.\w+|\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
MATERIAL_ICON = re.compile(r":material/\w+:")


def _visible_texts(at: AppTest) -> list[str]:
    texts = [str(e.value) for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.error,
                                    *at.success, *at.title, *at.subheader)]
    texts += [str(x) for m in at.metric for x in (m.label, m.value, m.delta) if x]
    texts += [str(c) for df in at.dataframe for c in getattr(df.value, "columns", [])]
    return texts


@pytest.mark.parametrize("name", sorted(P.load().principals))
def test_every_page_of_every_principal_shows_only_its_rows(name, fixture, users_file, monkeypatch):
    cfg, tables = fixture
    monkeypatch.setenv("CITYSAFETY_HOME", str(cfg.home))
    monkeypatch.setenv("CITYSAFETY_USERS", str(users_file))
    monkeypatch.delenv("CITYSAFETY_AUTH", raising=False)
    captured: list = []
    original = streamlit.download_button

    def spy(label, data, *args, **kwargs):  # the real button; the bytes kept to be scanned
        captured.append(data() if callable(data) else data)
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", spy)
    doc = policy_doc()
    policy = P.load()
    principal = policy.principal(name)
    allowed = set().union(*(expected(doc, principal, r, rows) for r, rows in tables.items()
                            if principal.sees_table(table_name(r))))
    every = set().union(*(tokens(rows) for rows in tables.values()))
    grants = policy.page_grants(principal)
    pages = [p for p in policy.pages if grants is None or p in grants]
    assert pages, name
    at = sign_in(name)
    seen: set[str] = set()
    for page in pages:
        captured.clear()
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (name, page, [e.message for e in at.exception])
        text = page_text(at) + "\n" + _download_text(captured)
        found = _text_tokens(text)
        assert found <= every  # a token is a token
        leaked = found - allowed
        assert not leaked, (name, page, sorted(leaked)[:10])
        # (the user's own account name, shown beside 当前用户, is what they typed to sign in)
        named = [t for t in _visible_texts(at)
                 if TABLE_OR_COLUMN_NAME.search(MATERIAL_ICON.sub("", t).replace(name, ""))]
        assert not named, (name, page, named[:5])  # no table or column names on a page (issue 13)
        # A table outside the grant is said to be outside it, never "missing from the mart".
        missing = [w.value for w in (*at.warning, *at.info) if "缺少所需的数据表" in w.value]
        assert not missing, (name, page, missing)
        if principal.kind == P.STREET:
            own = STREET_NAMES[principal.streets[0]]
            others = [n for n in STREET_NAMES.values() if n != own and n in text]
            assert not others, (name, page, others)
            assert "城东新城" not in text, (name, page)  # the UNKNOWN trap row's place
        seen |= found
    # Pages that list rows really showed this principal's (the checks above are not vacuous);
    # 总览 alone shows only totals.
    if set(pages) - {"overview"}:
        assert seen, name


def _overview_as(name: str, fixture, users_file, monkeypatch) -> AppTest:
    cfg, _tables = fixture
    monkeypatch.setenv("CITYSAFETY_HOME", str(cfg.home))
    monkeypatch.setenv("CITYSAFETY_USERS", str(users_file))
    monkeypatch.delenv("CITYSAFETY_AUTH", raising=False)
    at = sign_in(name)  # 总览 is the default page
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_a_street_offices_overview_says_its_street_not_the_district(fixture, users_file, monkeypatch):
    """Scope-true wording (issue 13): 武林's 总览 names 武林街道 in its scope line and titles, never
    "（全区）" or "全部街道" over its own numbers; the district's targets say they are outside its
    scope; the cards of tables outside its grant (monitoring) say so instead of "暂无数据"."""
    at = _overview_as("street_wl", fixture, users_file, monkeypatch)
    captions = [c.value for c in at.caption]
    assert any("数据范围：武林街道" in c for c in captions), captions
    subheaders = [s.value for s in at.subheader]
    assert "今日重点提醒（武林街道）" in subheaders, subheaders
    assert any(s.startswith("伤亡事件分布（") and s.endswith("，武林街道）") for s in subheaders), subheaders
    for title in subheaders:
        assert "（全区）" not in title and "全部街道" not in title, title
    assert any("按全区考核，不在您的数据范围内" in i.value for i in at.info)
    # Its official indicators are its own street's row, titled so (its file holds no district row).
    assert any(s.endswith("官方安全指标（武林街道）") for s in subheaders), subheaders
    monitoring_cards = [c for c in captions if "不在您的数据范围内" in c]
    assert len(monitoring_cards) == 2, captions  # 监测覆盖不足危险源, 近24小时报警
    assert "暂无数据" not in captions
    assert not any("marts." in t for t in (*captions, *subheaders, *(i.value for i in at.info)))


def test_a_departments_cards_outside_its_grant_say_so(fixture, users_file, monkeypatch):
    """交警大队 is granted no hazards, sensors or plans: its 总览 cards say they are not in its scope,
    and its scope line names the department."""
    at = _overview_as("traffic", fixture, users_file, monkeypatch)
    captions = [c.value for c in at.caption]
    assert any("数据范围：交警大队" in c for c in captions), captions
    assert sum("不在您的数据范围内" in c for c in captions) == 6, captions  # every alert card, 未结告警 too
    assert "暂无数据" not in captions
