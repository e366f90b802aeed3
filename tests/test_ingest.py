"""Landing -> raw (citysafety.raw.ingest) on delivery files written byte by byte in a temporary home.

Each test lands files in $CITYSAFETY_HOME/landing/<source>/<feed>/, runs `ingest_feed`, and reads
back rows.parquet, quarantine.parquet and reconciliation.parquet with pyarrow. Expectations
(row numbers, typed values, reasons, counts) are worked out by hand from the bytes written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pyarrow.parquet as pq
import pytest

from citysafety.raw import store
from citysafety.config import settings
from citysafety.raw.ingest import ingest_feed
from citysafety.raw.store import FileResult
from citysafety.sources import EMB_ACCIDENTS, FIRE_FIRES, STATS_ECONOMY, TRAFFIC_ROAD_ACCIDENTS

SAMPLES = Path("/work/shared/feeds/samples")
ACC_HEADER = [c.delivered for c in EMB_ACCIDENTS.columns]
FIRE_HEADER = [c.delivered for c in FIRE_FIRES.columns]
ECO_HEADER = [c.delivered for c in STATS_ECONOMY.columns]
PHONE = re.compile(r"1[3-9]\d{9}")
BOM = b"\xef\xbb\xbf"


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path / "home"))
    c = settings()
    assert c.home == (tmp_path / "home").resolve()
    return c


def folder(cfg, feed) -> Path:
    path = cfg.landing / feed.source / feed.feed
    path.mkdir(parents=True, exist_ok=True)
    return path


def land(cfg, feed, name: str, data: bytes) -> Path:
    path = folder(cfg, feed) / name
    path.write_bytes(data)
    return path


def csv_text(header, rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def csv_line(values) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(values)
    return buf.getvalue()


def acc(**changes) -> list[str]:
    """One accident report line (values by column name), defaults from a plausible report."""
    values = {
        "accident_id": "XC-AQ-2019-0001", "occurred_at": "2019-03-05 14:20",
        "street_raw": "武林街道", "uscc": "91330103MA2AAAAA1X", "unit_name": "杭州某某有限公司",
        "industry": "C 制造业", "accident_category": "机械伤害", "deaths": "0",
        "serious_injuries": "0", "minor_injuries": "1", "direct_loss_10k_yuan": "12.5",
        "severity": "一般", "related_incident_id": "", "contact_name": "王某某",
        "contact_phone": "13812345678", "reported_on": "2019-03-06",
    }
    values.update(changes)
    return [values[c.name] for c in EMB_ACCIDENTS.columns]


def fire(**changes) -> list[str]:
    values = {
        "fire_id": "XF20190001", "occurred_at": "2019-03-05T14:20:00+08:00", "street_raw": "朝晖",
        "address": "某路1号", "place_type": "住宅", "cause": "电气", "uscc": "", "deaths": "0",
        "injuries": "1", "direct_loss_yuan": "178,691", "reported_at": "2019-03-05T18:00:00+08:00",
    }
    values.update(changes)
    return [values[c.name] for c in FIRE_FIRES.columns]


def load_of(cfg, feed, name: str) -> SimpleNamespace:
    """The raw folder of one delivered file, read back."""
    base = store.feed_dir(feed, cfg)
    dirs = [p for p in base.iterdir() if re.fullmatch(re.escape(name) + r"-[0-9a-f]{12}", p.name)]
    assert len(dirs) == 1, sorted(p.name for p in base.iterdir())
    d = dirs[0]
    rows = pq.read_table(d / "rows.parquet")
    assert rows.schema.equals(store.raw_schema(feed), check_metadata=False)
    quarantine = pq.read_table(d / "quarantine.parquet")
    assert quarantine.schema.equals(store.QUARANTINE, check_metadata=False)
    recon = pq.read_table(d / "reconciliation.parquet").to_pylist()
    assert len(recon) == 1
    return SimpleNamespace(dir=d, rows=rows.to_pylist(), quarantine=quarantine.to_pylist(),
                           recon=recon[0])


def assert_all_reconcile(cfg) -> int:
    """delivered = loaded + quarantined for every loaded file, and the Parquet files agree."""
    recs = sorted(cfg.raw.glob("*/*/*/reconciliation.parquet"))
    for rec in recs:
        r = pq.read_table(rec).to_pylist()[0]
        assert r["rows_delivered"] == r["rows_loaded"] + r["rows_quarantined"], r
        assert pq.read_metadata(rec.parent / "rows.parquet").num_rows == r["rows_loaded"], r
        assert pq.read_metadata(rec.parent / "quarantine.parquet").num_rows == r["rows_quarantined"], r
    return len(recs)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def loads_only(snap: dict[str, bytes]) -> dict[str, bytes]:
    """The loads' own files: not the records each feed keeps of them (rewritten with each load)."""
    return {k: v for k, v in snap.items() if not k.endswith("/" + store._KEPT_RECORDS)}


def now_s() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def economy_book(rows, *, header=ECO_HEADER, title: str | None = None, sheet="地区生产总值") -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- emb/accidents (GB18030)


ACC_GOOD = [
    acc(accident_id="XC-AQ-2019-0001", occurred_at="2019-03-05 14:20", direct_loss_10k_yuan="1,234.5",
        related_incident_id="XF20190001"),
    acc(accident_id="XC-AQ-2019-0002", occurred_at="2019/3/5 9:05", street_raw="武林街道办事处", uscc="",
        deaths="２", serious_injuries="1", minor_injuries="0", direct_loss_10k_yuan="",
        accident_category="高处坠落", contact_name="李某某", contact_phone="13987654321"),
    acc(accident_id="XC-AQ-2019-0003", occurred_at="2019年3月5日 14时20分", street_raw="下城区石桥街道",
        industry="E 建筑业", accident_category="触电", deaths="1", serious_injuries="0",
        minor_injuries="3", direct_loss_10k_yuan="15.0", severity="较大", reported_on="2019-03-07"),
]
ACC_BAD = [
    acc(accident_id="XC-AQ-2019-0004", occurred_at="不详"),  # line 5
    acc(accident_id="XC-AQ-2019-0005", deaths="-1"),  # line 6
    acc(accident_id="XC-AQ-2019-0006", serious_injuries="1.5", minor_injuries="两"),  # line 7
]
# line 8: an unquoted thousands separator splits the loss into two fields (17 instead of 16)
ACC_UNQUOTED = ("XC-AQ-2019-0007,2019-03-05 14:20,武林街道,,某单位,C 制造业,触电,0,0,1,1,234.5,一般,,"
                "赵某某,13700001111,2019-03-06")


