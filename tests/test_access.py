"""Departments consume the shared tables, each seeing what it may.

One real build over a hand-made delivery set (tests/deliveries.py's spine, which plants contact
张某某 / 13912345678, plus enterprises, risk points, grid hazard reports with planted reporters,
emergency plans, drills, resources and enforcement inspections), `build_and_publish`, then
`export_all`. Then:

* the policy file names every department, street office and dashboard page;
* the shared tables, their versions, their Chinese labels and the changelog agree;
* a table changing version (fct_inspections: version 1 and version 2 beside it for a release)
  is published in both versions with the columns and types of contracts.lock.json, the two agree
  row for row, and every principal entitled to the table gets both (each with its version),
  under the table's grants and row rules;
* each analyst file and export holds only its tables and its streets' rows;
* an export never mixes two publishes (a publish during an export, a failed export, readers
  holding the previous one, pruning);
* no planted personal value is in any published artefact (warehouse, analyst files, exports,
  quality batches and Data Docs, logs, rendered dashboard pages);
* sign-in: a wrong password is refused, a street user sees only its street's numbers, a
  department sees only its pages and reads only its analyst file through the data layer.

Hand-computed facts used below: 2020 deaths are 3 in the district, 2 in 武林 (WL: JJ-2020-1);
casualty events by street WL 2, TS 2, CH 1, CM 1, SQ 2, DX 1, WH 1, UNKNOWN 1. Inspections: 4
(XCZF20200003 changed after a hearing: 12,500 -> 8,750 yuan); penalties 188,750 yuan; units in
WL (0001), TS (0002), CH (0003) and one unlicensed (0004, no uscc).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import os
import re
import shutil
import stat
import zipfile
from dataclasses import asdict
from pathlib import Path

import duckdb
import openpyxl
import pytest
import yaml
from streamlit.testing.v1 import AppTest

import deliveries
from dashboard_harness import page_text
from citysafety.mart import build, publish
from citysafety.share import contracts, exports, labels, privacy
from citysafety.raw import ingest
from citysafety.share import policy as P
from citysafety import sources as S
from citysafety.config import PROJECT_ROOT, Settings
from demo import accounts
from demo.feeds.grid import id_check
from dashboards import auth

pytestmark = pytest.mark.pipeline

APP = PROJECT_ROOT / "dashboards" / "app.py"
AS_OF = "2020-06-30"
DEPARTMENTS = {"emb", "fire", "traffic", "stats", "grid", "safety_office", "emergency"}
STREETS = ["WL", "TS", "CH", "CM", "CQ", "SQ", "DX", "WH"]

# Planted personal data (fake): the spine's contact, and a grid reporter.
GRID_NAME = "欧阳某某"
GRID_ID_NO = "33010319850312451" + id_check("33010319850312451")
GRID_PHONE = "13812345679"
PERSONAL = ["张某某", "13912345678", GRID_NAME, GRID_ID_NO, GRID_PHONE]
PLANS_WL = {"QJ-001", "BM-EMB", "JD-WL", "SQ-WL-01", "QY-WL-01"}  # what 武林 may see of the plans
CASUALTY_EVENTS_BY_STREET = {"WL": 2, "TS": 2, "CH": 1, "CM": 1, "SQ": 2, "DX": 1, "WH": 1, "UNKNOWN": 1}
PASSWORDS = {"leader": "leader-test", "street_wl": "wl-test", "traffic": "traffic-test", "emb": "emb-test"}
INSPECTIONS_BY_STREET = {"WL": {"XCZF20200001"}, "TS": {"XCZF20200002"}, "CH": {"XCZF20200003"}}


# --- the delivery set beyond the spine ------------------------------------------------------------


def _xlsx(path: Path, header: list[str], rows: list[list], title: str | None = None) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(header)
    for row in rows:
        ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def _csv(path: Path, header: list[str], rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\r\n".join([",".join(header), *rows]) + "\r\n", encoding="utf-8")


def write_more(landing: Path) -> None:
    heads = {f.id: [c.delivered for c in f.columns] for f in S.all_feeds()}
    _xlsx(landing / "emb" / "enterprises" / "enterprises_202005.xlsx", heads["emb__enterprises"], [
        ["914403001922038216", "杭州某某1有限公司", "武林街道", "C 制造业", 120, "是", "二级", "是", "2021-01-01", "否"],
        ["9144030071526726XG", "杭州某某3有限公司", "朝晖", "C 制造业", 80, "否", "三级", "否", None, "是"],
        ["91330100799655058B", "天水小店", "天水", "F 批发和零售业", 5, "否", "未达标", "否", None, "否"],
    ], title="生产经营单位基础信息")
    _xlsx(landing / "safety_office" / "risk_points" / "risk_points_2020Q2.xlsx",
          heads["safety_office__risk_points"], [
              ["RP-WL-1", "武林商场", "武林街道", "人员密集场所", 4, 5, 20, "红", "武林街道", "2020-04-01"],
              ["RP-TS-1", "天水加油站", "天水", "工业企业", 3, 3, 9, "黄", "天水街道", "2020-04-02"],
              ["RP-CH-1", "朝晖隧道", "朝晖街道", "交通运输", 2, 2, 4, "蓝", "朝晖街道", "2020-04-03"],
          ])

    def report(rid, street, level, found, deadline, rectified, status, supervised, updated):
        return json.dumps({
            "report_id": rid, "found_on": found, "street": street, "community": "测试社区",
            "grid_code": "XC-01-01", "uscc": None, "description": "消防通道堵塞", "level": level,
            "deadline": deadline, "rectified_on": rectified, "status": status, "supervised": supervised,
            "reporter_name": GRID_NAME, "reporter_id_no": GRID_ID_NO, "reporter_phone": GRID_PHONE,
            "updated_at": updated}, ensure_ascii=False)

    grid = landing / "grid" / "hazard_reports"
    grid.mkdir(parents=True, exist_ok=True)
    (grid / "hazard_reports_20200601T000000Z.jsonl").write_text("\n".join([
        report("H-WL-1", "武林街道", "重大", "2020-05-01", "2020-05-20", None, "整改中", True, "2020-05-01T09:00:00"),
        report("H-TS-1", "天水", "一般", "2020-05-02", "2020-05-10", "2020-05-08", "已整改", False, "2020-05-08T09:00:00"),
        report("H-TS-2", "天水", "一般", "2020-05-03", "2020-06-10", None, "待整改", False, "2020-05-03T09:00:00"),
        # a broken line: quarantined with its raw text, which carries the reporter's details
        report("H-BAD", "天水", "一般", "2020-05-04", "2020-06-10", None, "待整改", False, "2020-05-04T09:00:00")[:-30],
    ]) + "\n", encoding="utf-8")

    _csv(landing / "emergency" / "plans" / "plans_202005.csv", heads["emergency__plans"], [
        "QJ-001,下城区突发事件总体应急预案,区级,下城区人民政府,,2018-01-01,2020-01-01",
        "BM-EMB,生产安全事故应急预案,部门,区应急管理局,QJ-001,2018-03-01,",
        "JD-WL,武林街道突发事件应急预案,街道,武林街道办事处,QJ-001,2018-05-01,",
        "SQ-WL-01,竹竿巷社区应急预案,社区,武林街道竹竿巷社区居委会,JD-WL,2019-01-01,",
        "QY-WL-01,某某1公司应急预案,企业,杭州某某1有限公司,SQ-WL-01,2019-02-01,",
        "JD-TS,天水街道突发事件应急预案,街道,天水街道办事处,QJ-001,2018-05-02,",
        "QY-TS-01,天水小店应急预案,企业,天水小店,JD-TS,2019-03-01,",
        # 天水's 武林门 community: its name holds 武林's short name; it is 天水's, never 武林's.
        "SQ-TS-03,武林门社区突发事件应急预案,社区,天水街道武林门社区居委会,JD-TS,2019-01-02,",
        "QY-TS-03,武林门某某公司应急预案,企业,杭州武林门某某有限公司,SQ-TS-03,2019-02-02,",
    ])
    _csv(landing / "emergency" / "drills" / "drills_202005.csv", heads["emergency__drills"], [
        "D-1,JD-WL,2020-05-10,实战,40", "D-2,JD-TS,2020-05-11,桌面,12"])
    _csv(landing / "emergency" / "resources" / "resources_202005.csv", heads["emergency__resources"], [
        "R-1,救援队伍,武林救援队,30,人,武林街道,2020-05-01", "R-2,应急物资,天水物资库,100,件,天水,2020-05-01"])

    def inspection(n, uscc, on, result, penalty, updated):
        return json.dumps({"inspection_id": f"XCZF2020{n:04d}", "uscc": uscc, "inspected_on": on,
                           "team": "执法一中队", "findings": 2, "result": result, "penalty_yuan": penalty,
                           "blacklisted": False, "updated_at": updated}, ensure_ascii=False)

    pulled = landing / "emb" / "inspections"
    pulled.mkdir(parents=True, exist_ok=True)
    (pulled / "inspections_20200601T000000Z.jsonl").write_text("\n".join([
        inspection(1, "914403001922038216", "2020-05-06", "行政处罚", 30000, "2020-05-06T10:00:00+08:00"),
        inspection(2, "91330100799655058B", "2020-05-07", "责令整改", 0, "2020-05-07T10:00:00+08:00"),
        inspection(3, "9144030071526726XG", "2020-05-08", "行政处罚", 12500, "2020-05-08T10:00:00+08:00"),
        inspection(4, None, "2020-05-09", "停产整顿", 150000, "2020-05-09T10:00:00+08:00"),
        inspection(3, "9144030071526726XG", "2020-05-08", "行政处罚", 8750, "2020-05-28T10:00:00+08:00"),
    ]) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A real build and publish of the delivery set, then the exports; yields the settings."""
    home = tmp_path_factory.mktemp("access") / "home"
    mp = pytest.MonkeyPatch()
    mp.setenv("CITYSAFETY_HOME", str(home))
    mp.setenv("CITYSAFETY_AS_OF_DATE", AS_OF)
    for name in ("CITYSAFETY_USERS", "CITYSAFETY_AUTH"):
        mp.delenv(name, raising=False)
    cfg = Settings(home=home)
    deliveries.write_spine(cfg.landing)
    write_more(cfg.landing)
    for feed in S.all_feeds():
        ingest.ingest_feed(feed, cfg)
    build.build_and_publish(cfg)
    summary = exports.export_all(cfg)
    yield cfg, summary
    mp.undo()


