"""Versions of a file name (issue 12, item 3): a name delivered again with other bytes is the
name's next version, on the real components (ingest, prepare_build, `dbt build` of the whole
project, the Great Expectations gate, publish; then the 数据健康 page's query).

The spine delivery set (tests/deliveries.py), then:

  economy_20210915.xlsx  v1 2020 GDP 1250 初步核算; v2 1300 (same status, same file: the later
                         version wins); v3 the bytes of v1 again (delivered last: 1250 wins again)
  accidents_202005.csv   v1 A-2020-1 1 death; v2 2 deaths, same 报送日期 (a tie the version
                         breaks); v3 the bytes of v1 again -> 1 death
  road_accidents_20200301.jsonl  a line appended while the first ingest read it: the load records
                         the bytes hashed before the append with the rows read after it; the next
                         run sees other bytes and loads them as version 2 - no jam, each accident once

Before versions, the second load of a name failed `unique_stg_…_report_row_id` and nothing was
published again until someone moved a raw load aside by hand.
"""

from __future__ import annotations

import hashlib
import json

import duckdb
import openpyxl
import pytest

import deliveries
from citysafety import config
from citysafety import sources as S
from citysafety.mart import build
from citysafety.raw import ingest, store

pytestmark = pytest.mark.pipeline
SPINE = [S.EMB_ACCIDENTS, S.FIRE_FIRES, S.TRAFFIC_ROAD_ACCIDENTS, S.STATS_ECONOMY]


def ingest_all(cfg) -> list[store.FileResult]:
    return [r for feed in SPINE for r in ingest.ingest_feed(feed, cfg)]


def q(path, sql, params=None):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def kpi_2020(cfg) -> tuple:
    (row,) = q(cfg.warehouse_db, """select deaths_workplace, deaths_road, gdp_100m_yuan
                                    from marts.kpi_safety_targets where year = 2020""")
    return row