def accidents_file() -> bytes:
    text = csv_text(ACC_HEADER, ACC_GOOD + ACC_BAD) + ACC_UNQUOTED + "\r\n"
    return text.encode("gb18030")


def test_accidents_gb18030_rows_quarantine_and_lineage(cfg):
    data = accidents_file()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really GB18030 bytes, not UTF-8
    land(cfg, EMB_ACCIDENTS, "accidents_201903.csv", data)

    before = now_s()
    results = ingest_feed(EMB_ACCIDENTS, cfg)
    after = now_s()
    assert results == [FileResult("accidents_201903.csv", "partial", 7, 3, 4)]

    load = load_of(cfg, EMB_ACCIDENTS, "accidents_201903.csv")
    digest = sha(data)
    assert load.dir.name == f"accidents_201903.csv-{digest[:12]}"
    assert load.dir.parent == cfg.raw / "emb" / "accidents"

    loaded_at = {r["_loaded_at"] for r in load.rows}
    assert len(loaded_at) == 1
    stamp = loaded_at.pop()
    assert before <= stamp <= after
    lineage = {"_source_file": "accidents_201903.csv", "_file_sha256": digest, "_loaded_at": stamp,
               "_file_version": 1}
    common = {"uscc": "91330103MA2AAAAA1X", "unit_name": "杭州某某有限公司", "industry": "C 制造业",
              "severity": "一般", "related_incident_id": None, "contact_name": "王某某",
              "contact_phone": "13812345678", "reported_on": date(2019, 3, 6)}
    assert load.rows == [
        {**common, "accident_id": "XC-AQ-2019-0001", "occurred_at": datetime(2019, 3, 5, 14, 20),
         "street_raw": "武林街道", "accident_category": "机械伤害", "deaths": 0, "serious_injuries": 0,
         "minor_injuries": 1, "direct_loss_10k_yuan": 1234.5, "related_incident_id": "XF20190001",
         "_row_number": 2, **lineage},
        {**common, "accident_id": "XC-AQ-2019-0002", "occurred_at": datetime(2019, 3, 5, 9, 5),
         "street_raw": "武林街道办事处", "uscc": None, "accident_category": "高处坠落", "deaths": 2,
         "serious_injuries": 1, "minor_injuries": 0, "direct_loss_10k_yuan": None,
         "contact_name": "李某某", "contact_phone": "13987654321", "_row_number": 3, **lineage},
        {**common, "accident_id": "XC-AQ-2019-0003", "occurred_at": datetime(2019, 3, 5, 14, 20),
         "street_raw": "下城区石桥街道", "industry": "E 建筑业", "accident_category": "触电",
         "deaths": 1, "serious_injuries": 0, "minor_injuries": 3, "direct_loss_10k_yuan": 15.0,
         "severity": "较大", "reported_on": date(2019, 3, 7), "_row_number": 4, **lineage},
    ]

    q = {r["row_number"]: r for r in load.quarantine}
    assert sorted(q) == [5, 6, 7, 8]
    for r in load.quarantine:
        assert (r["source"], r["feed"], r["file_name"], r["file_sha256"]) == (
            "emb", "accidents", "accidents_201903.csv", digest)
        assert r["quarantined_at"] == stamp
    # 5: unreadable 发生时间, named with its value
    assert "发生时间" in q[5]["reason"] and "不详" in q[5]["reason"]
    assert json.loads(q[5]["raw_record"])["事故编号"] == "XC-AQ-2019-0004"
    assert json.loads(q[5]["raw_record"])["发生时间"] == "不详"
    # 6: negative deaths
    assert "死亡人数" in q[6]["reason"] and "-1" in q[6]["reason"]
    assert "negative" in q[6]["reason"]
    # 7: both bad counts are reported, not only the first
    assert "重伤人数" in q[7]["reason"] and "1.5" in q[7]["reason"]
    assert "轻伤人数" in q[7]["reason"] and "两" in q[7]["reason"]
    assert "死亡人数" not in q[7]["reason"]
    # 8: wrong number of fields; the raw line is kept as delivered
    assert "16" in q[8]["reason"] and "17" in q[8]["reason"]
    assert q[8]["raw_record"] == ACC_UNQUOTED

    assert load.recon == {
        "source": "emb", "feed": "accidents", "file_name": "accidents_201903.csv",
        "file_sha256": digest, "file_bytes": len(data), "rows_delivered": 7, "rows_loaded": 3,
        "rows_quarantined": 4, "status": "partial", "duplicate_of": None, "notes": None,
        "loaded_at": stamp, "file_version": 1, "supersedes": None,
    }
    assert assert_all_reconcile(cfg) == 1


def test_accidents_header_variants_map_to_columns(cfg):
    # full-width brackets and stray spaces in a header still name the agreed column
    header = [h.replace("(", "（").replace(")", "）") for h in ACC_HEADER]
    header[0] = " 事故编号 "
    data = csv_text(header, [acc()]).encode("gb18030")
    land(cfg, EMB_ACCIDENTS, "accidents_201904.csv", data)
    assert ingest_feed(EMB_ACCIDENTS, cfg) == [FileResult("accidents_201904.csv", "loaded", 1, 1, 0)]
    row = load_of(cfg, EMB_ACCIDENTS, "accidents_201904.csv").rows[0]
    assert row["accident_id"] == "XC-AQ-2019-0001"
    assert row["direct_loss_10k_yuan"] == 12.5


