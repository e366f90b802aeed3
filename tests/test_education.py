"""Demonstration creation (safety_office/demonstration) and safety education (emb/trainings)
through the real components: hand-made deliveries are ingested, the build copy prepared, `dbt
build` run for the five marts and their parents, and their Great Expectations suites validated.
The numbers asserted are counted by hand from the deliveries below (as_of_date 2020-12-31).

Demonstration (criteria A1-1 40 points, B3-1 30, B3-2 30; two quarterly sheets, 2019Q4 and 2020Q1):

  unit       name (所属街道)             2019Q4                         2020Q1
  CJ-WL-001  武林街道 (武林街道)          区级评估 38/28/25: 91 %, B3 min   市级命名, 评估得分 empty
                                          83 % -> passed                  (flagged, no verdict)
  CJ-TS-002  天水街道武林门社区 (天水)    区级评估 40/30/15: 85 % but        创建中 (failed assessment,
             also listed as 武林门社区     B3-2 50 % -> failed; weak B3-2   real): self 45 (>40) / -2 / 20
  CJ-CH-003  朝晖九区社区 (朝晖)          自评, self 30/20/20               申报: a step back (flagged),
                                                                          counted as 自评
  CJ-WL-004  武林门社区? no: 竹竿巷社区    复评 (named), assessed 40/30/30   创建中: failed 复评
             (下城区武林街道)

Trainings (files trainings_YYYYMM.csv; E1 in 武林, E2 in 天水, E3 in 不详 in the registry):
  T5 2019-11-20 E2 principal passed 1          (counts for 2019-12-31, not for 2020-12-31)
  T1 2020-03-05 E1 principal passed 1 of 1     T2 2020-04-10 E1 manager passed 3 of 2 (capped, flagged)
  T3 2020-05-01 E2 principal passed 0          T4 2020-06-01 E2 manager passed 1
  R1/R2 2020-06-16 安全生产月宣传 in 武林 from two organisers: one activity, 约200人 -> 200
  R3 2020-07-01 天水 120    R6 2020-08-08 城东 (UNKNOWN) 50    R5 2020-10-10 district-wide 300
  R4 2020-09-01 online course, 25,000 views (apart)
  R7 dated 2098-05-14 and R8 with 参加人次 若干: quarantined.
  -> 2020: E1 covered; E2 manager only; E3 none: coverage 1/3. Attendances WL 1+2+200 = 203,
     TS 1+1+120 = 122, UNKNOWN 50, district 203+122+50+300 = 675. Residents 2020: 50 (10k) in
     the district, 武林 12 % = 6 (10k): 203 / 60,000 x 1,000 = 3.38; district 675 / 500,000 x
     1,000 = 1.35.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import duckdb
import openpyxl
import pytest

from citysafety import config
from citysafety import sources as S
from citysafety.mart.build import prepare_build
from citysafety.raw import ingest
from demo.generate import _uscc

DBT_DIR = str(config.DBT_PROJECT_DIR)
MARTS = ("fct_demonstration_units", "agg_demonstration_by_street", "fct_training_activities",
         "fct_enterprise_training_status", "agg_education_by_street")
AS_OF = "2020-12-31"
FEEDS = (S.SAFETY_OFFICE_DEMONSTRATION, S.EMB_TRAININGS, S.EMB_ENTERPRISES, S.STATS_ECONOMY)

_codes = random.Random("test_education")
E1, E2, E3 = (_uscc(_codes) for _ in range(3))

CRITERIA = (("A1-1", "安全管理机构健全", 40), ("B3-1", "隐患排查治理制度", 30), ("B3-2", "重大隐患挂牌督办", 30))


def _unit(uid, name, tier, street, kind, target, stage, day, self_scores, assessed):
    return [[uid, name, tier, street, kind, target, stage, day, cid, cname, full, s, a]
            for (cid, cname, full), s, a in zip(CRITERIA, self_scores, assessed)]


SHEETS = {
    "demonstration_2019Q4.xlsx": [
        *_unit("CJ-WL-001", "武林街道", "街道", "武林街道", "安全发展示范街道", 2020, "区级评估", "2019-11-02",
               (39, 29, 27), (38, 28, 25)),
        *_unit("CJ-TS-002", "天水街道武林门社区", "社区", "天水街道", "安全社区", 2020, "区级评估", "2019-10-20",
               (40, 30, 25), (40, 30, 15)),
        *_unit("CJ-TS-002", "武林门社区", "社区", "天水", "安全社区", 2020, "区级评估", "2019-10-20",
               (40, 30, 25), (40, 30, 15)),
        *_unit("CJ-CH-003", "朝晖九区社区", "社区", "朝晖街道", "综合减灾示范社区", 2021, "自评", "2019-12-01",
               (30, 20, 20), (None, None, None)),
        *_unit("CJ-WL-004", "竹竿巷社区", "社区", "下城区武林街道", "安全社区", 2018, "复评", "2019-12-10",
               (40, 30, 30), (40, 30, 30)),
    ],
    "demonstration_2020Q1.xlsx": [
        *_unit("CJ-WL-001", "武林街道", "街道", "武林街道", "安全发展示范街道", 2020, "市级命名", "2020-02-15",
               (39, 29, 27), (None, None, None)),
        *_unit("CJ-TS-002", "天水街道武林门社区", "社区", "天水街道", "安全社区", 2020, "创建中", "2020-01-10",
               (45, -2, 20), (None, None, None)),
        *_unit("CJ-CH-003", "朝晖九区社区", "社区", "朝晖街道", "综合减灾示范社区", 2021, "申报", "2020-03-01",
               (30, 20, 20), (None, None, None)),
        *_unit("CJ-WL-004", "竹竿巷社区", "社区", "下城区武林街道", "安全社区", 2018, "创建中", "2020-03-05",
               (35, 25, 20), (None, None, None)),
    ],
}

TRAININGS = {
    "trainings_201911.csv": [
        f"T5,2019-11-20,安全培训,主要负责人安全培训,杭州市安全培训中心,天水街道,企业主要负责人,{E2},1,1,32"],
    "trainings_202003.csv": [
        f"T1,2020-03-05,安全培训,主要负责人安全培训,杭州市安全培训中心,武林街道,企业主要负责人,{E1},1,1,32"],
    "trainings_202004.csv": [
        f"T2,2020-04-10,安全培训,安全管理人员培训,杭州市安全培训中心,武林,安全管理人员,{E1},2,3,32"],
    "trainings_202005.csv": [
        f"T3,2020-05-01,安全培训,主要负责人安全培训,杭州市安全培训中心,天水街道,企业主要负责人,{E2},1,0,32",
        "R7,2098-05-14,宣传活动,防灾减灾日宣传,天水街道办事处,天水街道,居民,,80,,2",
        "R8,2020-05-20,宣传活动,防灾减灾日宣传,天水街道办事处,天水街道,居民,,若干,,2",
    ],
    "trainings_202006.csv": [
        f"T4,2020-06-01,安全培训,安全管理人员培训,杭州市安全培训中心,天水街道,安全管理人员,{E2},1,1,32",
        "R1,2020-06-16,宣传活动,安全生产月宣传,武林街道办事处,武林街道,居民,,约200人,,3",
        "R2,2020-06-16,宣传活动,安全生产月宣传,区应急管理局宣教科,武林,居民,,180,,3",
    ],
    "trainings_202007.csv": ["R3,2020-07-01,应急演练进社区,消防疏散演练,天水街道办事处,天水街道,居民,,120,,2"],
    "trainings_202008.csv": ["R6,2020-08-08,宣传活动,燃气安全宣传,区应急管理局宣教科,城东,居民,,50,,1"],
    "trainings_202009.csv": ["R4,2020-09-01,线上课程,安全生产法网上学习,区应急管理局宣教科,,居民,,25000,,1"],
    "trainings_202010.csv": ["R5,2020-10-10,宣传活动,消防宣传月,区应急管理局宣教科,,居民,,300,,2"],
}


def _xlsx(header: list[str], rows: list[list], sheet: str | None = None, title: str | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    if sheet:
        ws.title = sheet
    if title:
        ws.append([title])
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def write_deliveries(landing: Path) -> None:
    def put(feed: S.Feed, name: str, data: bytes) -> None:
        folder = landing / feed.source / feed.feed
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)

    header = [c.delivered for c in S.SAFETY_OFFICE_DEMONSTRATION.columns]
    for name, rows in SHEETS.items():
        put(S.SAFETY_OFFICE_DEMONSTRATION, name, _xlsx(header, rows, sheet="创建进展"))
    header = ",".join(c.delivered for c in S.EMB_TRAININGS.columns)
    for name, lines in TRAININGS.items():
        put(S.EMB_TRAININGS, name, ("\r\n".join([header, *lines]) + "\r\n").encode("utf-8"))
    header = [c.delivered for c in S.EMB_ENTERPRISES.columns]

    def unit(code, name, street):
        return [code, name, street, "C 制造业", 20, "否", "三级", "是", "2021-06-30", "否"]

    put(S.EMB_ENTERPRISES, "enterprises_20191231.xlsx", _xlsx(header, [
        unit(E1, "杭州恒达机械制造有限公司", "武林街道"), unit(E2, "杭州瑞丰印刷有限公司", "天水街道")],
        title="下城区生产经营单位基础信息表"))
    put(S.EMB_ENTERPRISES, "enterprises_20201231.xlsx", _xlsx(header, [
        unit(E1, "杭州恒达机械制造有限公司", "武林街道"), unit(E2, "杭州瑞丰印刷有限公司", "天水街道"),
        unit(E3, "杭州嘉禾服饰有限公司", "不详")], title="下城区生产经营单位基础信息表"))
    header = [c.delivered for c in S.STATS_ECONOMY.columns]
    put(S.STATS_ECONOMY, "economy_20210310.xlsx", _xlsx(header, [
        [2019, 900.0, 49.0, 20.0, "最终核实"], [2020, 950.0, 50.0, 21.0, "初步核算"]], sheet="地区生产总值"))


def dbt_build(tmp: Path):
    from dbt.cli.main import dbtRunner

    return dbtRunner().invoke([
        "build", "--project-dir", DBT_DIR, "--profiles-dir", DBT_DIR,
        "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"),
        "--select", *(f"+{m}" for m in MARTS),
        "--indirect-selection", "cautious",
        "--vars", f"{{as_of_date: '{AS_OF}'}}",
    ])


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("education")
    mp = pytest.MonkeyPatch()
    mp.setenv("CITYSAFETY_HOME", str(root))
    write_deliveries(root / "landing")
    cfg = config.settings()
    results = {feed.id: ingest.ingest_feed(feed, cfg) for feed in FEEDS}
    prepare_build(cfg)
    res = dbt_build(root)
    failed = [(r.node.name, r.status, r.message) for r in (res.result or []) if r.status in ("error", "fail")]
    assert res.success, failed or res.exception
    root.joinpath("ingested.txt").write_text(repr({k: [(r.file_name, r.rows_delivered, r.rows_loaded,
                                                       r.rows_quarantined) for r in v]
                                                   for k, v in results.items()}))
    yield root
    mp.undo()


def q(home: Path, sql: str):
    con = duckdb.connect(str(home / "build" / "citysafety.duckdb"))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_delivered_row_is_loaded_or_quarantined_with_its_reason(home):
    rows = q(home, """select file_name, rows_delivered, rows_loaded, rows_quarantined from audit.reconciliation
                      where source || '/' || feed in ('safety_office/demonstration', 'emb/trainings')""")
    assert len(rows) == len(SHEETS) + len(TRAININGS)
    assert all(d == loaded + quarantined for _, d, loaded, quarantined in rows)
    assert sum(r[1] for r in rows) == sum(map(len, SHEETS.values())) + sum(map(len, TRAININGS.values()))
    reasons = dict(q(home, """select json_extract_string(raw_record, '$.活动编号'), reason from audit.quarantine
                              where feed = 'trainings'"""))
    assert set(reasons) == {"R7", "R8"}
    assert "活动日期" in reasons["R7"] and "2098-05-14" in reasons["R7"]
    assert "参加人次" in reasons["R8"] and "若干" in reasons["R8"]


def test_demonstration_units_per_quarter(home):
    rows = {r[0]: r[1:] for r in q(home, """
        select unit_quarter_id, unit_name, street_code, stage, stage_delivered, assessed_share,
               b3_min_assessed_share, passed, is_failed_assessment, is_failed_reassessment,
               is_stage_regression_flagged, is_assessment_missing_flagged, weak_criteria, is_named,
               scores_out_of_range, name_spellings, self_share
        from marts.fct_demonstration_units""")}
    assert len(rows) == 8  # four units, two quarters; the unit listed twice counts once
    wl1 = rows["2019Q4:CJ-WL-001"]
    assert wl1[2] == "区级评估" and wl1[4] == 0.91 and wl1[5] == pytest.approx(0.8333) and wl1[6] is True
    ts = rows["2019Q4:CJ-TS-002"]
    # the longest spelling names it; 所属街道, not the 武林 in its name, places it
    assert ts[0] == "天水街道武林门社区" and ts[1] == "TS" and ts[14] == 2
    assert ts[4] == 0.85 and ts[5] == 0.5 and ts[6] is False  # 85 % overall, but B3-2 at 50 %
    assert ts[11] == "B3-2 重大隐患挂牌督办（50%）"
    ts2 = rows["2020Q1:CJ-TS-002"]
    assert ts2[2] == "创建中" and ts2[7] is True and ts2[8] is False and ts2[9] is False
    assert ts2[13] == 2 and ts2[15] == pytest.approx(0.6)  # 45 -> 40, -2 -> 0: (40 + 0 + 20) / 100
    ch = rows["2020Q1:CJ-CH-003"]
    assert ch[2] == "自评" and ch[3] == "申报" and ch[9] is True  # a step back: flagged, previous stage kept
    wl1b = rows["2020Q1:CJ-WL-001"]
    assert wl1b[12] is True and wl1b[4] is None and wl1b[6] is None and wl1b[10] is True  # named, scores missing
    wl4 = rows["2020Q1:CJ-WL-004"]
    assert wl4[1] == "WL" and wl4[7] is True and wl4[8] is True and wl4[12] is False  # failed 复评


def test_demonstration_by_street_and_year(home):
    got = {(r[0], r[1]): r[2:] for r in q(home, """
        select street_code, year, units_listed, units_planned, units_planned_named, units_in_progress,
               units_named, units_named_in_year, units_failed_assessment, units_failed_reassessment
        from marts.agg_demonstration_by_street where units_listed > 0""")}
    assert got == {
        ("WL", 2019): (2, 0, 0, 1, 1, 0, 0, 0),
        ("TS", 2019): (1, 0, 0, 1, 0, 0, 0, 0),
        ("CH", 2019): (1, 0, 0, 1, 0, 0, 0, 0),
        ("WL", 2020): (2, 1, 1, 1, 1, 1, 0, 1),
        ("TS", 2020): (1, 1, 0, 1, 0, 0, 1, 0),
        ("CH", 2020): (1, 0, 0, 1, 0, 0, 0, 0),
    }
    assert q(home, "select count(*) from marts.agg_demonstration_by_street")[0][0] == 9 * 2  # zero rows kept


def test_training_activities_counted_once(home):
    rows = {r[0]: r[1:] for r in q(home, """
        select activity_id, reported_ids, street_code, attendances, attendances_approximate, people_reached,
               passed, passed_exceeds_attendances, is_online
        from marts.fct_training_activities""")}
    assert set(rows) == {"T5", "T1", "T2", "T3", "T4", "R1", "R3", "R4", "R5", "R6"}
    assert rows["R1"][:5] == ("R1、R2", "WL", 200, True, 200)
    assert rows["T2"][5:7] == (2, True)
    assert rows["R4"][1:] == ("ALL", 25000, False, 0, None, False, True)  # views, never people reached
    assert rows["R5"][1] == "ALL" and rows["R6"][1] == "UNKNOWN"


def test_enterprise_training_status(home):
    rows = {r[0]: r[1:] for r in q(home, """
        select uscc, street_code, is_principal_assessed, is_manager_assessed, is_covered, roles_missing, as_of_date
        from marts.fct_enterprise_training_status""")}
    assert {k: v[:5] for k, v in rows.items()} == {
        E1: ("WL", True, True, True, None),
        E2: ("TS", False, True, False, "主要负责人"),  # T3 failed; T5 is older than 12 months
        E3: ("UNKNOWN", False, False, False, "主要负责人、安全管理人员"),
    }
    assert {str(v[5]) for v in rows.values()} == {AS_OF}


def test_education_by_street_and_year(home):
    got = {(r[0], r[1]): r[2:] for r in q(home, """
        select street_code, year, offline_activities, attendances, attendances_per_1000_residents, online_views,
               active_enterprises, enterprises_covered, enterprise_training_coverage
        from marts.agg_education_by_street where street_code in ('ALL', 'WL', 'TS', 'UNKNOWN')""")}
    assert got[("WL", 2020)] == (3, 203, 3.38, 0, 1, 1, 1.0)
    assert got[("TS", 2020)] == (3, 122, pytest.approx(122 / 50), 0, 1, 0, 0.0)
    assert got[("UNKNOWN", 2020)][:2] == (1, 50) and got[("UNKNOWN", 2020)][2] is None  # no residents share
    assert got[("ALL", 2020)] == (8, 675, 1.35, 25000, 3, 1, pytest.approx(0.3333))
    assert got[("ALL", 2019)][4:] == (2, 0, 0.0)  # E2's principal only, as of 2019-12-31


def test_quality_suites_pass_on_the_build(home):
    import great_expectations as gx

    from citysafety.mart.quality import suites

    wanted = {"raw.safety_office__demonstration", "raw.emb__trainings", *(f"marts.{m}" for m in MARTS)}
    modules = [s for s in suites() if s.table in wanted]
    assert {s.table for s in modules} == wanted
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("build_copy")
    con = duckdb.connect(str(home / "build" / "citysafety.duckdb"))
    try:
        frames = {s.table: con.execute(s.query).df() for s in modules}
    finally:
        con.close()
    failed = {}
    for s in modules:
        batch = source.add_dataframe_asset(s.batch_name).add_batch_definition_whole_dataframe("all")
        res = batch.get_batch(batch_parameters={"dataframe": frames[s.table]}).validate(s.module.suite())
        if not res.success:
            failed[s.table] = [r.expectation_config.type for r in res.results if not r.success]
    assert not failed
