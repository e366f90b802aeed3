"""emb/enterprises and safety_office/risk_points on their real components.

Hand-made workbooks are ingested into a temporary CITYSAFETY_HOME, the build copy is prepared and
the real `dbt build` runs; marts.dim_enterprises, marts.fct_risk_points and
marts.agg_risk_points_by_street must say what was worked out by hand from the rows below. The
GB 32100 check exists twice (macros/uscc.sql and citysafety/uscc.py): both run on the same codes
and must agree. The demo generator's deliveries build too, and pass the quality-gate suites.

Registry snapshots (row 1 merged title, row 2 header, data from row 3):

  enterprises_20231231.xlsx  甲厂 91330103MA27XC004R; 子公司 91330103MA27XC005W
  enterprises_20240131.xlsx  华为 914403001922038216; 癸公司 91330103MA27XC003M (check char wrong);
                             甲公司 91330103MA27XC004R (renamed, insured to 2024-06-30); 乙公司 (no code)
  enterprises_20240229.xlsx  (latest) 华为 (insured to 2024-12-31); 腾讯 " 9144030071526726xg"
                             (lower case, space: valid once normalised; insurance expired
                             2024-02-28); 丙公司 91330100799655058C (check char: B expected;
                             insured to "2024/2/29" = the snapshot day: current; 重大危险源);
                             己公司 (no code); 丁公司 9133010379965505 (16 long); 戊公司
                             O1330100799655058B (letter O); 庚公司 and 辛公司 both
                             91330103MA27XC001G (valid, shared -> surrogates); 壬公司
                             91330103MA27XC002K twice (employees 10 then 12 -> one unit, 12);
                             癸公司 91330103MA27XC003N (corrected; insured, no date)

  -> 13 units: 10 active; closed 甲公司 (values of 2024-01-31, first seen 2023-12-31, missing
     since 2024-02-29), 乙公司 (missing since 2024-02-29), 子公司 (missing since 2024-01-31). 癸公司
     is not closed: its name is in the latest snapshot under the corrected code. Invalid codes:
     丙 丁 戊 己 乙 = 5. Insurance current: 华为, 丙 (expires on the snapshot day), 癸 (no date),
     甲 (2024-06-30 >= its snapshot 2024-01-31) = 4.

Risk inventory: risk_points_2024Q1.xlsx (FX-001 as 1x1, FX-008 retired later) and
risk_points_2024Q2.xlsx (latest):

  FX-001 WL 4x5=20 红        consistent                                  effective 红
  FX-002 不详 3x4=12 橙       level wrong (12 is 黄)                       UNKNOWN, 黄
  FX-003 TS 3x5, value 16 橙  value wrong (15); 橙 right for 15            橙
  FX-004 WL 6x2=12 黄         L outside 1-5                               黄 (delivered)
  FX-005 WL 2x2=4 蓝色        consistent (蓝色 reads 蓝)                   蓝
  FX-006 TS L empty, 3, 9 黄  L missing; level cannot be checked          黄 (delivered)
  FX-007 WL listed twice: 1x1=1 蓝, then 5x5=25 红 (last row wins)         红
  -> 7 points, 5 flagged (002 003 004 006 007), 2 value-inconsistent (003 006), 2
     level-inconsistent (002 006); by street and level: WL 红 2 (1 flagged), WL 黄 1 (1),
     WL 蓝 1 (0), TS 橙 1 (1), TS 黄 1 (1), UNKNOWN 黄 1 (1).
"""

from __future__ import annotations

import hashlib
import importlib.util
import random
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest
from dbt.cli.main import dbtRunner

from citysafety import uscc
from citysafety.mart.build import prepare_build
from citysafety.config import DBT_PROJECT_DIR, EXPECTATIONS_DIR, settings
from demo.feeds import enterprises_risk_points as demo
from demo.generate import _rng, _units
from citysafety.raw.ingest import ingest_feed
from citysafety.sources import EMB_ENTERPRISES, SAFETY_OFFICE_RISK_POINTS

DBT_DIR = str(DBT_PROJECT_DIR)
SELECT = ["+dim_enterprises+", "+fct_risk_points+", "dim_streets", "+int_unit_streets_resolved", "+agg_street_values"]
SEED = 20180101
MINE = ("raw.emb__enterprises", "raw.safety_office__risk_points", "marts.dim_enterprises",
        "marts.fct_risk_points")