def test_accidents_line_in_wrong_encoding_quarantined_others_loaded(cfg):
    good1 = csv_text(ACC_HEADER, [acc(accident_id="XC-1")]).encode("gb18030")
    # line 3 was pasted from a UTF-8 system; these bytes are not valid GB18030
    bad = csv_line(acc(accident_id="XC-2", street_raw="石桥街道")).encode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        bad.decode("gb18030")
    good2 = csv_line(acc(accident_id="XC-3", street_raw="天水街道")).encode("gb18030")
    land(cfg, EMB_ACCIDENTS, "accidents_201905.csv", good1 + bad + good2)

    assert ingest_feed(EMB_ACCIDENTS, cfg) == [FileResult("accidents_201905.csv", "partial", 3, 2, 1)]
    load = load_of(cfg, EMB_ACCIDENTS, "accidents_201905.csv")
    assert [(r["_row_number"], r["accident_id"], r["street_raw"]) for r in load.rows] == [
        (2, "XC-1", "武林街道"), (4, "XC-3", "天水街道")]
    assert len(load.quarantine) == 1
    q = load.quarantine[0]
    assert q["row_number"] == 3
    assert "gb18030" in q["reason"] and "not valid" in q["reason"]
    assert "XC-2" in q["raw_record"]  # the bytes are kept, shown as escapes
    assert "gb18030" in load.recon["notes"]


def test_accidents_file_lacking_required_column(cfg):
    header = [h for h in ACC_HEADER if h != "死亡人数"]
    rows = [[v for h, v in zip(ACC_HEADER, acc(accident_id=f"XC-{i}")) if h != "死亡人数"]
            for i in (1, 2, 3)]
    land(cfg, EMB_ACCIDENTS, "accidents_201906.csv", csv_text(header, rows).encode("gb18030"))

    assert ingest_feed(EMB_ACCIDENTS, cfg) == [FileResult("accidents_201906.csv", "rejected", 3, 0, 3)]
    load = load_of(cfg, EMB_ACCIDENTS, "accidents_201906.csv")
    assert load.rows == []
    assert [q["row_number"] for q in load.quarantine] == [2, 3, 4]
    for q, i in zip(load.quarantine, (1, 2, 3)):
        assert "死亡人数" in q["reason"] and "lacks" in q["reason"]
        assert json.loads(q["raw_record"])["事故编号"] == f"XC-{i}"
    assert "死亡人数" in load.recon["notes"]
    assert_all_reconcile(cfg)


def test_optional_column_absent_in_csv_is_none(cfg):
    header = [h for h in ACC_HEADER if h != "关联事故编号"]
    row = [v for h, v in zip(ACC_HEADER, acc()) if h != "关联事故编号"]
    land(cfg, EMB_ACCIDENTS, "accidents_201907.csv", csv_text(header, [row]).encode("gb18030"))
    assert ingest_feed(EMB_ACCIDENTS, cfg) == [FileResult("accidents_201907.csv", "loaded", 1, 1, 0)]
    load = load_of(cfg, EMB_ACCIDENTS, "accidents_201907.csv")
    assert load.rows[0]["related_incident_id"] is None
    assert "关联事故编号" in load.recon["notes"]


# --------------------------------------------------------------------------- fire/fires (UTF-8 BOM)


def test_fires_utf8_with_bom(cfg):
    rows = [
        fire(fire_id="XF20190001"),
        fire(fire_id="XF20190002", occurred_at="2019-03-05T06:20:00Z", street_raw="武林", uscc="91330103MA2AAAAA1X",
             place_type="商业", cause="不明", deaths="1", injuries="0", direct_loss_yuan="1,234,567.5",
             reported_at="2019-03-06T01:00:00Z"),
        fire(fire_id="XF20190003", occurred_at="2019-03-06T08:00:00", direct_loss_yuan=""),
    ]
    data = BOM + csv_text(FIRE_HEADER, rows).encode("utf-8")
    land(cfg, FIRE_FIRES, "fires_2019-W10.csv", data)

    assert ingest_feed(FIRE_FIRES, cfg) == [FileResult("fires_2019-W10.csv", "loaded", 3, 3, 0)]
    load = load_of(cfg, FIRE_FIRES, "fires_2019-W10.csv")
    got = [{k: v for k, v in r.items() if k != "_loaded_at"} for r in load.rows]
    lineage = {"_source_file": "fires_2019-W10.csv", "_file_sha256": sha(data), "_file_version": 1}
    assert got == [
        {"fire_id": "XF20190001", "occurred_at": datetime(2019, 3, 5, 14, 20), "street_raw": "朝晖",
         "address": "某路1号", "place_type": "住宅", "cause": "电气", "uscc": None, "deaths": 0,
         "injuries": 1, "direct_loss_yuan": 178691.0, "reported_at": datetime(2019, 3, 5, 18, 0),
         "_row_number": 2, **lineage},
        # UTC -> Shanghai: 06:20Z is 14:20, 01:00Z is 09:00
        {"fire_id": "XF20190002", "occurred_at": datetime(2019, 3, 5, 14, 20), "street_raw": "武林",
         "address": "某路1号", "place_type": "商业", "cause": "不明", "uscc": "91330103MA2AAAAA1X",
         "deaths": 1, "injuries": 0, "direct_loss_yuan": 1234567.5,
         "reported_at": datetime(2019, 3, 6, 9, 0), "_row_number": 3, **lineage},
        {"fire_id": "XF20190003", "occurred_at": datetime(2019, 3, 6, 8, 0), "street_raw": "朝晖",
         "address": "某路1号", "place_type": "住宅", "cause": "电气", "uscc": None, "deaths": 0,
         "injuries": 1, "direct_loss_yuan": None, "reported_at": datetime(2019, 3, 5, 18, 0),
         "_row_number": 4, **lineage},
    ]
    assert load.quarantine == []
    assert load.recon["notes"] is None  # the BOM did not turn the first header into an unknown column


