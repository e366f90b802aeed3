"""Hostile deliveries: whatever a file holds, it gets a verdict with a reason, the counts add up,
and the department's other files still load (issue 12).

Every case is built byte by byte here, small, and asserts the verdict, the reason and that
delivered = loaded + quarantined for every file, each of which has a reconciliation row.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import zipfile
from datetime import datetime, timedelta

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from citysafety import sources as S
from citysafety.raw import store
from citysafety.raw.ingest import ingest_feed
from test_ingest import (  # noqa: F401 - the cfg fixture
    ACC_HEADER, acc, accidents_file, assert_all_reconcile, cfg, csv_text, economy_book, land,
)

SENSORS = S.EMB_SENSOR_READINGS if hasattr(S, "EMB_SENSOR_READINGS") else S.feed("emb", "sensor_readings")
ENTERPRISES = S.feed("emb", "enterprises")


def verdicts(cfg, feed) -> dict[str, dict]:
    """file name -> its reconciliation row, for every load of the feed; all must add up."""
    assert_all_reconcile(cfg)
    out = {}
    for folder in store.loads(feed, cfg):
        rec = pq.read_table(folder / "reconciliation.parquet").to_pylist()[0]
        assert rec["rows_delivered"] == rec["rows_loaded"] + rec["rows_quarantined"], rec
        out[rec["file_name"]] = rec
    return out


def quarantine_of(cfg, feed, name: str) -> list[dict]:
    (folder,) = [f for f in store.loads(feed, cfg)
                 if f.name == store.load_folder_name(name, f.name.rsplit("-", 1)[1])]
    return pq.read_table(folder / "quarantine.parquet").to_pylist()


def assert_every_file_has_a_verdict(cfg, feed) -> dict[str, dict]:
    landed = {p.name for p in (cfg.landing / feed.source / feed.feed).iterdir()
              if p.is_file() and not p.name.startswith(".")}
    recs = verdicts(cfg, feed)
    assert landed <= set(recs), landed - set(recs)
    return recs


# --------------------------------------------------------------------------- the crashing files


def truncated_sheet_xlsx() -> bytes:
    """A valid zip whose sheet XML is cut off in the middle of a row."""
    good = economy_book([[2019, 1000, 50, 10, "初步核算"], [2020, 1100, 51, 11, "初步核算"]])
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = data[: len(data) // 2]
            dst.writestr(info.filename, data)
    return out.getvalue()


def zip_bomb_xlsx(megabytes: int) -> bytes:
    """A real workbook plus one member of zeros that expands to `megabytes` MiB."""
    good = economy_book([[2019, 1000, 50, 10, "初步核算"]])
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        dst.writestr("xl/media/padding.bin", b"\0" * (megabytes << 20))
    return out.getvalue()


def readings_parquet(n: int = 500) -> bytes:
    start = datetime(2020, 1, 1)
    table = pa.table({"point_id": [f"P{i % 7}" for i in range(n)],
                      "ts": [start + timedelta(minutes=i) for i in range(n)],
                      "value": [float(i) for i in range(n)]})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="none", use_dictionary=False)
    return buf.getvalue()


def corrupt_page_parquet() -> bytes:
    """A Parquet file with a valid footer whose `value` data page header is overwritten."""
    data = bytearray(readings_parquet())
    meta = pq.ParquetFile(io.BytesIO(bytes(data))).metadata
    offset = meta.row_group(0).column(2).data_page_offset
    data[offset:offset + 16] = b"\xff" * 16
    pq.ParquetFile(io.BytesIO(bytes(data))).metadata  # the footer still reads
    return bytes(data)


def road_line(no: str, **changes) -> str:
    line = {"accident_no": no, "occurred_at": "2020-03-01T08:00:00+08:00", "street": "武林",
            "road": "某路", "deaths_7d": 0, "injuries": 1, "vehicles": 2,
            "reported_at": "2020-03-01T09:00:00+08:00"}
    line.update(changes)
    return json.dumps(line, ensure_ascii=False)


def test_truncated_sheet_xml_is_rejected_and_others_load(cfg):
    land(cfg, S.STATS_ECONOMY, "economy_20200101.xlsx", truncated_sheet_xlsx())
    land(cfg, S.STATS_ECONOMY, "economy_20200102.xlsx", economy_book([[2019, 1000, 50, 10, "初步核算"]]))
    results = {r.file_name: r for r in ingest_feed(S.STATS_ECONOMY, cfg)}
    assert results["economy_20200101.xlsx"].status == "rejected"
    assert results["economy_20200102.xlsx"].status == "loaded"
    (q,) = quarantine_of(cfg, S.STATS_ECONOMY, "economy_20200101.xlsx")
    assert q["reason"].startswith("file rejected: sheet '地区生产总值' is not readable: ParseError"), q
    recs = assert_every_file_has_a_verdict(cfg, S.STATS_ECONOMY)
    assert (recs["economy_20200101.xlsx"]["rows_delivered"], recs["economy_20200101.xlsx"]["rows_quarantined"]) == (1, 1)
    assert ingest_feed(S.STATS_ECONOMY, cfg) == []  # in the ledger: not retried


def test_zip_bomb_xlsx_is_rejected_before_it_expands(cfg, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_MAX_UNZIPPED_MB", "8")
    bomb = zip_bomb_xlsx(32)
    assert len(bomb) < 100_000
    land(cfg, S.STATS_ECONOMY, "economy_20200101.xlsx", bomb)
    (r,) = ingest_feed(S.STATS_ECONOMY, cfg)
    assert r.status == "rejected"
    (q,) = quarantine_of(cfg, S.STATS_ECONOMY, "economy_20200101.xlsx")
    assert "more than the limit of 8388608 (CITYSAFETY_MAX_UNZIPPED_MB)" in q["reason"], q
    assert_every_file_has_a_verdict(cfg, S.STATS_ECONOMY)


def test_json_line_nested_100000_deep_is_quarantined(cfg):
    deep = "[" * 100_000 + "]" * 100_000
    deep_obj = '{"a":' * 100_000 + "1" + "}" * 100_000
    text = "\n".join([road_line("JJ-1"), deep, deep_obj, road_line("JJ-2")]) + "\n"
    land(cfg, S.TRAFFIC_ROAD_ACCIDENTS, "road_accidents_20200301.jsonl", text.encode())
    (r,) = ingest_feed(S.TRAFFIC_ROAD_ACCIDENTS, cfg)
    assert (r.status, r.rows_delivered, r.rows_loaded, r.rows_quarantined) == ("partial", 4, 2, 2)
    q = quarantine_of(cfg, S.TRAFFIC_ROAD_ACCIDENTS, "road_accidents_20200301.jsonl")
    assert [x["row_number"] for x in q] == [2, 3]
    assert all(x["reason"] == "JSON nested deeper than 64 levels (CITYSAFETY_MAX_JSON_DEPTH)" for x in q)
    assert all(len(x["raw_record"]) <= 131073 for x in q)


def test_parquet_with_corrupt_data_page_is_rejected_and_others_load(cfg):
    land(cfg, SENSORS, "readings_20200101.parquet", corrupt_page_parquet())
    land(cfg, SENSORS, "readings_20200102.parquet", readings_parquet(50))
    results = {r.file_name: r for r in ingest_feed(SENSORS, cfg)}
    assert results["readings_20200101.parquet"].status == "rejected"
    assert (results["readings_20200102.parquet"].status, results["readings_20200102.parquet"].rows_loaded) == ("loaded", 50)
    (q,) = quarantine_of(cfg, SENSORS, "readings_20200101.parquet")
    assert q["reason"].startswith("file rejected: not a readable Parquet file ("), q
    assert str(cfg.landing) not in q["reason"]
    assert_every_file_has_a_verdict(cfg, SENSORS)
    assert not list(store.feed_dir(SENSORS, cfg).glob(".*tmp-*"))  # nothing half-written left
    assert ingest_feed(SENSORS, cfg) == []


def test_a_reader_failure_no_rule_foresaw_is_the_files_verdict(cfg, monkeypatch):
    from citysafety.raw import readers

    def broken(*a, **k):
        raise RuntimeError("parser bug\nsecond line")

    monkeypatch.setattr(readers, "read_csv", broken)
    land(cfg, S.EMB_ACCIDENTS, "accidents_201903.csv", accidents_file())
    (r,) = ingest_feed(S.EMB_ACCIDENTS, cfg)
    assert (r.status, r.rows_delivered, r.rows_quarantined) == ("rejected", 1, 1)
    (q,) = quarantine_of(cfg, S.EMB_ACCIDENTS, "accidents_201903.csv")
    assert q["reason"] == "file rejected: unreadable: RuntimeError: parser bug"


def test_a_file_the_store_cannot_record_stops_that_file_only(cfg, monkeypatch):
    from citysafety.raw import ingest

    real = ingest.load_file

    def flaky(feed, path, *a, **k):
        if path.name.endswith("01.csv"):
            raise OSError(28, "No space left on device")
        return real(feed, path, *a, **k)

    monkeypatch.setattr(ingest, "load_file", flaky)
    land(cfg, S.EMB_ACCIDENTS, "accidents_201901.csv", accidents_file())
    land(cfg, S.EMB_ACCIDENTS, "accidents_201902.csv", csv_text(ACC_HEADER, [acc()]).encode("gb18030"))
    with pytest.raises(ingest.FeedFailed, match="accidents_201901.csv: OSError") as info:
        ingest_feed(S.EMB_ACCIDENTS, cfg)
    assert [r.file_name for r in info.value.results] == ["accidents_201902.csv"]
    monkeypatch.setattr(ingest, "load_file", real)
    assert [r.file_name for r in ingest_feed(S.EMB_ACCIDENTS, cfg)] == ["accidents_201901.csv"]  # retried


def test_limits_are_settings_with_defaults(monkeypatch):
    from citysafety import config

    for name in ("CITYSAFETY_MAX_JSON_DEPTH", "CITYSAFETY_MAX_FIELD_CHARS", "CITYSAFETY_MAX_ROW_FIELDS",
                 "CITYSAFETY_MAX_UNZIPPED_MB"):
        monkeypatch.delenv(name, raising=False)
    assert (config.max_json_depth(), config.max_field_chars(), config.max_row_fields(),
            config.max_unzipped_bytes()) == (64, 131072, 1000, 512 << 20)
    monkeypatch.setenv("CITYSAFETY_MAX_JSON_DEPTH", "nonsense")
    assert config.max_json_depth() == 64
    monkeypatch.setenv("CITYSAFETY_MAX_JSON_DEPTH", "5")
    assert config.max_json_depth() == 5


# --------------------------------------------------------------------------- departments are independent


def test_pipeline_runs_every_dag_past_a_failed_department(cfg, monkeypatch, capsys):
    from contextlib import contextmanager

    from citysafety.orchestrate import runner

    ran, confs = [], []

    @contextmanager
    def fake_dag_process(env):
        def run(dag_id, conf, log):
            ran.append(dag_id)
            confs.append(conf)
            return 3 if dag_id == "ingest_emb" else 0
        yield run

    monkeypatch.setattr(runner, "init_airflow", lambda cfg=None: None)
    monkeypatch.setattr(runner, "dag_process", fake_dag_process)
    assert runner.run_pipeline(cfg) == 3
    assert ran == runner.dag_ids()  # every ingest, then the build of what did load
    assert ran[-1] == "build_mart"
    # the build is told which feeds the ingests loaded (here none: nothing ran for real)
    assert confs[-1] == {"changed_feeds": []} and confs[:-1] == [None] * (len(ran) - 1)
    out = capsys.readouterr().out
    assert "pipeline finished with failures: ingest_emb failed" in out


# --------------------------------------------------------------------------- nothing lost

ENT_HEADER = [c.delivered for c in ENTERPRISES.columns]


def enterprise(i: int) -> list:
    return ["91330103MA2AAAAA1X", f"单位{i}", "武林", "C 制造业", 10, "是", "一级", "是", None, "否"]


def enterprises_book(header, rows) -> bytes:
    return economy_book(rows, header=header, sheet="Sheet1")  # test_ingest's workbook writer


def test_workbook_without_title_row_counts_every_row(cfg):
    # agreed header names: the header is found on row 1, all 5 units load
    land(cfg, ENTERPRISES, "enterprises_20200101.xlsx",
         enterprises_book(ENT_HEADER, [enterprise(i) for i in range(5)]))
    # renamed headers and no title: no row can be the header; all 6 rows kept, quarantined
    renamed = [f"列{i}" for i in range(len(ENT_HEADER))]
    land(cfg, ENTERPRISES, "enterprises_20200201.xlsx",
         enterprises_book(renamed, [enterprise(i) for i in range(5)]))
    ingest_feed(ENTERPRISES, cfg)
    recs = assert_every_file_has_a_verdict(cfg, ENTERPRISES)
    first, second = recs["enterprises_20200101.xlsx"], recs["enterprises_20200201.xlsx"]
    assert (first["status"], first["rows_delivered"], first["rows_loaded"]) == ("loaded", 5, 5)
    assert "header found on row 1, agreed row is 2" in first["notes"]
    assert (second["status"], second["rows_delivered"], second["rows_quarantined"]) == ("rejected", 6, 6)
    q = quarantine_of(cfg, ENTERPRISES, "enterprises_20200201.xlsx")
    assert {x["reason"] for x in q} == {"no header row found: none of the first 10 rows names an agreed column"}
    assert any("单位0" in x["raw_record"] for x in q)  # the unit on row 2 is not lost


def test_rows_above_the_header_that_are_not_a_title_are_quarantined(cfg):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["下城区生产经营单位基础信息表"])
    ws.append(enterprise(9))  # a unit above the header
    ws.append(ENT_HEADER)
    ws.append(enterprise(1))
    buf = io.BytesIO()
    book.save(buf)
    land(cfg, ENTERPRISES, "enterprises_20200101.xlsx", buf.getvalue())
    (r,) = ingest_feed(ENTERPRISES, cfg)
    assert (r.status, r.rows_delivered, r.rows_loaded, r.rows_quarantined) == ("partial", 2, 1, 1)
    (q,) = quarantine_of(cfg, ENTERPRISES, "enterprises_20200101.xlsx")
    assert (q["row_number"], q["reason"]) == (2, "row above the header row")
    rec = verdicts(cfg, ENTERPRISES)["enterprises_20200101.xlsx"]
    assert "title row 1: '下城区生产经营单位基础信息表'" in rec["notes"]


def test_duplicate_header_names_are_not_resolved_silently(cfg):
    header = ACC_HEADER + ["所属街道"]
    text = csv_text(header, [acc() + ["天水"], acc(accident_id="XC-2") + ["武林"]])
    land(cfg, S.EMB_ACCIDENTS, "accidents_201903.csv", text.encode("gb18030"))
    (r,) = ingest_feed(S.EMB_ACCIDENTS, cfg)
    assert (r.status, r.rows_delivered, r.rows_quarantined) == ("rejected", 2, 2)
    q = quarantine_of(cfg, S.EMB_ACCIDENTS, "accidents_201903.csv")
    assert {x["reason"] for x in q} == {"ambiguous header: 所属街道 named 2 times (columns 3, 17)"}


def test_json_object_with_a_duplicate_key_is_quarantined(cfg):
    dup = road_line("JJ-2")[:-1] + ', "deaths_7d": 3}'
    land(cfg, S.TRAFFIC_ROAD_ACCIDENTS, "road_accidents_20200301.jsonl",
         (road_line("JJ-1") + "\n" + dup + "\n").encode())
    (r,) = ingest_feed(S.TRAFFIC_ROAD_ACCIDENTS, cfg)
    assert (r.status, r.rows_delivered, r.rows_loaded, r.rows_quarantined) == ("partial", 2, 1, 1)
    (q,) = quarantine_of(cfg, S.TRAFFIC_ROAD_ACCIDENTS, "road_accidents_20200301.jsonl")
    assert (q["row_number"], q["reason"]) == (2, "duplicate JSON key 'deaths_7d': which value holds is ambiguous")


def test_gb18030_file_with_a_stray_utf8_bom_is_read(cfg):
    land(cfg, S.EMB_ACCIDENTS, "accidents_201903.csv", b"\xef\xbb\xbf" + accidents_file())
    (r,) = ingest_feed(S.EMB_ACCIDENTS, cfg)
    assert (r.rows_delivered, r.rows_loaded) == (7, 3)  # as without the BOM
    rec = verdicts(cfg, S.EMB_ACCIDENTS)["accidents_201903.csv"]
    assert "UTF-8 byte order mark at the start of a gb18030 file dropped" in rec["notes"]


# --------------------------------------------------------------------------- plausibility


def test_dates_after_the_delivery_are_quarantined(cfg, monkeypatch):
    monkeypatch.delenv("CITYSAFETY_FUTURE_TOLERANCE_DAYS", raising=False)
    path = land(cfg, S.EMB_ACCIDENTS, "accidents_202001.csv", csv_text(ACC_HEADER, [
        acc(accident_id="OK", occurred_at="2020-01-05 10:00", reported_on="2020-01-06"),
        acc(accident_id="FUTURE", occurred_at="2031-01-05 10:00", reported_on="2020-01-06"),
        acc(accident_id="TOMORROW", occurred_at="2020-01-06 10:00", reported_on="2020-01-06"),
    ]).encode("gb18030"))
    landed = datetime(2020, 1, 5, 12, 0).timestamp()  # landed 2020-01-05 (machine time zone)
    os.utime(path, (landed, landed))
    (r,) = ingest_feed(S.EMB_ACCIDENTS, cfg)
    assert (r.rows_delivered, r.rows_loaded, r.rows_quarantined) == (3, 2, 1)
    (q,) = quarantine_of(cfg, S.EMB_ACCIDENTS, "accidents_202001.csv")
    assert q["row_number"] == 3
    assert q["reason"].startswith("发生时间: after the file's delivery (2020-01-0"), q
    assert q["reason"].endswith("with tolerance): '2031-01-05 10:00'"), q


def test_sensor_readings_after_the_delivery_are_quarantined(cfg, monkeypatch):
    monkeypatch.delenv("CITYSAFETY_FUTURE_TOLERANCE_DAYS", raising=False)
    # readings_20200105.parquet: the day in its name ends 2020-01-06 00:00 Beijing time, plus one
    # day of tolerance: 2020-01-06 16:00 UTC is the last plausible instant.
    table = pa.table({"point_id": ["P1", "P1", "P1", "P2"],
                      "ts": [datetime(2020, 1, 5, 2, 0), datetime(2020, 1, 6, 15, 59),
                             datetime(2020, 1, 6, 16, 1), datetime(2031, 1, 5, 2, 0)],
                      "value": [1.0, 2.0, 3.0, 4.0]})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    path = land(cfg, SENSORS, "readings_20200105.parquet", buf.getvalue())
    landed = datetime(2020, 1, 5, 12, 0).timestamp()  # landed that day (before the name's end)
    os.utime(path, (landed, landed))
    (r,) = ingest_feed(SENSORS, cfg)
    assert (r.status, r.rows_delivered, r.rows_loaded, r.rows_quarantined) == ("partial", 4, 2, 2)
    q = quarantine_of(cfg, SENSORS, "readings_20200105.parquet")
    assert [(x["row_number"], x["reason"]) for x in q] == [
        (3, "ts: after the file's delivery (2020-01-06 16:00 UTC with tolerance): '2020-01-06 16:01:00'"),
        (4, "ts: after the file's delivery (2020-01-06 16:00 UTC with tolerance): '2031-01-05 02:00:00'"),
    ]
    rec = verdicts(cfg, SENSORS)["readings_20200105.parquet"]
    assert (rec["rows_delivered"], rec["rows_loaded"], rec["rows_quarantined"]) == (4, 2, 2)
    loaded = pq.read_table(store.loads(SENSORS, cfg)[0] / "rows.parquet").to_pylist()
    assert [x["ts"] for x in loaded] == [datetime(2020, 1, 5, 2, 0), datetime(2020, 1, 6, 15, 59)]


def test_the_date_in_the_name_and_expiry_dates_are_not_future_rows(cfg):
    ent = enterprise(1)
    ent[8] = "2035-01-01"  # 安责险到期日: an expiry lies ahead by nature
    land(cfg, ENTERPRISES, "enterprises_20200101.xlsx", enterprises_book(ENT_HEADER, [ent]))
    (r,) = ingest_feed(ENTERPRISES, cfg)
    assert (r.status, r.rows_loaded) == ("loaded", 1)


# --------------------------------------------------------------------------- hidden names, files being written


def test_a_hidden_file_that_stays_is_reported_and_loads_once_renamed(cfg, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HIDDEN_REPORT_SECONDS", "0.3")
    data = accidents_file()
    land(cfg, S.EMB_ACCIDENTS, "..accidents_201903.csv", data)
    assert ingest_feed(S.EMB_ACCIDENTS, cfg) == []  # an upload in progress, for now
    time.sleep(0.4)
    (r,) = ingest_feed(S.EMB_ACCIDENTS, cfg)
    assert (r.file_name, r.status, r.rows_delivered, r.rows_quarantined) == ("..accidents_201903.csv", "rejected", 1, 1)
    (q,) = quarantine_of(cfg, S.EMB_ACCIDENTS, "..accidents_201903.csv")
    assert q["reason"] == ("file rejected: hidden file name (starts with '.'), unchanged for over 0.3 s: "
                           "not read; rename it to deliver it")
    assert ingest_feed(S.EMB_ACCIDENTS, cfg) == []  # reported once
    os.rename(cfg.landing / "emb/accidents/..accidents_201903.csv", cfg.landing / "emb/accidents/accidents_201903.csv")
    (r,) = ingest_feed(S.EMB_ACCIDENTS, cfg)
    assert (r.status, r.rows_loaded) == ("partial", 3)  # loaded, not a duplicate of the hidden one
    assert_every_file_has_a_verdict(cfg, S.EMB_ACCIDENTS)


def test_a_file_still_being_written_is_not_read_yet(cfg, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_LANDING_QUIET_SECONDS", "0.5")
    land(cfg, S.EMB_ACCIDENTS, "accidents_201903.csv", accidents_file()[:100])
    assert ingest_feed(S.EMB_ACCIDENTS, cfg) == []
    time.sleep(0.6)
    (r,) = ingest_feed(S.EMB_ACCIDENTS, cfg)
    assert r.file_name == "accidents_201903.csv"


# --------------------------------------------------------------------------- versions of a file name


def test_a_name_resent_with_other_bytes_loads_as_its_next_version(cfg):
    first = csv_text(ACC_HEADER, [acc(accident_id="XC-1", deaths="0")]).encode("gb18030")
    second = csv_text(ACC_HEADER, [acc(accident_id="XC-1", deaths="1"), acc(accident_id="XC-2")]).encode("gb18030")
    path = land(cfg, S.EMB_ACCIDENTS, "accidents_201903.csv", first)
    assert [r.rows_loaded for r in ingest_feed(S.EMB_ACCIDENTS, cfg)] == [1]
    path.write_bytes(second)
    assert [(r.status, r.rows_loaded) for r in ingest_feed(S.EMB_ACCIDENTS, cfg)] == [("loaded", 2)]
    path.write_bytes(first)  # the first bytes again: delivered last, the name's third version
    assert [(r.status, r.rows_loaded) for r in ingest_feed(S.EMB_ACCIDENTS, cfg)] == [("loaded", 1)]
    assert ingest_feed(S.EMB_ACCIDENTS, cfg) == []  # its current version: nothing to do
    land(cfg, S.EMB_ACCIDENTS, "accidents_201903_copy.csv", second)  # another name: a duplicate
    assert [r.status for r in ingest_feed(S.EMB_ACCIDENTS, cfg)] == ["duplicate"]

    assert_all_reconcile(cfg)
    recs = sorted(store.ledger(S.EMB_ACCIDENTS, cfg), key=lambda r: (r["file_name"], r["file_version"]))
    digest = [hashlib.sha256(b).hexdigest() for b in (first, second)]
    assert [(r["file_name"], r["file_version"], r["file_sha256"], r["supersedes"], r["status"]) for r in recs] == [
        ("accidents_201903.csv", 1, digest[0], None, "loaded"),
        ("accidents_201903.csv", 2, digest[1], digest[0], "loaded"),
        ("accidents_201903.csv", 3, digest[0], digest[1], "loaded"),
        ("accidents_201903_copy.csv", 1, digest[1], None, "duplicate"),
    ]
    assert recs[1]["notes"] == f"re-sent: version 2 of accidents_201903.csv, supersedes the content {digest[0][:12]}"
    folders = {p.name: p for p in store.loads(S.EMB_ACCIDENTS, cfg)}
    assert set(folders) == {f"accidents_201903.csv-{digest[0][:12]}", f"accidents_201903.csv-{digest[1][:12]}.v2",
                            f"accidents_201903.csv-{digest[0][:12]}.v3", f"accidents_201903_copy.csv-{digest[1][:12]}"}
    rows = pq.read_table(folders[f"accidents_201903.csv-{digest[0][:12]}.v3"] / "rows.parquet").to_pylist()
    assert [(r["accident_id"], r["_file_version"], r["_row_number"]) for r in rows] == [("XC-1", 3, 2)]


def test_loads_recorded_before_versions_are_numbered_by_load_time(cfg):
    path = land(cfg, S.EMB_ACCIDENTS, "accidents_201903.csv", accidents_file())
    ingest_feed(S.EMB_ACCIDENTS, cfg)
    path.write_bytes(csv_text(ACC_HEADER, [acc(accident_id="XC-9")]).encode("gb18030"))
    ingest_feed(S.EMB_ACCIDENTS, cfg)
    # as an older ingest wrote them: no version columns, the second load in a plain folder
    for folder in store.loads(S.EMB_ACCIDENTS, cfg):
        table = pq.read_table(folder / "reconciliation.parquet").drop_columns(["file_version", "supersedes"])
        pq.write_table(table, folder / "reconciliation.parquet")
        folder.rename(folder.with_name(folder.name.removesuffix(".v2")))
    recs = sorted(store.ledger(S.EMB_ACCIDENTS, cfg), key=lambda r: r["loaded_at"])
    assert [r["file_version"] for r in recs] == [1, 2]
    path.write_bytes(accidents_file())  # the first bytes again: version 3, not a jam
    (r,) = ingest_feed(S.EMB_ACCIDENTS, cfg)
    assert r.status == "partial"
    assert max(x["file_version"] for x in store.ledger(S.EMB_ACCIDENTS, cfg)) == 3


def test_a_process_starting_cold_reads_the_records_kept_beside_the_loads(cfg, monkeypatch):
    """Each Airflow task is a new process: the ledger comes from the one file of records kept per
    feed, not a Parquet file per load, and is the ledger the loads give; a load added since, or
    a kept file that cannot be used, is read from the loads again."""
    import pyarrow as pa

    path = land(cfg, S.EMB_ACCIDENTS, "accidents_201903.csv", accidents_file())
    ingest_feed(S.EMB_ACCIDENTS, cfg)
    path.write_bytes(csv_text(ACC_HEADER, [acc(accident_id="XC-9")]).encode("gb18030"))
    ingest_feed(S.EMB_ACCIDENTS, cfg)
    expected = store.ledger(S.EMB_ACCIDENTS, cfg)
    kept = store.feed_dir(S.EMB_ACCIDENTS, cfg) / store._KEPT_RECORDS
    assert kept.exists() and len(expected) == 2

    def no_load_read(*args, **kwargs):
        raise AssertionError("read a load's own record")

    monkeypatch.setattr(store, "_RECORDS", {})  # a process starting cold
    monkeypatch.setattr(store.pq, "ParquetDataset", no_load_read)
    assert store.ledger(S.EMB_ACCIDENTS, cfg) == expected
    monkeypatch.undo()

    land(cfg, S.EMB_ACCIDENTS, "accidents_201904.csv", accidents_file())
    ingest_feed(S.EMB_ACCIDENTS, cfg)
    full = store.ledger(S.EMB_ACCIDENTS, cfg)
    monkeypatch.setattr(store, "_RECORDS", {})
    assert store.ledger(S.EMB_ACCIDENTS, cfg) == full and len(full) == 3
    pq.write_table(pa.table({"x": [1]}), kept)  # written by an older record's schema
    monkeypatch.setattr(store, "_RECORDS", {})
    assert store.ledger(S.EMB_ACCIDENTS, cfg) == full
    kept.write_bytes(b"not parquet")
    monkeypatch.setattr(store, "_RECORDS", {})
    assert store.ledger(S.EMB_ACCIDENTS, cfg) == full
    assert_all_reconcile(cfg)


def test_a_file_appended_while_it_was_read_loads_again_as_its_next_version(cfg, monkeypatch):
    from citysafety.raw import ingest

    path = land(cfg, S.TRAFFIC_ROAD_ACCIDENTS, "road_accidents_20200301.jsonl", (road_line("JJ-1") + "\n").encode())
    real = ingest.file_hashes

    def hashed_then_appended(*args):
        shas = real(*args)
        with path.open("a", encoding="utf-8") as f:  # the department's upload goes on
            f.write(road_line("JJ-2") + "\n")
        return shas

    monkeypatch.setattr(ingest, "file_hashes", hashed_then_appended)
    (r1,) = ingest_feed(S.TRAFFIC_ROAD_ACCIDENTS, cfg)
    monkeypatch.setattr(ingest, "file_hashes", real)
    assert (r1.status, r1.rows_loaded) == ("loaded", 2)  # read after the append
    (r2,) = ingest_feed(S.TRAFFIC_ROAD_ACCIDENTS, cfg)  # its bytes differ from the hash recorded
    assert (r2.status, r2.rows_loaded) == ("loaded", 2)
    assert ingest_feed(S.TRAFFIC_ROAD_ACCIDENTS, cfg) == []
    recs = sorted(store.ledger(S.TRAFFIC_ROAD_ACCIDENTS, cfg), key=lambda r: r["file_version"])
    assert [(r["file_version"], r["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()) for r in recs] == [
        (1, False), (2, True)]
    assert_all_reconcile(cfg)


def test_formula_text_never_reaches_an_excel_export_as_a_formula(tmp_path):
    """Delivered text such as =HYPERLINK("http://x","y") is data: the department XLSX exports and
    the pages' XLSX downloads write it as a text cell, never as a formula."""
    import duckdb
    import openpyxl
    import pandas as pd

    from citysafety.share import contracts, exports
    from dashboards import frame

    injected = '=HYPERLINK("http://x","y")'
    con = duckdb.connect()
    path = tmp_path / "fct_hazards.xlsx"
    written = exports._write_xlsx(path, con.execute("select ? as report_id, 'WL' as street_code", [injected]),
                                  ["report_id", "street_code"], contracts.shared_table("fct_hazards"),
                                  "fct_hazards", 1, {})
    assert written == 1
    cell = openpyxl.load_workbook(path)["数据"]["A2"]
    assert cell.value == injected and cell.data_type == "s"

    data = frame.xlsx_bytes(pd.DataFrame({"report_id": [injected]}), {"report_id": "编号"})
    cell = openpyxl.load_workbook(__import__("io").BytesIO(data))["数据"]["A2"]
    assert cell.value == injected and cell.data_type == "s"