# Real unified social credit codes (华为技术有限公司, 腾讯科技（深圳）有限公司, 阿里巴巴（中国）有限公司).
REAL = ("914403001922038216", "9144030071526726XG", "91330100799655058B")


# --------------------------------------------------------------------------- helpers

def surrogate(code: str | None, name: str) -> str:
    return "X-" + hashlib.md5(f"{code or ''}|{name}".encode()).hexdigest()[:16]


def dbt(tmp: Path, *args: str):
    return dbtRunner().invoke([*args, "--project-dir", DBT_DIR, "--profiles-dir", DBT_DIR,
                               "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")])


def build(home: Path) -> None:
    """Ingest both feeds, prepare the build copy, run the real dbt build of these marts."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITYSAFETY_HOME", str(home))
        cfg = settings()
        for feed in (EMB_ENTERPRISES, SAFETY_OFFICE_RISK_POINTS):
            ingest_feed(feed, cfg)
        prepare_build(cfg)
        res = dbt(home, "build", "--select", *SELECT, "--indirect-selection", "cautious")
    assert res.success, [r.message for r in res.result.results if r.status not in ("pass", "success")]


def connect(home: Path) -> duckdb.DuckDBPyConnection:
    # dbt-duckdb keeps its in-process connection open after a build, and DuckDB refuses a second
    # one to the same file with another configuration (read_only): match dbt's, close after.
    return duckdb.connect(str(home / "build" / "citysafety.duckdb"))


def q(home: Path, sql: str) -> list[tuple]:
    con = connect(home)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def workbook(path: Path, header: list[str], rows: list[list], title: str | None = None) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append(header)
    for row in rows:
        ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def gate(home: Path) -> dict[str, list[str]]:
    """Run the four suites of this feed pair (GE pandas route); failing expectations by table."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("build_copy")
    failed = {}
    for table in MINE:
        layer, name = table.split(".")
        spec = importlib.util.spec_from_file_location(f"expectations.{table}", EXPECTATIONS_DIR / layer / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.TABLE == table
        con = connect(home)
        try:
            df = con.sql(getattr(module, "QUERY", f"select * from {table}")).df()
        finally:
            con.close()
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": df})
        result = batch.validate(module.suite())
        failed[table] = sorted(f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column')})"
                               for r in result.results if not r.success)
    return failed


# --------------------------------------------------------------------------- hand-made deliveries

ENT_HEADER = [c.delivered for c in EMB_ENTERPRISES.columns]
RISK_HEADER = [c.delivered for c in SAFETY_OFFICE_RISK_POINTS.columns]
C, F = "C 制造业", "F 批发和零售业"


def _unit(code, name, street, employees=20, insured="否", expires=None, hazard="否", industry=C):
    return [code, name, street, industry, employees, "否", "三级", insured, expires, hazard]


SNAPSHOTS = {
    date(2023, 12, 31): [
        _unit("91330103MA27XC004R", "甲厂", "武林街道", 25),
        _unit("91330103MA27XC005W", "子公司", "武林街道"),
    ],
    date(2024, 1, 31): [
        _unit("914403001922038216", "华为技术有限公司", "武林街道", 90, "是", date(2024, 12, 31)),
        _unit("91330103MA27XC003M", "癸公司", "天水"),
        _unit("91330103MA27XC004R", "甲公司", "武林街道", 30, "是", date(2024, 6, 30)),
        _unit(None, "乙公司", "武林街道"),
    ],
    date(2024, 2, 29): [
        _unit("914403001922038216", "华为技术有限公司", "武林街道", 100, "是", date(2024, 12, 31)),
        _unit(" 9144030071526726xg", "腾讯科技（深圳）有限公司", "不详", 50, "是", date(2024, 2, 28)),
        _unit("91330100799655058C", "丙公司", "下城区 朝晖街道", 30, "是", "2024/2/29", hazard="是"),
        _unit(None, "己公司", "潮鸣街道办事处", 5, industry=F),
        _unit("9133010379965505", "丁公司", "长庆"),
        _unit("O1330100799655058B", "戊公司", "石桥街道"),
        _unit("91330103MA27XC001G", "庚公司", "东新"),
        _unit("91330103MA27XC001G", "辛公司", "文晖街道"),
        _unit("91330103MA27XC002K", "壬公司", "武林", 10),
        _unit("91330103MA27XC002K", "壬公司", "武林", 12),
        _unit("91330103MA27XC003N", "癸公司", "天水", None, "是", None),
    ],
}


def _point(pid, street, lik, sev, value, level, assessed=date(2024, 5, 20)):
    return [pid, f"{pid} 风险点", street, "工业企业", lik, sev, value, level, "区应急管理局", assessed]


QUARTERS = {
    "2024Q1": [_point("FX-001", "武林街道", 1, 1, 1, "蓝", date(2024, 2, 1)),
               _point("FX-008", "武林街道", 1, 1, 1, "蓝", date(2024, 2, 1))],
    "2024Q2": [
        _point("FX-001", "下城区武林街道", 4, 5, 20, "红"),
        _point("FX-002", "不详", 3, 4, 12, "橙"),
        _point("FX-003", "天水", 3, 5, 16, "橙"),
        _point("FX-004", "武林", 6, 2, 12, "黄"),
        _point("FX-005", "武林", 2, 2, 4, "蓝色"),
        _point("FX-006", "天水街道", None, 3, 9, "黄"),
        _point("FX-007", "武林", 1, 1, 1, "蓝"),
        _point("FX-007", "武林", 5, 5, 25, "红"),
    ],
}


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("hand")
    landing = home / "landing"
    for day, rows in SNAPSHOTS.items():
        title = f"下城区生产经营单位基础信息表（截至{day.year}年{day.month}月{day.day}日）"
        workbook(landing / "emb" / "enterprises" / f"enterprises_{day:%Y%m%d}.xlsx", ENT_HEADER, rows, title)
    for quarter, rows in QUARTERS.items():
        workbook(landing / "safety_office" / "risk_points" / f"risk_points_{quarter}.xlsx", RISK_HEADER, rows)
    build(home)
    return home


# --------------------------------------------------------------------------- the check character

def test_python_check_on_real_codes():
    for code in REAL:
        assert uscc.is_valid(code) and uscc.check_char(code[:17]) == code[17]
    assert uscc.complete("91330103MA27XC001") == "91330103MA27XC001G"
    assert uscc.check_char("91330103MA27XC006") == "0"  # 31 - sum % 31 == 31 -> 0
    assert uscc.issue("91330100799655058C") == "check character C, expected B"
    assert uscc.issue("O1330100799655058B") == "character outside 0-9 A-H J-N P-R T-U W-Y"
    assert uscc.issue("9133010379965505") == "length 16, not 18"
    assert uscc.issue("") == "empty" and uscc.issue(None) == "empty"
    assert not uscc.is_valid("9144030071526726xg")  # strict: callers normalise first
    with pytest.raises(ValueError):
        uscc.check_char("9133010379965505I")


def _codes() -> list[str | None]:
    """Valid codes and every way of breaking them, the same list for SQL and Python."""
    rng = random.Random(32100)
    valid = list(REAL) + [uscc.complete("".join(rng.choice(uscc.CHARSET) for _ in range(17)))
                          for _ in range(60)]
    broken = [None, "", " ", "91330103MA27XC0060 "]
    for code in valid:
        broken += [code[:17] + rng.choice([c for c in uscc.CHARSET if c != code[17]]),  # check char
                   code.lower(), code[:16], code + "1",
                   code[:5] + rng.choice("IOSVZ") + code[6:]]  # letters not in the set
    return valid + broken


def test_sql_macros_agree_with_python(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    (tmp_path / "build").mkdir()  # the profile's database lives there; nothing is read from it
    codes = _codes()
    values = ", ".join("(" + str(i) + ", " + ("null" if c is None else "'" + c + "'") + ")" for i, c in enumerate(codes))
    sql = ("select n, {{ uscc_is_valid('code') }} as ok, '#' || {{ uscc_issue('code') }} as issue, "
           "'#' || {{ uscc_check_char('code') }} as check_char "
           f"from (values {values}) as t(n, code) order by n")
    res = dbt(tmp_path, "show", "--inline", sql, "--limit", "-1", "--quiet")
    assert res.success
    rows = [tuple(r) for r in res.result.results[0].agate_table.rows]
    assert len(rows) == len(codes)
    for (_, ok, issue, check), code in zip(rows, codes):
        assert ok is uscc.is_valid(code), code
        assert (issue[1:] if issue else None) == uscc.issue(code), code
        if code and len(code) >= 17 and all(c in uscc.CHARSET for c in code[:17]):
            assert check[1:] == uscc.check_char(code[:17]), code
    # The 3 real codes, the 60 computed ones, and 华为's lower-cased (all digits: unchanged).
    assert sum(r[1] for r in rows) == 64


# --------------------------------------------------------------------------- hand-made build

def test_dim_enterprises_keys_flags_and_closures(hand):
    rows = q(hand, """select enterprise_key, uscc, uscc_delivered, uscc_valid, uscc_issue, unit_name,
                             street_code, employees, insurance_current, major_hazard_unit, is_active,
                             snapshot_date, first_seen_on, missing_since, delivered_rows, source_file,
                             source_row_number
                      from marts.dim_enterprises""")
    units = {r[5]: r for r in rows}
    assert len(rows) == 13 and len(units) == 13
    assert sum(r[10] for r in rows) == 10
    assert sum(not r[3] for r in rows) == 5
    assert sum(r[8] for r in rows) == 4
    feb, jan, dec = date(2024, 2, 29), date(2024, 1, 31), date(2023, 12, 31)
    expected = {  # name: key, valid, issue, street, current, active, snapshot, first seen, missing since
        "华为技术有限公司": ("914403001922038216", True, None, "WL", True, True, feb, jan, None),
        "腾讯科技（深圳）有限公司": ("9144030071526726XG", True, None, "UNKNOWN", False, True, feb, feb, None),
        "丙公司": (surrogate("91330100799655058C", "丙公司"), False, "check character C, expected B", "CH",
                True, True, feb, feb, None),
        "己公司": (surrogate(None, "己公司"), False, "empty", "CM", False, True, feb, feb, None),
        "丁公司": (surrogate("9133010379965505", "丁公司"), False, "length 16, not 18", "CQ", False, True, feb,
                feb, None),
        "戊公司": (surrogate("O1330100799655058B", "戊公司"), False, "character outside 0-9 A-H J-N P-R T-U W-Y",
                "SQ", False, True, feb, feb, None),
        "庚公司": (surrogate("91330103MA27XC001G", "庚公司"), True,
                "code used by 2 units of different names in the snapshot", "DX", False, True, feb, feb, None),
        "辛公司": (surrogate("91330103MA27XC001G", "辛公司"), True,
                "code used by 2 units of different names in the snapshot", "WH", False, True, feb, feb, None),
        "壬公司": ("91330103MA27XC002K", True, None, "WL", False, True, feb, feb, None),
        "癸公司": ("91330103MA27XC003N", True, None, "TS", True, True, feb, feb, None),
        "甲公司": ("91330103MA27XC004R", True, None, "WL", True, False, jan, dec, feb),
        "乙公司": (surrogate(None, "乙公司"), False, "empty", "WL", False, False, jan, jan, feb),
        "子公司": ("91330103MA27XC005W", True, None, "WL", False, False, dec, dec, jan),
    }
    for name, want in expected.items():
        r = units[name]
        assert (r[0], r[3], r[4], r[6], r[8], r[10], r[11], r[12], r[13]) == want, name
    assert units["腾讯科技（深圳）有限公司"][1:3] == ("9144030071526726XG", "9144030071526726xg")
    assert units["壬公司"][7] == 12 and units["壬公司"][14] == 2 and units["壬公司"][16] == 12
    assert units["丙公司"][9] is True
    assert units["甲公司"][15:] == ("enterprises_20240131.xlsx", 5)
    # The SQL check and the Python twin agree on every delivered code.
    for r in rows:
        if r[4] is None or not r[4].startswith("code used by"):
            assert r[4] == uscc.issue(r[1]), r[1]
        assert r[3] is uscc.is_valid(r[1])


def test_the_street_of_a_unit_by_its_code(hand):
    """One street per credit code (int_unit_streets_resolved), the rule every table placing a unit's
    rows in a street uses: the registry's units with that code, the active one first, then a valid
    code, then the latest snapshot, then the later line. Units without a code are not reachable."""
    rows = {r[0]: r[1:] for r in q(hand, "select uscc, street_code, units from intermediate.int_unit_streets_resolved")}
    assert rows == {
        "914403001922038216": ("WL", 1),
        "9144030071526726XG": ("UNKNOWN", 1),  # 不详: no street, kept
        "91330100799655058C": ("CH", 1),  # an invalid code still finds its unit
        "9133010379965505": ("CQ", 1),
        "O1330100799655058B": ("SQ", 1),
        # 庚公司 (东新) and 辛公司 (文晖街道) share the code in the same snapshot: the later line
        "91330103MA27XC001G": ("WH", 2),
        "91330103MA27XC002K": ("WL", 1),
        "91330103MA27XC003N": ("TS", 1),  # 91330103MA27XC003M (the wrong code before) is no unit
        "91330103MA27XC004R": ("WL", 1),  # closed, 甲公司 of 2024-01-31
        "91330103MA27XC005W": ("WL", 1),  # closed
    }


def test_street_values_delivered_and_how_they_map(hand):
    """marts.agg_street_values: every value of each feed with its street and rows (all snapshots)."""
    rows = {(r[0], r[1], r[2]): r[3:] for r in q(hand, """
        select source, feed, street_raw, street_code, match_method, rows, first_seen_on = last_seen_on
        from marts.agg_street_values""")}
    assert rows == {
        ("emb", "enterprises", "武林街道"): ("WL", "exact", 6, True),
        ("emb", "enterprises", "武林"): ("WL", "exact", 2, True),
        ("emb", "enterprises", "天水"): ("TS", "exact", 2, True),
        ("emb", "enterprises", "下城区 朝晖街道"): ("CH", "exact", 1, True),
        ("emb", "enterprises", "潮鸣街道办事处"): ("CM", "exact", 1, True),
        ("emb", "enterprises", "长庆"): ("CQ", "exact", 1, True),
        ("emb", "enterprises", "石桥街道"): ("SQ", "exact", 1, True),
        ("emb", "enterprises", "东新"): ("DX", "exact", 1, True),
        ("emb", "enterprises", "文晖街道"): ("WH", "exact", 1, True),
        ("emb", "enterprises", "不详"): ("UNKNOWN", "unmapped", 1, True),
        ("safety_office", "risk_points", "武林街道"): ("WL", "exact", 2, True),
        ("safety_office", "risk_points", "下城区武林街道"): ("WL", "exact", 1, True),
        ("safety_office", "risk_points", "武林"): ("WL", "exact", 4, True),
        ("safety_office", "risk_points", "天水"): ("TS", "exact", 1, True),
        ("safety_office", "risk_points", "天水街道"): ("TS", "exact", 1, True),
        ("safety_office", "risk_points", "不详"): ("UNKNOWN", "unmapped", 1, True),
    }
    assert sum(r[2] for r in rows.values()) == 17 + 10  # every loaded row, once


def test_fct_risk_points_flags_and_latest_snapshot(hand):
    rows = {r[0]: r[1:] for r in q(hand, """
        select risk_point_id, street_code, risk_value_computed, risk_level_computed, risk_level_effective,
               value_consistent, level_consistent, flagged, flag_reason, snapshot_quarter, source_file,
               delivered_rows
        from marts.fct_risk_points""")}
    assert sorted(rows) == [f"FX-00{n}" for n in range(1, 8)]  # FX-008 retired: not in 2024Q2
    assert sum(r[6] for r in rows.values()) == 5
    assert sum(not r[4] for r in rows.values()) == 2 and sum(not r[5] for r in rows.values()) == 2
    assert {r[8:10] for r in rows.values()} == {("2024Q2", "risk_points_2024Q2.xlsx")}
    assert rows["FX-001"][:8] == ("WL", 20, "红", "红", True, True, False, None)
    assert rows["FX-002"][:8] == ("UNKNOWN", 12, "黄", "黄", True, False, True, "风险等级 橙, L×S 12 gives 黄")
    assert rows["FX-003"][:8] == ("TS", 15, "橙", "橙", False, True, True, "风险值 16 != L×S 15")
    assert rows["FX-004"][:8] == ("WL", 12, "黄", "黄", True, True, True, "可能性L 6 outside 1-5")
    assert rows["FX-005"][:8] == ("WL", 4, "蓝", "蓝", True, True, False, None)
    assert rows["FX-006"][:8] == ("TS", None, None, "黄", False, False, True,
                                  "可能性L missing; 风险等级 黄 cannot be checked")
    assert rows["FX-007"][:8] == ("WL", 25, "红", "红", True, True, True, "listed 2 times in the snapshot")
    assert rows["FX-007"][10] == 2
    agg = {(s, lv): (n, f) for s, lv, n, f in q(hand, """
        select street_code, risk_level, risk_points, flagged_points from marts.agg_risk_points_by_street""")}
    assert agg == {("WL", "红"): (2, 1), ("WL", "黄"): (1, 1), ("WL", "蓝"): (1, 0), ("TS", "橙"): (1, 1),
                   ("TS", "黄"): (1, 1), ("UNKNOWN", "黄"): (1, 1)}


def test_every_row_loaded_and_gate_blocks_a_broken_inventory(hand):
    recon = q(hand, """select feed, sum(rows_delivered)::int, sum(rows_loaded)::int, sum(rows_quarantined)::int
                       from audit.reconciliation group by 1 order by 1""")
    assert recon == [("enterprises", 17, 17, 0), ("risk_points", 10, 10, 0)]
    # 5 of 13 codes invalid (38% > 15%) and 5 of 7 points flagged (71% > 30%): a real delivery like
    # this is broken, and the gate says so on exactly those expectations.
    assert gate(hand) == {
        "raw.emb__enterprises": ["expect_column_values_to_not_be_null(uscc)"],  # 2 of 17 empty
        "raw.safety_office__risk_points": ["expect_column_values_to_be_between(likelihood)",  # 6: 1 of 9
                                           "expect_column_values_to_be_in_set(risk_level)"],  # 蓝色: 1 of 10
        "marts.dim_enterprises": ["expect_column_values_to_be_in_set(uscc_valid)"],
        "marts.fct_risk_points": ["expect_column_values_to_be_in_set(flagged)"],
    }


# --------------------------------------------------------------------------- demo deliveries

def test_demo_deliveries_build_and_pass_the_gate(tmp_path):
    short, home = tmp_path / "short", tmp_path / "demo"
    assert demo.generate(short, SEED, date(2020, 6, 30)) == {"emb/enterprises": 18, "safety_office/risk_points": 5}
    assert demo.generate(home, SEED, date(2020, 12, 31)) == {"emb/enterprises": 24, "safety_office/risk_points": 7}
    for path in (short / "landing").rglob("*.xlsx"):  # a later end date only adds files
        assert path.read_bytes() == (home / path.relative_to(short)).read_bytes(), path.name
    build(home)

    assert q(home, "select sum(rows_quarantined) from audit.reconciliation") == [(0,)]
    dim = q(home, "select uscc, uscc_valid, uscc_issue, is_active from marts.dim_enterprises")
    for code, valid, issue, _ in dim:  # SQL and Python agree on every demo code
        assert valid is uscc.is_valid(code) and issue == uscc.issue(code), code
    active = {r[0] for r in dim if r[3]}
    assert 350 <= len(active) <= 600
    assert {u.uscc for u in _units(_rng(SEED, "units"), 240)} <= active  # the other feeds' units
    assert sum(not r[3] for r in dim) > 10  # units closed
    snapshots = {}
    for name, code in q(home, "select _source_file, upper(replace(uscc, ' ', '')) from raw.emb__enterprises"):
        snapshots.setdefault(name, []).append(code)
    assert len(snapshots) == 24
    for name, codes in snapshots.items():  # ~3% invalid or empty codes in every snapshot
        assert 0.01 <= sum(not uscc.is_valid(c) for c in codes) / len(codes) <= 0.06, name
    assert sum(c is None for codes in snapshots.values() for c in codes) > 0
    assert q(home, "select count(*) filter (where not insurance_current and insured) > 0 from marts.dim_enterprises"
             ) == [(True,)]

    raw = q(home, "select likelihood, severity, risk_value, risk_level from raw.safety_office__risk_points")
    bad = sum(not (1 <= lik <= 5 and 1 <= sev <= 5 and v == lik * sev and lv == demo.level(lik * sev))
              for lik, sev, v, lv in raw)
    assert 0.02 <= bad / len(raw) <= 0.09
    n, flagged, quarter = q(home, """select count(*), count(*) filter (where flagged), max(snapshot_quarter)
                                     from marts.fct_risk_points""")[0]
    assert 130 <= n <= 170 and flagged < n * 0.15 and quarter == "2020Q3"
    assert gate(home) == {table: [] for table in MINE}