def test_fires_line_in_wrong_encoding(cfg):
    head = BOM + csv_text(FIRE_HEADER, [fire(fire_id="XF1")]).encode("utf-8")
    bad = csv_line(fire(fire_id="XF2", address="延安路某号")).encode("gb18030")  # line 3
    with pytest.raises(UnicodeDecodeError):
        bad.decode("utf-8")
    tail = (csv_line(fire(fire_id="XF3")) + csv_line(fire(fire_id="XF4", deaths="两"))).encode("utf-8")  # 4, 5
    land(cfg, FIRE_FIRES, "fires_2019-W11.csv", head + bad + tail)

    assert ingest_feed(FIRE_FIRES, cfg) == [FileResult("fires_2019-W11.csv", "partial", 4, 2, 2)]
    load = load_of(cfg, FIRE_FIRES, "fires_2019-W11.csv")
    assert [(r["_row_number"], r["fire_id"]) for r in load.rows] == [(2, "XF1"), (4, "XF3")]
    q = {r["row_number"]: r["reason"] for r in load.quarantine}
    assert sorted(q) == [3, 5]
    assert "not valid" in q[3] and "utf-8" in q[3].lower()
    assert "死亡人数" in q[5] and "两" in q[5]


def test_fires_quoted_field_with_line_break_is_one_record(cfg):
    rows = [fire(fire_id="XF1", address="某路1号\n2单元"), fire(fire_id="XF2")]
    land(cfg, FIRE_FIRES, "fires_2019-W12.csv", BOM + csv_text(FIRE_HEADER, rows).encode("utf-8"))
    assert ingest_feed(FIRE_FIRES, cfg) == [FileResult("fires_2019-W12.csv", "loaded", 2, 2, 0)]


# --------------------------------------------------------------------------- traffic/road_accidents (JSONL)


def test_road_accidents_jsonl(cfg):
    lines = [
        # 1: good
        json.dumps({"accident_no": "JJ1", "occurred_at": "2019-03-05T14:20:00+08:00", "street": "石桥",
                    "road": "某路", "deaths_7d": 1, "injuries": 2, "vehicles": 2,
                    "reported_at": "2019-03-05T18:00:00+08:00"}, ensure_ascii=False),
        # 2: not valid JSON (cut off)
        '{"accident_no": "JJ2", "occurred_at": "2019-03-05T',
        # 3: blank, not a record
        "",
        # 4: good; UTC time, counts as strings, vehicles absent (optional)
        json.dumps({"accident_no": "JJ4", "occurred_at": "2019-03-05T20:00:00Z", "street": "天水",
                    "road": "某路", "deaths_7d": "0", "injuries": "３",
                    "reported_at": "2019-03-06T01:00:00Z"}, ensure_ascii=False),
        # 5: negative deaths
        json.dumps({"accident_no": "JJ5", "occurred_at": "2019-03-05T14:20:00+08:00", "deaths_7d": -1,
                    "injuries": 0, "reported_at": "2019-03-05T18:00:00+08:00"}),
        # 6: JSON but not an object
        "[1, 2, 3]",
        # 7: required key missing
        json.dumps({"accident_no": "JJ7", "occurred_at": "2019-03-05T14:20:00+08:00", "deaths_7d": 0,
                    "reported_at": "2019-03-05T18:00:00+08:00"}),
        # 8: boolean is not a count
        json.dumps({"accident_no": "JJ8", "occurred_at": "2019-03-05T14:20:00+08:00", "deaths_7d": True,
                    "injuries": 0, "reported_at": "2019-03-05T18:00:00+08:00"}),
    ]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    land(cfg, TRAFFIC_ROAD_ACCIDENTS, "road_accidents_20190305.jsonl", data)

    assert ingest_feed(TRAFFIC_ROAD_ACCIDENTS, cfg) == [
        FileResult("road_accidents_20190305.jsonl", "partial", 7, 2, 5)]
    load = load_of(cfg, TRAFFIC_ROAD_ACCIDENTS, "road_accidents_20190305.jsonl")
    got = [{k: v for k, v in r.items() if k != "_loaded_at"} for r in load.rows]
    lineage = {"_source_file": "road_accidents_20190305.jsonl", "_file_sha256": sha(data), "_file_version": 1}
    assert got == [
        {"accident_no": "JJ1", "occurred_at": datetime(2019, 3, 5, 14, 20), "street_raw": "石桥",
         "road": "某路", "deaths_7d": 1, "injuries": 2, "vehicles": 2,
         "reported_at": datetime(2019, 3, 5, 18, 0), "_row_number": 1, **lineage},
        {"accident_no": "JJ4", "occurred_at": datetime(2019, 3, 6, 4, 0), "street_raw": "天水",
         "road": "某路", "deaths_7d": 0, "injuries": 3, "vehicles": None,
         "reported_at": datetime(2019, 3, 6, 9, 0), "_row_number": 4, **lineage},
    ]
    q = {r["row_number"]: r for r in load.quarantine}
    assert sorted(q) == [2, 5, 6, 7, 8]  # line numbers of the file
    assert "not valid JSON" in q[2]["reason"]
    assert q[2]["raw_record"] == lines[1]
    assert "deaths_7d" in q[5]["reason"] and "negative" in q[5]["reason"]
    assert "not a JSON object" in q[6]["reason"]
    assert "injuries" in q[7]["reason"] and "empty" in q[7]["reason"]
    assert "deaths_7d" in q[8]["reason"] and "True" in q[8]["reason"]
    assert json.loads(q[7]["raw_record"])["accident_no"] == "JJ7"
    assert_all_reconcile(cfg)


# --------------------------------------------------------------------------- stats/economy (XLSX)