def economy_v2(cfg) -> bytes:
    """economy_20210915.xlsx as re-sent: 2020 GDP 1300 instead of 1250."""
    scratch = cfg.home / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    deliveries.write_spine(scratch)
    path = scratch / "stats" / "economy" / "economy_20210915.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book[S.STATS_ECONOMY.sheet]
    assert sheet.cell(2, 2).value == 1250
    sheet.cell(2, 2).value = 1300
    book.save(path)
    return path.read_bytes()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_name_resent_with_other_bytes_is_its_next_version_and_never_jams(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path / "home"))
    cfg = config.settings()
    deliveries.write_spine(cfg.landing)
    economy = cfg.landing / "stats" / "economy" / "economy_20210915.xlsx"
    accidents = cfg.landing / "emb" / "accidents" / "accidents_202005.csv"
    road = cfg.landing / "traffic" / "road_accidents" / "road_accidents_20200301.jsonl"
    first = {economy: economy.read_bytes(), accidents: accidents.read_bytes()}
    appended = json.dumps({
        "accident_no": "JJ-2020-2", "occurred_at": "2020-03-01T18:00:00+08:00", "street": "天水",
        "road": "某路", "deaths_7d": 0, "injuries": 1, "vehicles": 2,
        "reported_at": "2020-03-01T19:00:00+08:00"}, ensure_ascii=False) + "\n"

    # The first ingest hashes the traffic files, then a line is appended before they are read.
    real_hashes = ingest.file_hashes

    def hashes_then_append(feed, cfg_, files, workers):
        shas = real_hashes(feed, cfg_, files, workers)
        if feed is S.TRAFFIC_ROAD_ACCIDENTS and not road.read_text(encoding="utf-8").count("JJ-2020-2"):
            with road.open("a", encoding="utf-8") as f:
                f.write(appended)
        return shas

    monkeypatch.setattr(ingest, "file_hashes", hashes_then_append)
    ingest_all(cfg)
    monkeypatch.setattr(ingest, "file_hashes", real_hashes)

    # version 2 of two names; the appended file is seen with its new bytes
    second_economy = economy_v2(cfg)
    economy.write_bytes(second_economy)
    second_accidents = first[accidents].decode("gb18030").replace(
        "机械伤害,1,0,0,3", "机械伤害,2,0,0,3").encode("gb18030")
    assert second_accidents != first[accidents]
    accidents.write_bytes(second_accidents)
    resent = {(r.file_name, r.status) for r in ingest_all(cfg)}
    assert resent == {("economy_20210915.xlsx", "loaded"), ("accidents_202005.csv", "loaded"),
                      ("road_accidents_20200301.jsonl", "loaded")}
    assert ingest_all(cfg) == []  # a rerun changes nothing
    build.build_and_publish(cfg)  # used to fail: unique_stg_stats__economy_report_row_id
    assert kpi_2020(cfg) == (2, 2, 1300.0)  # the later version of each name wins

    # version 3: the first bytes again; delivered last, they win again
    for path, data in first.items():
        path.write_bytes(data)
    assert {(r.file_name, r.status) for r in ingest_all(cfg)} == {
        ("economy_20210915.xlsx", "loaded"), ("accidents_202005.csv", "loaded")}
    # as the build DAG started by these two deliveries would: only what is downstream of them
    build.build_and_publish(cfg, changed_feeds=[S.STATS_ECONOMY.id, S.EMB_ACCIDENTS.id])
    assert kpi_2020(cfg) == (1, 2, 1250.0)

    # the raw layer keeps every version, each in a folder of its own
    folders = sorted(p.name for p in store.loads(S.STATS_ECONOMY, cfg) if p.name.startswith("economy_20210915"))
    v1, v2 = sha(first[economy]), sha(second_economy)
    assert folders == sorted([f"economy_20210915.xlsx-{v1[:12]}", f"economy_20210915.xlsx-{v2[:12]}.v2",
                              f"economy_20210915.xlsx-{v1[:12]}.v3"])

    # the published deliveries audit: one row per version, each naming the one it supersedes
    recon = q(cfg.warehouse_db, """
        select file_name, file_version, file_sha256, supersedes, status, rows_delivered, rows_loaded,
               rows_quarantined
        from audit.reconciliation
        where file_name in ('economy_20210915.xlsx', 'accidents_202005.csv', 'road_accidents_20200301.jsonl')
        order by file_name, file_version""")
    by_name: dict[str, list] = {}
    for name, version, digest, supersedes, status, delivered, loaded, quarantined in recon:
        by_name.setdefault(name, []).append((version, digest, supersedes, status, delivered, loaded, quarantined))
    acc = by_name["accidents_202005.csv"]
    assert [(v, d, s) for v, d, s, *_ in acc] == [
        (1, sha(first[accidents]), None),
        (2, sha(second_accidents), sha(first[accidents])),
        (3, sha(first[accidents]), sha(second_accidents))]
    assert [r[3:] for r in acc] == [("loaded", 1, 1, 0)] * 3
    eco = by_name["economy_20210915.xlsx"]
    assert [(v, d, s) for v, d, s, *_ in eco] == [(1, v1, None), (2, v2, v1), (3, v1, v2)]
    (r1, r2) = by_name["road_accidents_20200301.jsonl"]
    # version 1 read both lines under the hash of one; version 2 has the bytes it read
    assert r1[0:1] + r1[3:] == (1, "loaded", 2, 2, 0)
    assert r2[0:1] + r2[3:] == (2, "loaded", 2, 2, 0) and r2[2] == r1[1] and r2[1] == sha(road.read_bytes())

    # nothing lost, nothing doubled: every delivered row is loaded or quarantined, the raw tables
    # hold every loaded row of every version, each event is counted once
    totals = q(cfg.warehouse_db, """select count(*), count(*) filter (where rows_delivered = rows_loaded + rows_quarantined),
                                           sum(rows_loaded), sum(rows_quarantined) from audit.reconciliation""")[0]
    assert totals[0] == totals[1] == deliveries.EXPECTED_FILES + 5
    raw_rows = sum(q(cfg.build_db, f"select count(*) from {feed.raw_table}")[0][0] for feed in SPINE)
    quarantined = q(cfg.warehouse_db, "select count(*) from audit.quarantine")[0][0]
    assert (raw_rows, quarantined) == (totals[2], totals[3])
    events = q(cfg.warehouse_db, """select source_record_id, deaths from marts.fct_casualty_events
                                    where year = 2020 order by 1""")
    assert events == [("A-2020-1", 1), ("F-2020-1", 0), ("JJ-2020-1", 2), ("JJ-2020-2", 0)]

    # 数据健康 marks the re-sends: the page's query over the published warehouse
    from dashboards import data

    monkeypatch.setattr(data, "_scope", lambda: cfg.warehouse_db)  # as for the leader (dashboards.auth)
    feeds = data.load_feed_deliveries([], None, None).set_index(["source", "feed"])
    assert feeds.loc[("stats", "economy"), "files_resent"] == 2
    assert feeds.loc[("emb", "accidents"), "files_resent"] == 2
    assert feeds.loc[("traffic", "road_accidents"), "files_resent"] == 1
    assert feeds.loc[("fire", "fires"), "files_resent"] == 0  # a copy under a new name is a duplicate, not a re-send