# --- property: random damage to real delivery bytes never crashes and always reconciles -------------

_SEEDS = {
    "xlsx": (S.STATS_ECONOMY, "economy_20200310.xlsx", lambda: economy_book([
        [2019, 1000.5, 55.0, "初步核算"]], title="下城区主要经济指标")),
    "csv": (S.EMB_ACCIDENTS, "accidents_202001.csv", accidents_file),
    "parquet": (SENSORS, "readings_20200103.parquet", lambda: readings_parquet(200)),
}


@pytest.mark.parametrize("form", sorted(_SEEDS))
def test_randomly_damaged_deliveries_never_crash_and_always_reconcile(form, cfg):
    """Bytes of a real delivery (a titled workbook, a GB18030 CSV, a Parquet day of readings)
    flipped, cut and spliced at random: the ingest never raises, and every file gets a verdict
    whose counts add up (delivered = loaded + quarantined)."""
    feed, name, make = _SEEDS[form]
    seed = make()
    counter = iter(range(10_000))

    @hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.lists(st.tuples(st.integers(0, len(seed) - 1), st.integers(1, 255)), min_size=1, max_size=6),
           st.integers(1, len(seed)), st.binary(max_size=16))
    def damaged(flips, cut, splice):
        data = bytearray(seed)
        for at, xor in flips:
            data[at] ^= xor
        data = bytes(data[:cut]) + splice + bytes(data[cut:])
        land(cfg, feed, name.replace(".", f"_{next(counter)}."), data)
        for r in ingest_feed(feed, cfg):  # must not raise
            assert r.rows_delivered == r.rows_loaded + r.rows_quarantined, r
            assert r.status in {"loaded", "partial", "rejected", "empty", "duplicate"}, r

    damaged()
    assert_every_file_has_a_verdict(cfg, feed)
    assert_all_reconcile(cfg)