def test_economy_xlsx_with_merged_title_row(cfg):
    data = economy_book(
        [
            (2018, 985.6, 53.9, 28.1, "最终核实"),  # sheet row 3
            ("2019", "1,040.2", "54.4", None, "初步核算"),  # sheet row 4
            (2020, 1100, 55, 30, "预计"),  # sheet row 5: not a status of the agreement
            (None, None, None, None, None),  # sheet row 6: blank, not a record
            (2017, None, 53.0, 27.0, "最终核实"),  # sheet row 7: GDP missing (required)
        ],
        title="下城区地区生产总值（截至2020年3月10日）",
    )
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert [str(r) for r in book["地区生产总值"].merged_cells.ranges] == ["A1:E1"]
    land(cfg, STATS_ECONOMY, "economy_20200310.xlsx", data)

    assert ingest_feed(STATS_ECONOMY, cfg) == [FileResult("economy_20200310.xlsx", "partial", 4, 2, 2)]
    load = load_of(cfg, STATS_ECONOMY, "economy_20200310.xlsx")
    got = [{k: v for k, v in r.items() if k != "_loaded_at"} for r in load.rows]
    lineage = {"_source_file": "economy_20200310.xlsx", "_file_sha256": sha(data), "_file_version": 1}
    assert got == [
        {"year": 2018, "gdp_100m_yuan": 985.6, "population_10k": 53.9, "vehicles_10k": 28.1,
         "data_status": "最终核实", "_row_number": 3, **lineage},
        {"year": 2019, "gdp_100m_yuan": 1040.2, "population_10k": 54.4, "vehicles_10k": None,
         "data_status": "初步核算", "_row_number": 4, **lineage},
    ]
    q = {r["row_number"]: r for r in load.quarantine}
    assert sorted(q) == [5, 7]  # sheet rows
    assert "数据状态" in q[5]["reason"] and "预计" in q[5]["reason"]
    assert "地区生产总值(亿元)" in q[7]["reason"] and "empty" in q[7]["reason"]
    assert json.loads(q[5]["raw_record"])["年份"] == "2020"
    assert "row 2" in load.recon["notes"]  # header found below the title


def test_economy_xlsx_without_optional_vehicles_column(cfg):
    header = [h for h in ECO_HEADER if h != "机动车保有量(万辆)"]
    data = economy_book([(2018, 985.6, 53.9, "最终核实"), (2019, 1040, 54.4, "初步核算")], header=header)
    land(cfg, STATS_ECONOMY, "economy_20190310.xlsx", data)

    assert ingest_feed(STATS_ECONOMY, cfg) == [FileResult("economy_20190310.xlsx", "loaded", 2, 2, 0)]
    load = load_of(cfg, STATS_ECONOMY, "economy_20190310.xlsx")
    assert [(r["_row_number"], r["year"], r["gdp_100m_yuan"], r["population_10k"], r["vehicles_10k"],
             r["data_status"]) for r in load.rows] == [
        (2, 2018, 985.6, 53.9, None, "最终核实"), (3, 2019, 1040.0, 54.4, None, "初步核算")]
    assert "机动车保有量(万辆)" in load.recon["notes"]
    assert load.recon["status"] == "loaded"


def test_economy_xlsx_lacking_required_column(cfg):
    header = [h for h in ECO_HEADER if h != "地区生产总值(亿元)"]
    data = economy_book([(2018, 53.9, 28.1, "最终核实"), (2019, 54.4, 29.0, "初步核算")], header=header,
                        title="下城区地区生产总值")
    land(cfg, STATS_ECONOMY, "economy_20180310.xlsx", data)

    assert ingest_feed(STATS_ECONOMY, cfg) == [FileResult("economy_20180310.xlsx", "rejected", 2, 0, 2)]
    load = load_of(cfg, STATS_ECONOMY, "economy_20180310.xlsx")
    assert [q["row_number"] for q in load.quarantine] == [3, 4]
    assert all("地区生产总值(亿元)" in q["reason"] for q in load.quarantine)