def q(path: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect() if str(path) == ":memory:" else duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def tables_of(path: Path) -> set[str]:
    return {f"{s}.{t}" for s, t in q(path, "select schema_name, table_name from duckdb_tables()")}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def table_of(qualified: str) -> str:
    """The shared table a published relation serves (marts.fct_x_v2 -> marts.fct_x); else itself."""
    for table in contracts.shared_tables().values():
        if qualified.split(".", 1)[-1] in table.relation_versions() and qualified.startswith("marts."):
            return table.qualified
    return qualified


# --- policy, contracts, labels ------------------------------------------------------------------


def test_policy_names_every_department_street_office_and_page():
    policy = P.load()
    kinds = {name: p.kind for name, p in policy.principals.items()}
    assert {n for n, k in kinds.items() if k == P.DEPARTMENT} == DEPARTMENTS
    assert [n for n, k in kinds.items() if k == P.LEADER] == ["leader"]
    assert policy.principal("leader").unrestricted
    for code in STREETS:
        office = policy.street_office(code)
        assert office.name == f"street_{code.lower()}" and office.streets == (code,)
        assert policy.page_grants(office) >= {"总览", "风险", "隐患", "应急"}
        assert not office.sees_table("audit.quarantine") and not office.sees_table("marts.fct_inspections")
    assert policy.principal("stats").tables == frozenset(
        {"marts.dim_streets", "marts.kpi_safety_targets", "marts.rpt_targets_projection",
         "marts.kpi_official_indicators", "marts.fct_casualty_events", "marts.rpt_overview_casualties"})
    assert all(policy.principal(d).streets is None for d in DEPARTMENTS)
    # Every page of the app is known to the policy (else only `pages: all` would see it).
    app_pages = set(re.findall(r'url_path="([a-z_]+)"', APP.read_text(encoding="utf-8")))
    assert app_pages and app_pages <= set(policy.pages), app_pages - set(policy.pages)
    for name, principal in policy.principals.items():
        assert principal.pages is None or principal.pages <= set(policy.pages), name
    with pytest.raises(KeyError):
        policy.for_user("department", "street_wl")  # a street office is not a department
    with pytest.raises(KeyError):
        policy.for_user("street", "XX")


def test_shared_tables_versions_labels_and_changelog_agree():
    shared = contracts.shared_tables()
    marts = contracts.mart_contracts()
    assert set(shared) == set(marts), (
        "every contracted mart is a shared table: register it in dbt_project/shared_tables.yml "
        f"and label its columns in citysafety/share/labels.py: {set(shared) ^ set(marts)}")
    assert {t.version for t in shared.values()} == {1}
    changelog = (PROJECT_ROOT / "dbt_project" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## 2026-11-29" in changelog and "_v2" in changelog and "versions:" in changelog
    for name, table in shared.items():
        assert f"| `marts.{name}` | 1 |" in changelog, name
        # `since`: the release that first published the table, a dated entry of the changelog
        assert table.description_zh and table.owner and f"## {table.since} — " in changelog, name
        columns = [c.name for c in marts[name]]
        missing = [c for c in columns if not labels.explicit(name, c)]
        assert not missing, f"{name}: no Chinese label for {missing} (citysafety/share/labels.py)"
        header = [labels.label(name, c) for c in columns]
        assert len(set(header)) == len(header), f"{name}: labels repeat"
        assert all(re.search(r"[\u4e00-\u9fff]", h) for h in header), name


# --- analyst files and exports ------------------------------------------------------------------


def test_analyst_files_hold_only_granted_tables_and_rows(built):
    cfg, summary = built
    policy = P.load()
    live = duckdb.connect(str(cfg.warehouse_db), read_only=True)
    try:
        published = {f"{s}.{t}" for s, t in live.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
        assert set(summary["exports"]) == set(policy.principals)
        for name, principal in policy.principals.items():
            con = duckdb.connect(str(exports.analyst_file(cfg, name)), read_only=True)
            try:
                held = {f"{s}.{t}": c for s, t, c in con.execute(
                    "select schema_name, table_name, list(column_name order by column_index) "
                    "from duckdb_columns() where not internal group by all").fetchall()}
                expected = {t for t in published if principal.sees_table(table_of(t))}
                assert set(held) == expected, name
                for table, columns in held.items():
                    assert not set(columns) & set(policy.withheld(table)), (name, table)
                    assert not set(columns) & privacy.PERSONAL_COLUMNS, (name, table)
                    count = con.execute(f"select count(*) from {table}").fetchone()
                    if principal.streets is None:
                        assert count == live.execute(f"select count(*) from {table}").fetchone(), (name, table)
                    elif "street_code" in columns and table_of(table) not in policy.row_rules:
                        # (tables with a row rule: the hand checks below; tests/test_boundary.py)
                        streets = {r[0] for r in con.execute(f"select distinct street_code from {table}").fetchall()}
                        assert streets <= set(principal.streets), (name, table, streets)
                        assert count == live.execute(f"select count(*) from {table} where street_code = ?",
                                                     [principal.streets[0]]).fetchone(), (name, table)
            finally:
                con.close()
    finally:
        live.close()
    # The hand-computed cuts: events per street, the district rows and targets never to a street.
    for code, n in CASUALTY_EVENTS_BY_STREET.items():
        if code != "UNKNOWN":
            assert q(exports.analyst_file(cfg, f"street_{code.lower()}"),
                     "select count(*) from marts.fct_casualty_events") == [(n,)]
    wl = exports.analyst_file(cfg, "street_wl")
    assert q(wl, "select count(*) from marts.kpi_safety_targets") == [(0,)]
    assert q(wl, "select distinct street_code from marts.kpi_official_indicators") == [("WL",)]
    assert q(wl, "select street_code from marts.dim_streets") == [("WL",)]
    assert {r[0] for r in q(wl, "select plan_id from marts.fct_emergency_plans")} == PLANS_WL
    assert q(wl, "select drill_id from marts.fct_drills") == [("D-1",)]
    ts_plans = {r[0] for r in q(exports.analyst_file(cfg, "street_ts"), "select plan_id from marts.fct_emergency_plans")}
    assert ts_plans == {"QJ-001", "BM-EMB", "JD-TS", "QY-TS-01", "SQ-TS-03", "QY-TS-03"}
    assert q(wl, "select street_code, count(*) from marts.fct_emergency_plans group by all order by 1") == [
        ("ALL", 2), ("WL", 3)]
    # Departments: their tables only.
    assert "marts.fct_hazards" not in tables_of(exports.analyst_file(cfg, "stats"))
    assert "marts.fct_inspections" not in tables_of(exports.analyst_file(cfg, "traffic"))
    assert "audit.quarantine" in tables_of(exports.analyst_file(cfg, "safety_office"))
    assert not any(t.startswith("audit.") for t in tables_of(exports.analyst_file(cfg, "emb")))


def test_exports_carry_versions_checksums_and_chinese_headers(built):
    cfg, summary = built
    live = cfg.warehouse_db
    live_sha = sha(live)
    versions = {r: v for t in contracts.shared_tables().values() for r, v in t.relation_versions().items()}
    for name in ("leader", "traffic", "street_wl"):
        folder = exports.exports_dir(cfg) / name / exports.CURRENT
        assert folder.is_symlink() and os.readlink(folder) == summary["exports"][name]["export_id"]
        manifest = exports.current_manifest(cfg, name)
        assert manifest["warehouse_sha256"] == live_sha == summary["warehouse_sha256"]
        assert manifest["publish_id"].endswith(live_sha[:12])
        assert manifest["published_at"] == summary["published_at"]
        assert manifest["published_at"] == dt.datetime.fromtimestamp(
            live.stat().st_mtime_ns / 1e9, exports.LOCAL_TZ).isoformat(timespec="seconds")
        assert manifest["analyst_file"]["sha256"] == sha(folder / f"{name}.duckdb")
        for entry in manifest["tables"]:
            assert entry["version"] == versions[entry["relation"]] and entry["table"] == f"marts.{entry['relation']}"
            for info in entry["files"].values():
                path = folder / info["path"]
                assert sha(path) == info["sha256"] and path.stat().st_size == info["bytes"]
                assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
            parquet = folder / entry["files"]["parquet"]["path"]
            assert q(Path(":memory:"), f"select count(*) from read_parquet('{parquet}')") == [(entry["rows"],)]
            book = openpyxl.load_workbook(folder / entry["files"]["xlsx"]["path"], read_only=True)
            rows = list(book["数据"].iter_rows(values_only=True))
            assert list(rows[0]) == [labels.label(entry["name"], c["name"]) for c in entry["columns"]]
            assert len(rows) - 1 == entry["rows"]
            # Yes/no read 是/否 in the workbook (issue 13); no TRUE/FALSE cell anywhere.
            assert not any(isinstance(v, bool) or v in ("TRUE", "FALSE") for r in rows[1:] for v in r)
            # Every column's description (说明 sheet, from the dbt contract) has Chinese.
            about = list(book["说明"].iter_rows(values_only=True))
            start = about.index(("列名", "中文名", "说明（dbt 契约）"))
            described = {r[0]: r[2] for r in about[start + 1:]}
            assert list(described) == [c["name"] for c in entry["columns"]]
            assert all(re.search("[\u4e00-\u9fff]", d or "") for d in described.values()), entry["relation"]
        assert {e["relation"] for e in manifest["tables"]} == {
            t.split(".")[1] for t in tables_of(folder / f"{name}.duckdb") if t.startswith("marts.")}
    wl = exports.exports_dir(cfg) / "street_wl" / exports.CURRENT
    events = q(Path(":memory:"), f"select distinct street_code from read_parquet('{wl / 'fct_casualty_events.parquet'}')")
    assert events == [("WL",)]
    sheet = openpyxl.load_workbook(wl / "fct_casualty_events.xlsx", read_only=True)["数据"]
    streets = {r[7] for r in list(sheet.iter_rows(values_only=True))[1:]}
    assert streets == {"WL"} and labels.label("fct_casualty_events", "street_code") == "街道代码"
    assert not (exports.exports_dir(cfg) / "traffic" / exports.CURRENT / "fct_hazards.parquet").exists()
    # The Parquet files keep booleans for programs; the workbook beside them says 是/否.
    leader = exports.exports_dir(cfg) / "leader" / exports.CURRENT
    parquet = leader / "kpi_safety_targets.parquet"
    assert q(Path(":memory:"), f"select distinct typeof(deaths_target_met) from read_parquet('{parquet}')") == [
        ("BOOLEAN",)]
    sheet = openpyxl.load_workbook(leader / "kpi_safety_targets.xlsx", read_only=True)["数据"]
    header, *body = list(sheet.iter_rows(values_only=True))
    column = header.index(labels.label("kpi_safety_targets", "deaths_target_met"))
    met = [r[column] for r in body]
    assert met and set(met) <= {"是", "否"}


# --- a table changing version: both versions for one release ------------------------------------

V1, V2 = "marts.fct_inspections", "marts.fct_inspections_v2"
V1_COLUMNS = ["inspection_id", "uscc", "inspected_on", "year", "team", "findings", "result", "penalty_yuan",
              "penalty_10k_yuan", "blacklisted", "updated_at", "versions", "source_file"]
V1_ADDED = ["street_code", "result_category", "penalised"]  # added at the end of both versions on 2027-01-04


def columns_of(path: Path) -> dict[str, list[list[str]]]:
    """schema.table -> [[column, DuckDB type], ...] for every table of a DuckDB file."""
    out: dict[str, list[list[str]]] = {}
    for schema, table, column, data_type in q(path, """
            select schema_name, table_name, column_name, data_type from duckdb_columns()
            where not internal order by schema_name, table_name, column_index"""):
        out.setdefault(f"{schema}.{table}", []).append([column, data_type])
    return out


def test_published_versions_keep_their_locked_columns(built):
    """Both versions are published, and every shared relation has exactly the columns and DuckDB
    types that dbt_project/contracts.lock.json froze for its version: a published version changed
    in place fails here (and in tests/test_contracts.py) until it ships as a new version."""
    cfg, _ = built
    published = columns_of(cfg.warehouse_db)
    lock = contracts.read_lock()
    assert {t for t in published if t.startswith("marts.")} == set(lock)
    for relation, entry in lock.items():
        assert published[relation] == entry["columns"], relation
    assert contracts.published_tables(cfg.warehouse_db) == {r: e["version"] for r, e in lock.items()}
    assert (lock[V1]["version"], lock[V2]["version"]) == (1, 2)
    # version 1 as it was first published, with only the columns added at the end since (not
    # breaking, CHANGELOG.md: street_code, 2027-01-04); version 2 the same without the 万元 column
    assert [c for c, _ in published[V1]] == V1_COLUMNS + V1_ADDED
    assert [c for c, _ in published[V2]] == [c for c in V1_COLUMNS + V1_ADDED if c != "penalty_10k_yuan"]
    # dbt: both versions built under enforced contracts, v1 under the table's own name; an
    # unpinned ref('fct_inspections') anywhere (models, tests, unit tests, exposures) reads v1.
    target = cfg.build_dir / "dbt_target"
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    v1_id, v2_id = "model.citysafety.fct_inspections.v1", "model.citysafety.fct_inspections.v2"
    models = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    assert {(models[u]["alias"], models[u]["schema"], models[u]["version"], models[u]["latest_version"],
             models[u]["contract"]["enforced"]) for u in (v1_id, v2_id)} == {
        ("fct_inspections", "marts", 1, 1, True), ("fct_inspections_v2", "marts", 2, 1, True)}
    # citysafety.share.contracts reads the model YAML (versions, include/exclude) as dbt does.
    by_relation = {n["alias"]: n for n in models.values() if n["schema"] == "marts"}
    for relation, columns in contracts.relation_contracts().items():
        assert [(c["name"], c["data_type"]) for c in by_relation[relation]["columns"].values()] == [
            (c.name, c.data_type) for c in columns], relation
    for kind in ("nodes", "unit_tests", "exposures"):
        for uid, node in manifest.get(kind, {}).items():
            for ref in node.get("refs", []):
                if ref["name"] == "fct_inspections" and ref.get("version") is None:
                    assert v1_id in node["depends_on"]["nodes"] and v2_id not in node["depends_on"]["nodes"], uid
    key_tests = {(n["test_metadata"]["name"], n["attached_node"]) for n in manifest["nodes"].values()
                 if n["resource_type"] == "test" and n.get("column_name") == "inspection_id" and n.get("test_metadata")}
    assert {(t, m) for t in ("unique", "not_null") for m in (v1_id, v2_id)} <= key_tests
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    attached = {uid for uid, n in manifest["nodes"].items() if n.get("attached_node") in (v1_id, v2_id)}
    ran = {r["unique_id"]: r["status"] for r in results if r["unique_id"] in attached | {v1_id, v2_id}}
    assert ran[v1_id] == ran[v2_id] == "success" and len(ran) == len(attached) + 2 >= 10
    assert {ran[t] for t in attached} == {"pass"}
    # The quality gate validated both (their suites: expectations/marts/fct_inspections*.py).
    gate = {t: (n, ok) for t, n, ok in q(cfg.warehouse_db, """select table_name, count(*), bool_and(success)
        from audit.quality_results where table_name like 'marts.fct_inspections%' group by 1""")}
    assert set(gate) == {V1, V2} and all(n >= 9 and ok for n, ok in gate.values()), gate


def test_versions_agree_row_for_row(built):
    cfg, _ = built
    db = cfg.warehouse_db
    shared = ", ".join(c for c in V1_COLUMNS if c != "penalty_10k_yuan")
    for a, b in ((V1, V2), (V2, V1)):
        assert q(db, f"select count(*) from (select {shared} from {a} except all select {shared} from {b})") == [(0,)]
    assert q(db, f"select count(*) from {V1}") == q(db, f"select count(*) from {V2}") == [(4,)]
    assert q(db, f"select inspection_id, uscc is null, penalty_yuan, versions from {V2} order by 1") == [
        ("XCZF20200001", False, 30000.0, 1), ("XCZF20200002", False, 0.0, 1),
        ("XCZF20200003", False, 8750.0, 2), ("XCZF20200004", True, 150000.0, 1)]
    # What version 2 drops: the same penalties again in 万元.
    assert q(db, f"select sum(penalty_10k_yuan), sum(penalty_yuan) from {V1}") == [(18.875, 188750.0)]


def test_both_versions_reach_the_principals_entitled_to_the_table(built):
    cfg, _ = built
    policy = P.load()
    published = columns_of(cfg.warehouse_db)
    entitled = {n for n, p in policy.principals.items() if p.sees_table(V1)}
    assert entitled == {"leader", "emb", "safety_office"}
    for name in policy.principals:
        folder = exports.exports_dir(cfg) / name / exports.CURRENT
        entries = {e["relation"]: e for e in exports.current_manifest(cfg, name)["tables"]
                   if e["name"] == "fct_inspections"}
        held = columns_of(folder / f"{name}.duckdb")
        if name not in entitled:
            assert entries == {} and not {V1, V2} & set(held), name
            assert not list(folder.glob("fct_inspections*")), name
            continue
        assert {r: e["version"] for r, e in entries.items()} == {"fct_inspections": 1, "fct_inspections_v2": 2}, name
        for relation, entry in entries.items():
            qualified = f"marts.{relation}"
            assert held[qualified] == published[qualified], (name, relation)  # analyst file
            assert entry["table"] == qualified and entry["rows"] == 4 and entry["streets"] is None
            assert [c["name"] for c in entry["columns"]] == [c for c, _ in published[qualified]]
            assert q(Path(":memory:"), f"select count(*) from read_parquet('{folder / entry['files']['parquet']['path']}')"
                     ) == [(4,)]
    # The XLSX of version 2: Chinese headers from citysafety/share/labels.py, yuan only, its version noted.
    folder = exports.exports_dir(cfg) / "emb" / exports.CURRENT
    book = openpyxl.load_workbook(folder / "fct_inspections_v2.xlsx", read_only=True)
    header = list(next(book["数据"].iter_rows(values_only=True)))
    assert header == [labels.label("fct_inspections_v2", c) for c, _ in published[V2]]
    assert "罚款（元）" in header and "罚款（万元）" not in header and header[0] == "检查编号"
    about = {r[0]: r[1] for r in book["说明"].iter_rows(values_only=True) if r and r[0]}
    assert about["数据表"] == V2 and about["版本"] == 2
    v1_header = next(openpyxl.load_workbook(folder / "fct_inspections.xlsx", read_only=True)["数据"]
                     .iter_rows(values_only=True))
    assert "罚款（万元）" in v1_header


def test_the_street_rules_of_a_table_apply_to_every_version(built, tmp_path, monkeypatch):
    """The policy grants and cuts rows per table, whatever the version. The real policy grants
    inspections to no street office, so a variant of policy/access.yml does: street offices get
    the inspections set, cut by the street_code dbt publishes (the inspected unit's street).
    Each office then gets only its street's inspections, in version 1 and in version 2 alike."""
    src, _ = built
    cfg = Settings(home=tmp_path / "home")
    cfg.warehouse_dir.mkdir(parents=True)
    shutil.copy2(src.warehouse_db, cfg.warehouse_db)
    doc = yaml.safe_load(P.POLICY_FILE.read_text(encoding="utf-8"))
    doc["street_offices"]["sets"].append("inspections")
    variant = tmp_path / "access.yml"
    variant.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setattr(P, "POLICY_FILE", variant)
    expected = {**INSPECTIONS_BY_STREET, "CQ": set()}
    exports.export_all(cfg, [f"street_{code.lower()}" for code in expected] + ["traffic"])
    for code, ids in expected.items():
        name = f"street_{code.lower()}"
        folder = exports.exports_dir(cfg) / name / exports.CURRENT
        entries = {e["relation"]: e for e in exports.current_manifest(cfg, name)["tables"]
                   if e["name"] == "fct_inspections"}
        assert {r: e["version"] for r, e in entries.items()} == {"fct_inspections": 1, "fct_inspections_v2": 2}, name
        for relation, entry in entries.items():
            parquet = folder / entry["files"]["parquet"]["path"]
            assert {r[0] for r in q(Path(":memory:"), f"select inspection_id from read_parquet('{parquet}')")} == ids
            assert {r[0] for r in q(folder / f"{name}.duckdb", f"select inspection_id from marts.{relation}")} == ids
            assert entry["rows"] == len(ids), (name, relation)
    assert not [e for e in exports.current_manifest(cfg, "traffic")["tables"] if e["name"] == "fct_inspections"]


def test_an_export_never_mixes_two_publishes(built, tmp_path, monkeypatch):
    """Its own home (a copy of the build copy): publishes A, B, C and exports around them."""
    src, _ = built
    cfg = Settings(home=tmp_path / "home")
    cfg.build_dir.mkdir(parents=True)
    shutil.copy2(src.build_db, cfg.build_db)
    names = ["leader", "street_wl"]

    def publish_with_wl_deaths(deaths: int) -> str:
        con = duckdb.connect(str(cfg.build_db))
        try:
            con.execute("update marts.fct_casualty_events set deaths = ? where event_id = 'traffic:JJ-2020-1'", [deaths])
        finally:
            con.close()
        publish.publish(cfg)
        return sha(cfg.warehouse_db)

    def wl_deaths(path: Path) -> int:
        return q(path, "select deaths from marts.fct_casualty_events where event_id = 'traffic:JJ-2020-1'")[0][0]

    sha_a = publish_with_wl_deaths(10)
    # A publish (B) lands while A is being exported: the export stays wholly A.
    real_xlsx, published = exports._write_xlsx, []

    def xlsx_then_publish(*args, **kwargs):
        if not published:
            published.append(publish_with_wl_deaths(20))
        return real_xlsx(*args, **kwargs)

    monkeypatch.setattr(exports, "_write_xlsx", xlsx_then_publish)
    first = exports.export_all(cfg, names)
    monkeypatch.setattr(exports, "_write_xlsx", real_xlsx)
    sha_b = published[0]
    assert sha_b != sha_a and sha(cfg.warehouse_db) == sha_b
    assert first["warehouse_sha256"] == sha_a
    id_a = first["exports"]["street_wl"]["export_id"]
    assert id_a.endswith(sha_a[:12])
    for name in names:
        folder = exports.exports_dir(cfg) / name / exports.CURRENT
        manifest = exports.current_manifest(cfg, name)
        assert manifest["warehouse_sha256"] == sha_a
        assert wl_deaths(folder / f"{name}.duckdb") == 10
        parquet = folder / "fct_casualty_events.parquet"
        assert q(Path(":memory:"), f"select deaths from read_parquet('{parquet}') "
                                   "where event_id = 'traffic:JJ-2020-1'") == [(10,)]
        sheet = openpyxl.load_workbook(folder / "fct_casualty_events.xlsx", read_only=True)["数据"]
        assert [r[9] for r in sheet.iter_rows(values_only=True) if r[0] == "traffic:JJ-2020-1"] == [10]
    # A reader holding A's analyst file keeps reading A across the switch to B.
    reader = duckdb.connect(str(exports.analyst_file(cfg, "street_wl")), read_only=True)
    try:
        second = exports.export_all(cfg, names)
        assert second["warehouse_sha256"] == sha_b
        id_b = second["exports"]["street_wl"]["export_id"]
        assert sorted(reader.execute("select deaths from marts.fct_casualty_events").fetchall()) == [(1,), (10,)]
    finally:
        reader.close()
    wl = exports.exports_dir(cfg) / "street_wl"
    assert os.readlink(wl / "current") == id_b and os.readlink(wl / "previous") == id_a
    assert wl_deaths(exports.analyst_file(cfg, "street_wl")) == 20
    # A failed export (C published) leaves current and previous as they were, and no stray folder.
    publish_with_wl_deaths(30)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(exports, "_write_xlsx", broken)
    with pytest.raises(exports.ExportFailed, match="street_wl"):
        exports.export_all(cfg, names)
    monkeypatch.setattr(exports, "_write_xlsx", real_xlsx)
    assert os.readlink(wl / "current") == id_b and os.readlink(wl / "previous") == id_a
    assert sorted(p.name for p in wl.iterdir()) == sorted(["current", "previous", id_a, id_b])
    assert wl_deaths(exports.analyst_file(cfg, "street_wl")) == 20
    # The next export switches to C, keeps B for readers and prunes A.
    third = exports.export_all(cfg, names)
    id_c = third["exports"]["street_wl"]["export_id"]
    assert sorted(p.name for p in wl.iterdir()) == sorted(["current", "previous", id_b, id_c])
    assert os.readlink(wl / "previous") == id_b and wl_deaths(exports.analyst_file(cfg, "street_wl")) == 30
    # Exporting the same publish again changes nothing.
    assert exports.export_all(cfg, names)["exports"]["street_wl"] == {**third["exports"]["street_wl"], "reused": True}
    assert os.readlink(wl / "previous") == id_b


# --- personal data --------------------------------------------------------------------------------


def _db_leaks(path: Path, where: str) -> list[str]:
    """Every column of every table, as text (one query per table)."""
    leaks = []
    con = duckdb.connect(str(path), read_only=True)
    try:
        for schema, table in con.execute(
                "select schema_name, table_name from duckdb_tables() where not internal").fetchall():
            rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
            columns = [d[0] for d in con.description]
            for i, column in enumerate(columns):
                text = "\n".join(str(row[i]) for row in rows)
                leaks += [f"{where}: {schema}.{table}.{column} holds {v}" for v in PERSONAL if v in text]
    finally:
        con.close()
    return leaks


def _parquet_leaks(path: Path, where: str) -> list[str]:
    con = duckdb.connect()
    try:
        text = " ".join(str(v) for row in con.execute(f"select * from read_parquet('{path}')").fetchall() for v in row)
    finally:
        con.close()
    return [f"{where}: holds {v}" for v in PERSONAL if v in text]


def _xlsx_text(path: Path) -> str:
    """Every part of a workbook as text (cells, shared strings, sheet names, document
    properties), entities decoded: more than its cell values, and ~10x faster than reading
    the cells with openpyxl over the ~300 workbooks of an export."""
    with zipfile.ZipFile(path) as book:
        return "\n".join(html.unescape(book.read(n).decode("utf-8", "replace")) for n in book.namelist())


def _text_leaks(text: str, where: str) -> list[str]:
    return [f"{where}: holds {v}" for v in PERSONAL if v in text]




def test_no_personal_data_leaves_the_raw_layer(built, monkeypatch):
    cfg, _ = built
    # The values really were delivered: they are in the raw layer (so the scan means something).
    raw_text = " ".join(str(v) for p in sorted(cfg.raw.rglob("*.parquet"))
                        for row in duckdb.connect().execute(f"select * from read_parquet('{p}')").fetchall()
                        for v in row)
    assert all(v in raw_text for v in PERSONAL)

    leaks = _db_leaks(cfg.warehouse_db, "warehouse")
    scanned = {"warehouse": 1}
    for path in sorted(exports.exports_dir(cfg).rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        where = str(path.relative_to(cfg.home))
        if path.suffix == ".duckdb":
            leaks += _db_leaks(path, where)
        elif path.suffix == ".parquet":
            leaks += _parquet_leaks(path, where)
        elif path.suffix == ".xlsx":
            leaks += _text_leaks(_xlsx_text(path), where)
        else:
            leaks += _text_leaks(path.read_text(encoding="utf-8", errors="replace"), where)
        scanned[path.suffix] = scanned.get(path.suffix, 0) + 1
    assert scanned.get(".duckdb", 0) >= 16 and scanned.get(".xlsx", 0) > 100 and scanned.get(".json", 0) >= 16
    # The quality gate's batches and Data Docs, and every log under the home.
    quality = [p for p in cfg.quality_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in quality) and any(p.suffix == ".parquet" for p in quality)
    for path in quality:
        where = str(path.relative_to(cfg.home))
        leaks += (_parquet_leaks(path, where) if path.suffix == ".parquet"
                  else _text_leaks(path.read_text(encoding="utf-8", errors="replace"), where))
    logs = [p for p in cfg.home.rglob("*") if p.is_file() and (
        p.suffix == ".log" or any(part in ("logs", "dbt_logs") for part in p.relative_to(cfg.home).parts))]
    assert logs, "the dbt log is under the home"
    for path in logs:
        leaks += _text_leaks(path.read_text(encoding="utf-8", errors="replace"), str(path.relative_to(cfg.home)))
    # Every dashboard page (sign-in switched off explicitly: all of them, as the leader).
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert any(auth.OFF_BANNER in w.value for w in at.warning)
    pages = sorted(pages_of(at))
    assert {"overview", "data_health"} <= set(pages)
    for page in pages:
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, [e.message for e in at.exception])
        leaks += _text_leaks(page_text(at), f"dashboard {page}")
    assert leaks == [], "personal data outside the raw layer:\n" + "\n".join(leaks)


def test_masking_of_quarantined_records():
    feed = S.EMB_ACCIDENTS
    record = json.dumps({c.delivered: "x" for c in feed.columns} | {"联系人": "张某某", "联系电话": "13912345678"},
                        ensure_ascii=False)
    masked = json.loads(privacy.mask_raw_record(feed, record))
    assert masked["联系人"] == "张**" and masked["联系电话"] == "139****5678" and masked["事故编号"] == "x"
    assert privacy.mask_raw_record(feed, "A-1,不详,张某某,13912345678") == privacy.REDACTED
    assert privacy.mask_raw_record(S.FIRE_FIRES, "F-1,broken line") == "F-1,broken line"  # nothing personal
    assert privacy.mask_id_no(GRID_ID_NO) == GRID_ID_NO[:6] + "********" + GRID_ID_NO[-4:]
    con = duckdb.connect()
    con.execute("create schema audit")
    con.execute("create table audit.quarantine (source varchar, feed varchar, raw_record varchar)")
    con.execute("insert into audit.quarantine values ('emb', 'accidents', ?), ('grid', 'hazard_reports', ?), "
                "('fire', 'fires', 'F-1,x')", [record, '{"reporter_name": "欧阳某某", "repo'])
    assert privacy.mask_quarantine(con, "memory") == 2
    text = " ".join(r[0] for r in con.execute("select raw_record from audit.quarantine").fetchall())
    assert not any(v in text for v in PERSONAL) and "张**" in text and "F-1,x" in text


# --- sign-in ------------------------------------------------------------------------------------


@pytest.fixture
def users(built, tmp_path, monkeypatch):
    """A users file (hashes with few iterations, to keep the test quick) named by CITYSAFETY_USERS."""
    policy = P.load()
    entries = {}
    for name, password in PASSWORDS.items():
        principal = policy.principal(name)
        entries[name] = {
            "role": principal.kind,
            "scope": None if principal.kind == P.LEADER else (
                principal.streets[0] if principal.kind == P.STREET else name),
            "password_hash": P.hash_password(password, iterations=1000),
        }
    path = accounts.write_users(tmp_path / "secrets" / "users.json", entries)
    monkeypatch.setenv("CITYSAFETY_USERS", str(path))
    return path


def sign_in(username: str, password: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert [s.value for s in at.subheader][:1] == ["请登录"] and not at.metric
    at.text_input(key="citysafety_login_username").input(username)
    at.text_input(key="citysafety_login_password").input(password)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def pages_of(at: AppTest) -> set[str]:
    """The pages st.navigation registered for this session, by file name (overview, risk...)."""
    return {Path(str(info["script_path"])).stem for info in at._registered_pages.values()
            if info.get("script_path")}


def test_wrong_password_is_refused(users):
    at = sign_in("street_wl", "not-the-password")
    assert any("用户名或密码错误" in e.value for e in at.error)
    assert not at.metric and "citysafety_user" not in at.session_state
    at = sign_in("nobody", "wl-test")
    assert any("用户名或密码错误" in e.value for e in at.error) and not at.metric


def test_users_come_from_secrets_or_env_and_fail_closed(built, tmp_path, monkeypatch):
    hashed = {"role": "street", "scope": "WL", "password_hash": P.hash_password("pw", iterations=1000)}
    # st.secrets["users"] (.streamlit/secrets.toml) when CITYSAFETY_USERS is unset.
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["users"] = {"wl_office": hashed}
    at.run()
    assert [s.value for s in at.subheader][:1] == ["请登录"] and not at.metric
    at.text_input(key=auth.USERNAME_KEY).input("wl_office")
    at.text_input(key=auth.PASSWORD_KEY).input("pw")
    at.button[0].click().run()
    assert at.multiselect(key="overview_streets").options == ["武林街道"]
    # A users file that is named but unreadable stops the app: no page, no sign-in form, no data.
    monkeypatch.setenv("CITYSAFETY_USERS", str(tmp_path / "missing.json"))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert any(auth.BROKEN_TITLE in e.value and "用户文件不存在" in e.value for e in at.error)
    assert not at.metric and not at.text_input
    # CITYSAFETY_AUTH=off: no sign-in, and a banner says so.
    monkeypatch.setenv("CITYSAFETY_AUTH", "off")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert any(auth.OFF_BANNER in w.value for w in at.warning) and at.metric


def test_street_user_sees_only_its_street(users):
    at = sign_in("street_wl", PASSWORDS["street_wl"], {"from": "2020", "to": "2020"})
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["死亡人数（所选范围）"] == "2 人"  # 武林 in 2020; the district had 3
    # the district targets are not its numbers
    assert not any("各类生产安全事故死亡人数" in label for label in metrics)
    # Its own street's official indicators, titled with whose they are (issue 13): 武林 in 2020.
    subheaders = [s.value for s in at.subheader]
    assert "2020年 官方安全指标（武林街道）" in subheaders and "今日重点提醒（武林街道）" in subheaders
    assert metrics["死亡人数"] == "2 人" and "亿元GDP死亡率（人/亿元）" not in metrics
    assert at.multiselect(key="overview_streets").options == ["武林街道"]
    text = page_text(at)
    assert "武林街道" in text and not any(n in text for n in ("天水街道", "石桥街道", "文晖街道", "3 人"))
    assert pages_of(at) == {"overview", "risk", "hazards", "alarms", "emergency", "demonstration", "education"}
    assert any("武林街道办事处" in c.value for c in at.sidebar.caption)
    # Its other pages read its own file: 隐患 shows WL's hazard only.
    at.switch_page("views/hazards.py").run()
    assert not at.exception, [e.message for e in at.exception]
    text = page_text(at)
    assert "H-WL-1" in text or "武林街道" in text
    assert "H-TS-1" not in text and "天水" not in text
    with pytest.raises(ValueError):
        at.switch_page("views/data_health.py")
    # Signing out shows the login form again.
    at.button(key="citysafety_logout").click().run()
    assert [s.value for s in at.subheader][:1] == ["请登录"] and not at.metric


def _probe_data_layer():
    """Run inside AppTest: sign-in gate, bound data layer, then the queries a page could make."""
    import streamlit as st

    from dashboards import auth, data

    auth.require_login()
    auth.bind_data_layer()
    for sql in ("select string_agg(distinct street_code, ',' order by street_code) from marts.fct_casualty_events",
                "select count(*) from marts.fct_hazards",
                "select count(*) from marts.kpi_safety_targets"):
        try:
            st.markdown(f"result={data.query(sql).iloc[0, 0]}")
        except data.DataUnavailable as exc:
            st.markdown(f"result={type(exc).__name__}")
    st.markdown(f"path={data.warehouse_path()}")


def test_department_sees_only_its_pages_and_tables(users, built):
    cfg, _ = built
    at = sign_in("traffic", PASSWORDS["traffic"])
    assert pages_of(at) == {"overview", "risk"}
    for page in ("views/data_health.py", "views/hazards.py", "views/enforcement.py"):
        with pytest.raises(ValueError):
            at.switch_page(page)
    assert {m.label: m.value for m in at.metric}["2020年各类生产安全事故死亡人数"] == "3 人"  # 2020, district

    def probe(username: str) -> list[str]:
        at = AppTest.from_function(_probe_data_layer, default_timeout=60)
        entry = json.loads(users.read_text(encoding="utf-8"))["users"][username]
        user = auth._user_from_entry(username, entry)
        at.session_state[auth.USER_KEY] = asdict(user)
        at.session_state[auth.TOKEN_KEY] = auth.start_session(user, entry, None, auth.store())[0]
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        return [m.value for m in at.markdown]

    traffic = probe("traffic")
    assert traffic[:3] == ["result=CH,CM,DX,SQ,TS,UNKNOWN,WH,WL", "result=MartMissing", "result=5"]
    assert traffic[3] == f"path={exports.analyst_file(cfg, 'traffic')}"
    assert probe("street_wl")[:3] == ["result=WL", "result=1", "result=0"]
    leader = probe("leader")
    assert leader[:3] == ["result=CH,CM,DX,SQ,TS,UNKNOWN,WH,WL", "result=3", "result=5"]
    assert leader[3] == f"path={cfg.warehouse_db}"


def test_demo_accounts_are_hashed_and_private(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    assert accounts.main(["--home", str(home)]) == 0
    path = home / "secrets" / "users.json"
    secret = home / "secrets" / "demo_passwords.txt"
    for p in (path, secret):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # Random passwords, written once (0600) and printed once at the end of the run.
    passwords = dict(line.split("\t")[:2] for line in secret.read_text(encoding="utf-8").splitlines()[2:])
    assert set(passwords) == set(P.load().principals)
    assert passwords["leader"] in capsys.readouterr().out
    text = path.read_text(encoding="utf-8")
    assert not any(pw in text for pw in passwords.values())
    assert "leader-demo" not in text and "wl-demo" not in text
    users = json.loads(text)["users"]
    assert set(users) == set(P.load().principals)
    assert users["street_wl"]["role"] == "street" and users["street_wl"]["scope"] == "WL"
    assert users["emb"] == {**users["emb"], "role": "department", "scope": "emb"}
    assert P.verify_password(passwords["leader"], users["leader"]["password_hash"])
    assert P.verify_password(passwords["street_wl"], users["street_wl"]["password_hash"])
    assert not P.verify_password(passwords["street_wl"], users["street_ts"]["password_hash"])
    assert not P.verify_password("leader-demo", users["leader"]["password_hash"])  # no public password
    assert len(set(passwords.values())) == len(passwords)  # one each
    assert users["leader"]["password_hash"] != users["emb"]["password_hash"]  # salted per user
    assert accounts.main(["--home", str(home), "--no-print"]) == 0 and path.read_text(encoding="utf-8") == text  # kept
    assert passwords["leader"] not in capsys.readouterr().out
    # Accounts from before (public password leader-demo) are replaced on sight.
    accounts.write_users(path, {**users, "leader": {**users["leader"], "password_hash": P.hash_password(
        "leader-demo", iterations=1000)}})
    assert accounts.main(["--home", str(home), "--no-print"]) == 0
    assert not P.verify_password("leader-demo", json.loads(path.read_text(encoding="utf-8"))["users"]["leader"]["password_hash"])