def test_xlsx_binary_junk_is_rejected(cfg):
    junk = bytes(range(256)) * 8
    not_xlsx_zip = io.BytesIO()
    with zipfile.ZipFile(not_xlsx_zip, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    land(cfg, STATS_ECONOMY, "economy_20200101.xlsx", junk)
    land(cfg, STATS_ECONOMY, "economy_20200102.xlsx", not_xlsx_zip.getvalue())
    land(cfg, STATS_ECONOMY, "economy_20200103.xlsx", "年份,地区生产总值(亿元)\n2019,1\n".encode())

    assert ingest_feed(STATS_ECONOMY, cfg) == [
        FileResult("economy_20200101.xlsx", "rejected", 1, 0, 1),
        FileResult("economy_20200102.xlsx", "rejected", 1, 0, 1),
        FileResult("economy_20200103.xlsx", "rejected", 1, 0, 1),
    ]
    for name in ("economy_20200101.xlsx", "economy_20200102.xlsx", "economy_20200103.xlsx"):
        load = load_of(cfg, STATS_ECONOMY, name)
        assert load.rows == []
        assert len(load.quarantine) == 1
        q = load.quarantine[0]
        assert q["reason"].startswith("file rejected: not a readable XLSX workbook")
        assert q["raw_record"] == name
        assert load.recon["rows_delivered"] == 1 == load.recon["rows_quarantined"]
        assert "not a readable XLSX workbook" in load.recon["notes"]
    assert assert_all_reconcile(cfg) == 3


def test_xlsx_wrong_sheet_among_several_is_rejected(cfg):
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.create_sheet("GDP").append(ECO_HEADER)
    buf = io.BytesIO()
    book.save(buf)
    land(cfg, STATS_ECONOMY, "economy_20200201.xlsx", buf.getvalue())
    assert ingest_feed(STATS_ECONOMY, cfg) == [FileResult("economy_20200201.xlsx", "rejected", 1, 0, 1)]
    reason = load_of(cfg, STATS_ECONOMY, "economy_20200201.xlsx").quarantine[0]["reason"]
    assert "地区生产总值" in reason and "not found" in reason


# --------------------------------------------------------------------------- deliveries: reruns, duplicates, empties


def test_second_run_loads_nothing_and_changes_no_byte(cfg):
    land(cfg, EMB_ACCIDENTS, "accidents_201903.csv", accidents_file())
    land(cfg, EMB_ACCIDENTS, "accidents_201904.csv", b"")
    land(cfg, STATS_ECONOMY, "economy_20200101.xlsx", b"PK\x03\x04 junk")
    first = ingest_feed(EMB_ACCIDENTS, cfg) + ingest_feed(STATS_ECONOMY, cfg)
    assert [r.status for r in first] == ["partial", "empty", "rejected"]
    before = snapshot(cfg.raw)
    assert len(loads_only(before)) == 9  # 3 files x (rows, quarantine, reconciliation)
    assert len(before) == 9 + 2  # and the records each feed keeps of its loads

    assert ingest_feed(EMB_ACCIDENTS, cfg) == []
    assert ingest_feed(STATS_ECONOMY, cfg) == []
    assert snapshot(cfg.raw) == before

    # a new delivery loads alone; the earlier loads stay byte-identical
    land(cfg, EMB_ACCIDENTS, "accidents_201905.csv", csv_text(ACC_HEADER, [acc()]).encode("gb18030"))
    assert ingest_feed(EMB_ACCIDENTS, cfg) == [FileResult("accidents_201905.csv", "loaded", 1, 1, 0)]
    after = loads_only(snapshot(cfg.raw))
    assert {k: v for k, v in after.items() if k in before} == loads_only(before)
    assert len(after) == 12


def test_same_bytes_under_new_name_is_a_duplicate(cfg):
    data = accidents_file()
    land(cfg, EMB_ACCIDENTS, "accidents_201903.csv", data)
    assert ingest_feed(EMB_ACCIDENTS, cfg) == [FileResult("accidents_201903.csv", "partial", 7, 3, 4)]
    original = loads_only(snapshot(cfg.raw))

    land(cfg, EMB_ACCIDENTS, "accidents_201903_resent.csv", data)
    assert ingest_feed(EMB_ACCIDENTS, cfg) == [
        FileResult("accidents_201903_resent.csv", "duplicate", 7, 0, 7)]
    load = load_of(cfg, EMB_ACCIDENTS, "accidents_201903_resent.csv")
    assert load.dir.name == f"accidents_201903_resent.csv-{sha(data)[:12]}"
    assert load.rows == []
    assert [q["row_number"] for q in load.quarantine] == [2, 3, 4, 5, 6, 7, 8]
    for q in load.quarantine:
        assert "duplicate" in q["reason"] and "accidents_201903.csv" in q["reason"]
        assert q["file_name"] == "accidents_201903_resent.csv"
    by_row = {q["row_number"]: q for q in load.quarantine}
    # a row that was already broken in the original keeps its first reason too
    assert "发生时间" in by_row[5]["reason"] and "不详" in by_row[5]["reason"]
    assert json.loads(by_row[2]["raw_record"])["事故编号"] == "XC-AQ-2019-0001"
    assert load.recon["status"] == "duplicate"
    assert load.recon["duplicate_of"] == "accidents_201903.csv"
    assert (load.recon["rows_delivered"], load.recon["rows_loaded"], load.recon["rows_quarantined"]) == (7, 0, 7)
    # the original load is untouched
    assert {k: v for k, v in snapshot(cfg.raw).items() if k in original} == original
    assert ingest_feed(EMB_ACCIDENTS, cfg) == []
    assert assert_all_reconcile(cfg) == 2


def test_duplicate_within_one_run(cfg):
    data = BOM + csv_text(FIRE_HEADER, [fire(fire_id="XF1"), fire(fire_id="XF2")]).encode("utf-8")
    land(cfg, FIRE_FIRES, "fires_2019-W10.csv", data)
    land(cfg, FIRE_FIRES, "fires_2019-W10_copy.csv", data)
    assert ingest_feed(FIRE_FIRES, cfg) == [
        FileResult("fires_2019-W10.csv", "loaded", 2, 2, 0),
        FileResult("fires_2019-W10_copy.csv", "duplicate", 2, 0, 2),
    ]
    dup = load_of(cfg, FIRE_FIRES, "fires_2019-W10_copy.csv")
    assert dup.recon["duplicate_of"] == "fires_2019-W10.csv"
    assert all("fires_2019-W10.csv" in q["reason"] for q in dup.quarantine)


def test_duplicate_of_rejected_file_names_it(cfg):
    junk = b"\x00\x01 definitely not a workbook"
    land(cfg, STATS_ECONOMY, "economy_20200101.xlsx", junk)
    land(cfg, STATS_ECONOMY, "economy_20200102.xlsx", junk)
    assert ingest_feed(STATS_ECONOMY, cfg) == [
        FileResult("economy_20200101.xlsx", "rejected", 1, 0, 1),
        FileResult("economy_20200102.xlsx", "duplicate", 1, 0, 1),
    ]
    q = load_of(cfg, STATS_ECONOMY, "economy_20200102.xlsx").quarantine
    assert len(q) == 1 and "economy_20200101.xlsx" in q[0]["reason"]


def test_empty_files_are_empty_not_duplicates(cfg):
    land(cfg, EMB_ACCIDENTS, "accidents_201901.csv", b"")
    land(cfg, EMB_ACCIDENTS, "accidents_201902.csv", b"")
    header_only = (",".join(ACC_HEADER) + "\r\n").encode("gb18030")
    land(cfg, EMB_ACCIDENTS, "accidents_201903.csv", header_only)
    land(cfg, TRAFFIC_ROAD_ACCIDENTS, "road_accidents_20190101.jsonl", b"")
    land(cfg, TRAFFIC_ROAD_ACCIDENTS, "road_accidents_20190102.jsonl", b"\n\n")

    assert ingest_feed(EMB_ACCIDENTS, cfg) == [
        FileResult("accidents_201901.csv", "empty", 0, 0, 0),
        FileResult("accidents_201902.csv", "empty", 0, 0, 0),
        FileResult("accidents_201903.csv", "empty", 0, 0, 0),
    ]
    assert ingest_feed(TRAFFIC_ROAD_ACCIDENTS, cfg) == [
        FileResult("road_accidents_20190101.jsonl", "empty", 0, 0, 0),
        FileResult("road_accidents_20190102.jsonl", "empty", 0, 0, 0),
    ]
    empty_sha = sha(b"")
    for name in ("accidents_201901.csv", "accidents_201902.csv"):
        load = load_of(cfg, EMB_ACCIDENTS, name)
        assert load.dir.name == f"{name}-{empty_sha[:12]}"
        assert load.recon["status"] == "empty"
        assert load.recon["duplicate_of"] is None
        assert load.recon["file_bytes"] == 0
        assert load.rows == [] and load.quarantine == []
    # nothing to load again; a later real file with content is not a duplicate of an empty one
    assert ingest_feed(EMB_ACCIDENTS, cfg) == []
    assert assert_all_reconcile(cfg) == 5


def test_empty_xlsx_is_empty(cfg):
    land(cfg, STATS_ECONOMY, "economy_20200101.xlsx", b"")
    assert ingest_feed(STATS_ECONOMY, cfg) == [FileResult("economy_20200101.xlsx", "empty", 0, 0, 0)]


def test_partial_uploads_are_ignored(cfg):
    data = csv_text(ACC_HEADER, [acc()]).encode("gb18030")
    land(cfg, EMB_ACCIDENTS, "accidents_201903.csv.part", data)
    land(cfg, EMB_ACCIDENTS, ".accidents_201903.csv", data)
    land(cfg, EMB_ACCIDENTS, "accidents_201903.csv.tmp", data)
    (folder(cfg, EMB_ACCIDENTS) / "subdir").mkdir()
    assert ingest_feed(EMB_ACCIDENTS, cfg) == []
    assert not cfg.raw.exists()  # nothing was even started

    # the upload completes: renamed into its final name, it loads
    (folder(cfg, EMB_ACCIDENTS) / "accidents_201903.csv.part").rename(
        folder(cfg, EMB_ACCIDENTS) / "accidents_201903.csv")
    assert ingest_feed(EMB_ACCIDENTS, cfg) == [FileResult("accidents_201903.csv", "loaded", 1, 1, 0)]
    assert sorted(p.name for p in store.feed_dir(EMB_ACCIDENTS, cfg).iterdir()) == [
        store._KEPT_RECORDS, f"accidents_201903.csv-{sha(data)[:12]}"]


def test_no_landing_folder_loads_nothing(cfg):
    assert ingest_feed(EMB_ACCIDENTS, cfg) == []


def test_huge_count_is_quarantined_not_a_crash(cfg):
    rows = [acc(accident_id="XC-1"), acc(accident_id="XC-2", deaths="100000000000000000000")]
    land(cfg, EMB_ACCIDENTS, "accidents_201903.csv", csv_text(ACC_HEADER, rows).encode("gb18030"))
    assert ingest_feed(EMB_ACCIDENTS, cfg) == [FileResult("accidents_201903.csv", "partial", 2, 1, 1)]


# --------------------------------------------------------------------------- personal data in logs


def test_ingest_log_shows_no_phone_numbers(cfg, caplog):
    caplog.set_level(logging.DEBUG)
    land(cfg, EMB_ACCIDENTS, "accidents_201903.csv", accidents_file())
    land(cfg, EMB_ACCIDENTS, "accidents_201903_resent.csv", accidents_file())
    bad_line = csv_line(acc(accident_id="XC-9", contact_phone="13512345678")).encode("utf-8")
    land(cfg, EMB_ACCIDENTS, "accidents_201904.csv",
         csv_text(ACC_HEADER, [acc()]).encode("gb18030") + b"\xff" + bad_line)
    results = ingest_feed(EMB_ACCIDENTS, cfg)
    assert [r.status for r in results] == ["partial", "duplicate", "partial"]

    messages = [r.getMessage() for r in caplog.records]
    # the log does report each file ...
    for name in ("accidents_201903.csv", "accidents_201903_resent.csv", "accidents_201904.csv"):
        assert any(name in m and "delivered" in m for m in messages), messages
    # ... but shows no phone number nor contact name, although the raw layer keeps them
    text = "\n".join(messages) + caplog.text
    assert not PHONE.search(text), text
    for name in ("王某某", "李某某", "赵某某"):
        assert name not in text
    raw_q = load_of(cfg, EMB_ACCIDENTS, "accidents_201904.csv").quarantine
    assert [q["row_number"] for q in raw_q] == [3]
    assert "13512345678" in raw_q[0]["raw_record"]  # kept in the raw layer only


# --------------------------------------------------------------------------- the real samples


def test_real_samples_load_every_row(cfg):
    for src in sorted(SAMPLES.rglob("*")):
        if src.is_file():
            dst = cfg.landing / src.relative_to(SAMPLES)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())

    # cfg=None: ingest reads CITYSAFETY_HOME from the environment
    assert ingest_feed(EMB_ACCIDENTS) == [
        FileResult("accidents_201705.csv", "loaded", 2, 2, 0),
        FileResult("accidents_201705_corr1.csv", "loaded", 1, 1, 0),
    ]
    assert ingest_feed(FIRE_FIRES) == [FileResult("fires_2016-W46.csv", "loaded", 1, 1, 0)]
    assert ingest_feed(TRAFFIC_ROAD_ACCIDENTS) == [
        FileResult("road_accidents_20160731.jsonl", "loaded", 1, 1, 0),
        FileResult("road_accidents_20160813.jsonl", "loaded", 1, 1, 0),
    ]
    assert ingest_feed(STATS_ECONOMY) == [FileResult("economy_20200310.xlsx", "loaded", 2, 2, 0)]
    assert assert_all_reconcile(cfg) == 6

    acc_rows = load_of(cfg, EMB_ACCIDENTS, "accidents_201705.csv").rows
    assert [(r["accident_id"], r["occurred_at"], r["street_raw"], r["deaths"], r["serious_injuries"],
             r["minor_injuries"], r["direct_loss_10k_yuan"], r["reported_on"], r["_row_number"])
            for r in acc_rows] == [
        ("XC-AQ-2017-0004", datetime(2017, 5, 11, 1, 41), "石桥街道", 0, 0, 1, 503.7, date(2017, 5, 12), 2),
        ("XC-AQ-2017-0007", datetime(2017, 5, 21, 13, 7), "武林街道办事处", 3, 1, 2, 15.0, date(2017, 5, 22), 3),
    ]
    corr = load_of(cfg, EMB_ACCIDENTS, "accidents_201705_corr1.csv").rows
    assert [(r["accident_id"], r["occurred_at"], r["street_raw"], r["deaths"], r["reported_on"])
            for r in corr] == [
        ("XC-AQ-2017-0004", datetime(2017, 5, 11, 1, 41), "下城区石桥街道", 1, date(2017, 5, 28))]

    fires = load_of(cfg, FIRE_FIRES, "fires_2016-W46.csv").rows
    assert [(r["fire_id"], r["occurred_at"], r["street_raw"], r["place_type"], r["cause"], r["deaths"],
             r["injuries"], r["direct_loss_yuan"], r["reported_at"]) for r in fires] == [
        ("XF20160007", datetime(2016, 11, 17, 6, 18), "长庆", "住宅", "生产作业", 0, 0, 178691.0,
         datetime(2016, 11, 17, 12, 18))]

    road = (load_of(cfg, TRAFFIC_ROAD_ACCIDENTS, "road_accidents_20160731.jsonl").rows
            + load_of(cfg, TRAFFIC_ROAD_ACCIDENTS, "road_accidents_20160813.jsonl").rows)
    assert [(r["accident_no"], r["occurred_at"], r["street_raw"], r["deaths_7d"], r["injuries"],
             r["vehicles"], r["reported_at"]) for r in road] == [
        ("JJ201600012", datetime(2016, 7, 31, 14, 1), "下城区石桥街道", 1, 4, 3, datetime(2016, 7, 31, 17, 1)),
        ("JJ201600007", datetime(2016, 8, 13, 3, 48), "天水", 0, 3, 1, datetime(2016, 8, 13, 6, 48)),
    ]

    eco = load_of(cfg, STATS_ECONOMY, "economy_20200310.xlsx")
    assert [(r["year"], r["gdp_100m_yuan"], r["population_10k"], r["vehicles_10k"], r["data_status"],
             r["_row_number"]) for r in eco.rows] == [
        (2018, 985.6, 53.9, None, "最终核实", 2), (2019, 1040.0, 54.4, None, "初步核算", 3)]
    assert "机动车保有量(万辆)" in eco.recon["notes"]

    # and a second pass over the samples changes nothing
    before = snapshot(cfg.raw)
    for feed in (EMB_ACCIDENTS, FIRE_FIRES, TRAFFIC_ROAD_ACCIDENTS, STATS_ECONOMY):
        assert ingest_feed(feed) == []
    assert snapshot(cfg.raw) == before


def test_unchanged_files_are_not_read_again_and_a_changed_one_is(cfg, monkeypatch):
    """The stat cache (size, mtime) spares a day's run the year of files before it, like git's
    index; a rewrite of the same size under the same name is still seen (its mtime moved)."""
    import os
    import time

    head = ",".join(c.delivered for c in FIRE_FIRES.columns)
    path = land(cfg, FIRE_FIRES, "fires_2016-W01.csv", f"\ufeff{head}\nF-1,A\n".encode())
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    assert len(ingest_feed(FIRE_FIRES, cfg)) == 1

    read = []
    real = store.sha256_file
    monkeypatch.setattr(store, "sha256_file", lambda p: read.append(p.name) or real(p))
    assert ingest_feed(FIRE_FIRES, cfg) == [] and read == []

    path.write_bytes(f"\ufeff{head}\nF-2,B\n".encode())  # same size, new content
    os.utime(path, (an_hour_ago + 60, an_hour_ago + 60))
    again = ingest_feed(FIRE_FIRES, cfg)
    assert read == ["fires_2016-W01.csv"] and len(again) == 1
    assert len(store.loads(FIRE_FIRES, cfg)) == 2  # both contents, each once


def test_a_value_outside_a_columns_choices_is_quarantined(cfg):
    """Declared choices hold for every column that declares them, not only the choice kind."""
    header = [c.delivered for c in FIRE_FIRES.columns]
    rows = [fire(fire_id="XF-1"), fire(fire_id="XF-2", place_type="厂房"),
            fire(fire_id="XF-3", cause="电器"), fire(fire_id="XF-4", place_type="")]
    land(cfg, FIRE_FIRES, "fires_2019-W10.csv", ("\ufeff" + csv_text(header, rows)).encode())
    [result] = ingest_feed(FIRE_FIRES, cfg)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 2)
    got = load_of(cfg, FIRE_FIRES, "fires_2019-W10.csv")
    assert [r["fire_id"] for r in got.rows] == ["XF-1", "XF-4"]  # an optional column may be empty
    assert [q["reason"] for q in got.quarantine] == [
        "起火场所: not one of 住宅/商业/工业/仓储/公共场所/其他: '厂房'",
        "起火原因: not one of 电气/用火不慎/吸烟/放火/生产作业/其他/不明: '电器'",
    ]


def test_the_columnar_loader_takes_its_rules_from_the_registry(cfg):
    """Kind, required and choices of each registry column, not column names, make the Parquet
    rules: an optional column may be empty, a value outside the choices is quarantined."""
    import dataclasses

    import pyarrow as pa

    from citysafety import sources as S
    from citysafety.raw.columnar import load_parquet_file

    feed = dataclasses.replace(S.EMB_SENSOR_READINGS, feed="probe", columns=(
        S.Column("id", "probe_id", S.TEXT, required=True),
        S.Column("grade", "grade", S.TEXT, choices=("A", "B")),
        S.Column("at", "at", S.DATETIME),
        S.Column("level", "level", S.NUMBER),
    ))
    path = folder(cfg, feed) / "readings_20240101.parquet"
    pq.write_table(pa.table({
        "id": ["p1", "p2", "p3", None, "p5"],
        "grade": ["A", None, "C", "B", "B"],
        "at": ["2024-01-01T00:00:00Z", None, None, None, "soon"],
        "level": [1.5, None, 2.0, 3.0, None],
    }), path)
    result = load_parquet_file(feed, path, cfg)
    assert (result.rows_delivered, result.rows_loaded, result.rows_quarantined) == (5, 2, 3)
    [load] = store.loads(feed, cfg)
    rows = pq.read_table(load / "rows.parquet").to_pylist()
    assert [(r["probe_id"], r["grade"], r["level"]) for r in rows] == [("p1", "A", 1.5), ("p2", None, None)]
    reasons = [q["reason"] for q in pq.read_table(load / "quarantine.parquet").to_pylist()]
    assert reasons == ["grade: not one of A/B: 'C'", "id: required value is empty",
                       "at: unreadable date-time: 'soon'"]
