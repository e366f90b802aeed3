"""Hazard sources and the sensor feed end to end, on hand-made deliveries with hand-computed results.

- The Parquet ingest (citysafety.raw.columnar): quarantine reasons, rejected and duplicate
  files, wrong column types, lineage, and delivered = loaded + quarantined for every file.
- A real dbt build over two days of readings, then a third day delivered and built
  incrementally: only the new file is read, a late corrected reading merges two episodes, a
  late reading splits one, an episode left open at the end of day 2 is extended, and the marts
  equal, row by row, a `--full-refresh` build of the same data.

The scenario (local Asia/Shanghai times; files carry UTC; thresholds of the latest snapshot):

    P1 temperature, H1, 高报 50 / 高高 60
      05-01 10:00 40 | 10:01 55 | 10:02 58 | 10:03 45                  -> A 10:01-10:02
      05-01 23:58 52 | 23:59 61 || 05-02 00:00 57 | 00:01 49           -> B across midnight, 高高
      (23:59 sent again in the day-2 file)
      day 3: 05-03 09:00 40 | 09:01 70 | 09:02 40 | 12:00 41             -> F, 高高
    P2 pressure, H1, 1.0 / 1.5
      05-01 07:00 0.8
      05-02 08:00 0.8 | 08:01 1.2 | 08:02 1.3 | 08:03 0.9 | 08:04 1.1 | 08:05 1.4 | 08:06 0.7
                                                      -> D1 08:01-08:02, D2 08:04-08:05
      05-02 20:00 1.1 | 20:02 1.2 | 20:03 0.9           -> E 20:00-20:02
      day 3: 08:03 re-sent as 1.25 (latest wins)       -> D1 + D2 merge: 08:01-08:05, 5 readings
             20:01 0.95 (late, new)                    -> E splits: 20:00 and 20:02
             05-03 10:00 0.9
    P3 gas, H2, 20 / 50
      05-01 12:00 5 | 12:01 25 | 12:02 5               -> C
      05-02 09:00 4 | 23:59 22                          -> G open at the end of day 2
      day 3: 05-03 00:00 24 | 00:01 3 | 10:00 3 | 11:00 30   -> G extended to 00:00; H open
    P4 level, H2: never reports (coverage 1/2).  PX: not in the snapshot (no alarms).

Streets: the registry (emb/enterprises) puts H1's unit U1 in 武林街道 and H2's unit U2 in
城东新城片区 (no street: UNKNOWN, never DX); with the new hazard-source snapshot a new registry
moves U1 to 天水街道 and U2 to 东新街道, and every row of the sensor marts follows, the episodes
built in earlier runs too.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from citysafety.mart import build
from citysafety import config
from citysafety.raw import ingest, store
from citysafety import sources as S
from citysafety.mart.build import prepare_build
from citysafety.config import Settings

SENSORS = S.EMB_SENSOR_READINGS
HAZARDS = S.EMB_HAZARD_SOURCES
ENTERPRISES = S.EMB_ENTERPRISES
DBT_DIR = config.DBT_PROJECT_DIR
SELECT = ["+fct_sensor_alarm_episodes", "+agg_monitoring_coverage", "+agg_sensor_alarms_daily"]
MY_SUITES = ("raw/emb__hazard_sources.py", "marts/fct_sensor_alarm_episodes.py",
             "marts/agg_monitoring_coverage.py")


def utc(local: str | None) -> datetime | None:
    return None if local is None else datetime.fromisoformat(local) - timedelta(hours=8)


def t(local: str) -> datetime:
    return datetime.fromisoformat(local)


def write_readings(path: Path, rows: list[tuple], extra: dict | None = None) -> Path:
    """A delivery as the bureau writes it: point_id string, ts timestamp (UTC), value double."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {
        "point_id": pa.array([r[0] for r in rows], pa.string()),
        "ts": pa.array([utc(r[1]) for r in rows], pa.timestamp("ms", tz="UTC")),
        "value": pa.array([r[2] for r in rows], pa.float64()),
    }
    columns.update(extra or {})
    pq.write_table(pa.table(columns), path)
    return path


def landing(home: Path, feed: S.Feed) -> Path:
    folder = home / "landing" / feed.source / feed.feed
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ---------------------------------------------------------------------------------- ingest

def test_parquet_ingest_quarantines_rejects_and_reconciles(tmp_path):
    cfg = Settings(home=tmp_path)
    land = landing(tmp_path, SENSORS)
    write_readings(land / "readings_20260501.parquet", [
        ("P1", "2026-05-01 10:00", 40.0),
        (None, "2026-05-01 10:01", 41.0),
        ("\u3000 ", "2026-05-01 10:02", 42.0),
        (" P2 ", None, 1.0),
        ("P2", "2026-05-01 10:03", None),
        ("P3", "2026-05-01 10:04", math.nan),
        ("P3", "2026-05-01 10:05", math.inf),
        ("P1", "2026-05-01 10:00", 40.0),  # the same reading twice: loaded, deduplicated by dbt
    ], extra={"battery": pa.array([99] * 8, pa.int32())})
    shutil.copy(land / "readings_20260501.parquet", land / "readings_20260501_resend.parquet")
    (land / "readings_20260502.parquet").write_bytes(b"PAR1 this is not parquet")
    pq.write_table(pa.table({"point_id": ["P1"] * 3, "ts": [datetime(2026, 5, 3)] * 3}),
                   land / "readings_20260503.parquet")
    # Types the agreement did not ask for: integer ids, text times (with and without offset), text values.
    pq.write_table(pa.table({
        "point_id": pa.array([7, 8, 9, 10], pa.int64()),
        "ts": ["2026-05-04T08:00:00+08:00", "2026-05-04 01:00:00", "soon", "2026-05-04T02:00:00Z"],
        "value": ["1.5", "abc", "2", " -3.25 "],
    }), land / "readings_20260504.parquet")
    pq.write_table(pa.table({"point_id": ["P1", "P2"], "ts": [datetime(2026, 5, 5)] * 2, "value": [True, False]}),
                   land / "readings_20260505.parquet")
    (land / "readings_20260506.parquet").write_bytes(b"")

    results = ingest.ingest_feed(SENSORS, cfg)
    assert [(r.file_name, r.status, r.rows_delivered, r.rows_loaded, r.rows_quarantined) for r in results] == [
        ("readings_20260501.parquet", "partial", 8, 2, 6),
        ("readings_20260501_resend.parquet", "duplicate", 8, 0, 8),
        ("readings_20260502.parquet", "rejected", 1, 0, 1),
        ("readings_20260503.parquet", "rejected", 1, 0, 1),
        ("readings_20260504.parquet", "partial", 4, 2, 2),
        ("readings_20260505.parquet", "rejected", 2, 0, 2),
        ("readings_20260506.parquet", "empty", 0, 0, 0),
    ]
    assert ingest.ingest_feed(SENSORS, cfg) == []  # loading again changes nothing

    loads = {p.name.rsplit("-", 1)[0]: p for p in store.loads(SENSORS, cfg)}
    for folder in loads.values():
        recon = pq.read_table(folder / "reconciliation.parquet").to_pylist()[0]
        rows = pq.read_table(folder / "rows.parquet")
        bad = pq.read_table(folder / "quarantine.parquet")
        assert recon["rows_delivered"] == recon["rows_loaded"] + recon["rows_quarantined"]
        assert (rows.num_rows, bad.num_rows) == (recon["rows_loaded"], recon["rows_quarantined"])
        # names and types (DuckDB marks the columns it never leaves empty as required)
        assert [(f.name, f.type) for f in rows.schema] == \
            [(f.name, f.type) for f in store.raw_file_schema(SENSORS)]
        assert bad.schema.remove_metadata().equals(store.QUARANTINE)

    day1 = loads["readings_20260501.parquet"]
    rows = pq.read_table(day1 / "rows.parquet").to_pylist()
    # UTC as delivered; the row index in the file from 1; a reading sent twice is loaded twice
    assert [(r["point_id"], r["ts"], r["value"], r["_row_number"]) for r in rows] == [
        ("P1", datetime(2026, 5, 1, 2, 0), 40.0, 1), ("P1", datetime(2026, 5, 1, 2, 0), 40.0, 8)]
    assert "_source_file" not in rows[0] and "_file_sha256" not in rows[0]  # per file: attached below
    # the raw view prepare_build makes attaches the per-file lineage from the reconciliation
    with duckdb.connect() as con:
        viewed = con.execute(f"select * from ({build.raw_select(SENSORS, store.loads(SENSORS, cfg))}) "
                             "order by _source_file, _row_number").fetchall()
    recon1 = pq.read_table(day1 / "reconciliation.parquet").to_pylist()[0]
    assert [(r[0], r[3], r[4], r[5]) for r in viewed if r[3] == "readings_20260501.parquet"] == [
        ("P1", "readings_20260501.parquet", 1, recon1["file_sha256"]),
        ("P1", "readings_20260501.parquet", 8, recon1["file_sha256"])]
    assert len(viewed) == sum(pq.read_metadata(p / "rows.parquet").num_rows for p in store.loads(SENSORS, cfg))
    bad = {r["row_number"]: r for r in pq.read_table(day1 / "quarantine.parquet").to_pylist()}
    assert {n: r["reason"] for n, r in bad.items()} == {
        2: "point_id: required value is empty",
        3: "point_id: required value is empty",
        4: "ts: required value is empty",
        5: "value: required value is empty",
        6: "value: not a finite number: 'nan'",
        7: "value: not a finite number: 'inf'",
    }
    assert json.loads(bad[6]["raw_record"]) == {"point_id": "P3", "ts": "2026-05-01 02:04:00+00",
                                                "value": "nan", "battery": "99"}
    recon = pq.read_table(day1 / "reconciliation.parquet").to_pylist()[0]
    assert "columns not in the agreement, ignored: ['battery']" in recon["notes"]

    dup = pq.read_table(loads["readings_20260501_resend.parquet"] / "quarantine.parquet").to_pylist()
    assert all(r["reason"].startswith("duplicate delivery: identical content already loaded from "
                                      "readings_20260501.parquet") for r in dup)
    assert dup[2]["reason"].endswith("(there: point_id: required value is empty)")

    not_parquet = pq.read_table(loads["readings_20260502.parquet"] / "quarantine.parquet").to_pylist()
    assert not_parquet[0]["row_number"] == 0
    assert not_parquet[0]["reason"].startswith("file rejected: not a readable Parquet file")
    lacking = pq.read_table(loads["readings_20260503.parquet"] / "quarantine.parquet").to_pylist()
    assert lacking[0]["reason"].startswith("file rejected: lacks required columns ['value']")
    assert "3 rows not loaded" in lacking[0]["reason"]

    typed = loads["readings_20260504.parquet"]
    assert [(r["point_id"], r["ts"], r["value"]) for r in pq.read_table(typed / "rows.parquet").to_pylist()] == [
        ("7", datetime(2026, 5, 4, 0, 0), 1.5), ("10", datetime(2026, 5, 4, 2, 0), -3.25)]
    assert [r["reason"] for r in pq.read_table(typed / "quarantine.parquet").to_pylist()] == [
        "value: not a number: 'abc'", "ts: unreadable date-time: 'soon'"]
    assert "point_id delivered as BIGINT, read as text" in \
        pq.read_table(typed / "reconciliation.parquet").to_pylist()[0]["notes"]
    booleans = pq.read_table(loads["readings_20260505.parquet"] / "quarantine.parquet").to_pylist()
    assert {r["reason"] for r in booleans} == {"value: delivered as BOOLEAN, not a number"}


# ---------------------------------------------------------------------------------- dbt

HAZARD_HEADER = [c.delivered for c in HAZARDS.columns]
U1, U2 = "91330103MA2F1JCC6P", "913301039UPWFXR2XQ"
SNAPSHOT_JAN = [  # P1's 高报 was 45 then; P9 has been removed since
    ["H1", U1, "液氨储罐区", "三级", "P1", "temperature", "℃", "45", "60"],
    ["H1", U1, "液氨储罐区", "三级", "P9", "gas", "%LEL", "20", "50"],
    ["H1", U1, "液氨储罐区", "三级", "P2", "pressure", "MPa", "1.0", "1.5"],
    ["H2", U2, "甲醇储罐区", "四级", "P3", "gas", "%LEL", "20", "50"],
]
SNAPSHOT_APR = [
    ["H2", U2, "甲醇储罐区", "四级", "P3", "gas", "%LEL", "20", "50"],
    ["H1", U1, "液氨储罐区", "三级", "P1", "temperature", "℃", "50", "60"],
    ["H1", U1, "液氨储罐区", "三级", "P2", "pressure", "MPa", "1.0", "1.5"],
    ["H2", U2, "甲醇储罐区", "四级", "P4", "level", "m", "8", ""],
]
DAY1 = [
    ("P1", "2026-05-01 10:00", 40.0), ("P1", "2026-05-01 10:01", 55.0), ("P1", "2026-05-01 10:02", 58.0),
    ("P1", "2026-05-01 10:03", 45.0), ("P2", "2026-05-01 07:00", 0.8), ("P2", "2026-05-01 07:01", None),
    ("P3", "2026-05-01 12:00", 5.0), ("P3", "2026-05-01 12:01", 25.0), ("P3", "2026-05-01 12:02", 5.0),
    (" ", "2026-05-01 12:03", 1.0), ("PX", "2026-05-01 12:00", 999.0),
    ("P1", "2026-05-01 23:58", 52.0), ("P1", "2026-05-01 23:59", 61.0),
]
DAY2 = [
    ("P1", "2026-05-01 23:59", 61.0),  # sent again
    ("P1", "2026-05-02 00:00", 57.0), ("P1", "2026-05-02 00:01", 49.0),
    ("P2", "2026-05-02 08:00", 0.8), ("P2", "2026-05-02 08:01", 1.2), ("P2", "2026-05-02 08:02", 1.3),
    ("P2", "2026-05-02 08:03", 0.9), ("P2", "2026-05-02 08:04", 1.1), ("P2", "2026-05-02 08:05", 1.4),
    ("P2", "2026-05-02 08:06", 0.7),
    ("P2", "2026-05-02 20:00", 1.1), ("P2", "2026-05-02 20:02", 1.2), ("P2", "2026-05-02 20:03", 0.9),
    ("P3", "2026-05-02 09:00", 4.0), ("P3", "2026-05-02 09:01", math.nan), ("P3", "2026-05-02 23:59", 22.0),
]
DAY3 = [
    ("P2", "2026-05-02 08:03", 1.25),  # re-sent, corrected: merges D1 and D2
    ("P2", "2026-05-02 20:01", 0.95),  # late: splits E
    ("P3", "2026-05-03 00:00", 24.0), ("P3", "2026-05-03 00:01", 3.0),
    ("P1", "2026-05-03 09:00", 40.0), ("P1", "2026-05-03 09:01", 70.0), ("P1", "2026-05-03 09:02", 40.0),
    ("P1", "2026-05-03 09:03", math.inf),
    ("P2", "2026-05-03 10:00", 0.9), ("P3", "2026-05-03 10:00", 3.0), ("P3", "2026-05-03 11:00", 30.0),
    ("P1", "2026-05-03 12:00", 41.0),
]

EPISODE_COLUMNS = ("episode_id", "hazard_source_id", "started_at", "ended_at", "cleared_at", "readings",
                   "peak_value", "reached_high_high", "duration_minutes", "day")
EPISODES_DAY2 = [
    ("P1:2026-05-01T10:01:00", "H1", t("2026-05-01 10:01"), t("2026-05-01 10:02"), t("2026-05-01 10:03"), 2, 58.0, False, 1.0, date(2026, 5, 1)),
    ("P1:2026-05-01T23:58:00", "H1", t("2026-05-01 23:58"), t("2026-05-02 00:00"), t("2026-05-02 00:01"), 3, 61.0, True, 2.0, date(2026, 5, 1)),
    ("P2:2026-05-02T08:01:00", "H1", t("2026-05-02 08:01"), t("2026-05-02 08:02"), t("2026-05-02 08:03"), 2, 1.3, False, 1.0, date(2026, 5, 2)),
    ("P2:2026-05-02T08:04:00", "H1", t("2026-05-02 08:04"), t("2026-05-02 08:05"), t("2026-05-02 08:06"), 2, 1.4, False, 1.0, date(2026, 5, 2)),
    ("P2:2026-05-02T20:00:00", "H1", t("2026-05-02 20:00"), t("2026-05-02 20:02"), t("2026-05-02 20:03"), 2, 1.2, False, 2.0, date(2026, 5, 2)),
    ("P3:2026-05-01T12:01:00", "H2", t("2026-05-01 12:01"), t("2026-05-01 12:01"), t("2026-05-01 12:02"), 1, 25.0, False, 0.0, date(2026, 5, 1)),
    ("P3:2026-05-02T23:59:00", "H2", t("2026-05-02 23:59"), t("2026-05-02 23:59"), None, 1, 22.0, False, 0.0, date(2026, 5, 2)),
]
EPISODES_DAY3 = [
    EPISODES_DAY2[0], EPISODES_DAY2[1],
    ("P1:2026-05-03T09:01:00", "H1", t("2026-05-03 09:01"), t("2026-05-03 09:01"), t("2026-05-03 09:02"), 1, 70.0, True, 0.0, date(2026, 5, 3)),
    ("P2:2026-05-02T08:01:00", "H1", t("2026-05-02 08:01"), t("2026-05-02 08:05"), t("2026-05-02 08:06"), 5, 1.4, False, 4.0, date(2026, 5, 2)),
    ("P2:2026-05-02T20:00:00", "H1", t("2026-05-02 20:00"), t("2026-05-02 20:00"), t("2026-05-02 20:01"), 1, 1.1, False, 0.0, date(2026, 5, 2)),
    ("P2:2026-05-02T20:02:00", "H1", t("2026-05-02 20:02"), t("2026-05-02 20:02"), t("2026-05-02 20:03"), 1, 1.2, False, 0.0, date(2026, 5, 2)),
    EPISODES_DAY2[5],
    ("P3:2026-05-02T23:59:00", "H2", t("2026-05-02 23:59"), t("2026-05-03 00:00"), t("2026-05-03 00:01"), 2, 24.0, False, 1.0, date(2026, 5, 2)),
    ("P3:2026-05-03T11:00:00", "H2", t("2026-05-03 11:00"), t("2026-05-03 11:00"), None, 1, 30.0, False, 0.0, date(2026, 5, 3)),
]
# (hazard source, points, reporting, coverage, last reading, as-of)
COVERAGE_DAY2 = [("H1", 2, 2, 1.0, t("2026-05-02 20:03"), t("2026-05-02 23:59")),
                 ("H2", 2, 1, 0.5, t("2026-05-02 23:59"), t("2026-05-02 23:59"))]
COVERAGE_DAY3 = [("H1", 2, 2, 1.0, t("2026-05-03 12:00"), t("2026-05-03 12:00")),
                 ("H2", 2, 1, 0.5, t("2026-05-03 11:00"), t("2026-05-03 12:00"))]
# (day, source, points reporting, readings, alarm readings, points alarming, episodes, 高高 episodes, longest)
DAILY_DAY3 = [
    (date(2026, 5, 1), "H1", 2, 7, 4, 1, 2, 1, 2.0),
    (date(2026, 5, 1), "H2", 1, 3, 1, 1, 1, 0, 0.0),
    (date(2026, 5, 2), "H1", 2, 13, 8, 2, 3, 0, 4.0),
    (date(2026, 5, 2), "H2", 1, 2, 1, 1, 1, 0, 1.0),
    (date(2026, 5, 3), "H1", 2, 5, 1, 1, 1, 1, 0.0),
    (date(2026, 5, 3), "H2", 1, 4, 2, 1, 1, 0, 0.0),
]
MARTS = {
    "marts.fct_sensor_alarm_episodes": "episode_id",
    "marts.agg_monitoring_coverage": "hazard_source_id",
    "marts.agg_sensor_alarms_daily": "day, hazard_source_id",
}


def write_registry(home: Path, day: date, streets: dict[str, str]) -> None:
    """An enterprise registry snapshot (XLSX, merged title row) listing U1 and U2 in the given streets."""
    import openpyxl

    header = [c.delivered for c in ENTERPRISES.columns]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([f"下城区生产经营单位基础信息表（截至{day.year}年{day.month}月{day.day}日）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append(header)
    for code, name in ((U1, "液氨储运有限公司"), (U2, "甲醇化工有限公司")):
        ws.append([code, name, streets[code], "C 制造业", 50, "是", "二级", "否", None, "是"])
    wb.save(landing(home, ENTERPRISES) / f"enterprises_{day:%Y%m%d}.xlsx")


def write_snapshot(home: Path, name: str, rows: list[list[str]]) -> None:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows([HAZARD_HEADER, *rows])
    (landing(home, HAZARDS) / name).write_bytes(buf.getvalue().encode("utf-8"))


def ingest_and_prepare(cfg: Settings) -> dict:
    loaded = {f.feed: ingest.summarise(ingest.ingest_feed(f, cfg)) for f in (ENTERPRISES, HAZARDS, SENSORS)}
    prepare_build(cfg)  # a persistent build copy is refreshed again and again
    return loaded


def dbt_build(home: Path, *extra: str) -> None:
    from dbt.cli.main import dbtRunner

    res = dbtRunner().invoke([
        "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
        "--target-path", str(home / "target"), "--log-path", str(home / "logs"),
        "--select", *SELECT, *extra])
    failed = [f"{r.node.name}: {r.message}" for r in (res.result or []) if r.status not in ("success", "pass")]
    assert res.success, failed or res.exception


def connect(home: Path) -> duckdb.DuckDBPyConnection:
    # dbt runs in this process and keeps the build copy open: a second connection must use the
    # same configuration (read-write, as citysafety.mart.quality does). Short-lived, closed after use.
    return duckdb.connect(str(home / "build" / "citysafety.duckdb"))


def query(home: Path, sql: str) -> list[tuple]:
    con = connect(home)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def snapshot(home: Path) -> dict:
    """Every row of the marts, plus the incremental state, after a build."""
    out = {table: query(home, f"select * from {table} order by {key}") for table, key in MARTS.items()}
    out["episodes"] = query(home, f"select {', '.join(EPISODE_COLUMNS)} from marts.fct_sensor_alarm_episodes "
                                  "order by point_id, started_at")
    out["coverage"] = query(home, """select hazard_source_id, points, points_reporting_24h, coverage_24h,
                                            last_reading_at, as_of_time
                                     from marts.agg_monitoring_coverage order by 1""")
    out["daily"] = query(home, """select day, hazard_source_id, points_reporting, readings, alarm_readings,
                                         points_alarming, episodes, high_high_episodes, longest_episode_minutes
                                  from marts.agg_sensor_alarms_daily order by 1, 2""")
    out["readings"] = query(home, """select point_id, ts_local, value, deliveries, source_file
                                     from intermediate.int_sensor_readings_deduplicated order by 1, 2""")
    out["point_days"] = query(home, """select point_id, day, readings, alarm_readings, first_reading_at,
                                              last_reading_at, high_threshold
                                       from intermediate.int_sensor_point_days_summarised order by 1, 2""")
    out["streets"] = query(home, """
        select 'coverage', hazard_source_id, street_code, count(*) from marts.agg_monitoring_coverage group by all
        union all select 'daily', hazard_source_id, street_code, count(*) from marts.agg_sensor_alarms_daily group by all
        union all select 'episodes', hazard_source_id, street_code, count(*) from marts.fct_sensor_alarm_episodes
        group by all order by all""")
    out["files"] = query(home, """select file_name, processed_at from intermediate.sensor_files_processed
                                  order by processed_at, file_name""")
    out["last_batch"] = query(home, """select source_file, count(*) from intermediate.int_sensor_readings_deduplicated
                                       where processed_at = (select max(processed_at)
                                                             from intermediate.int_sensor_readings_deduplicated)
                                       group by 1""")
    return out


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Days 1-2 built from scratch; day 3 ingested and built incrementally; then a full refresh."""
    home = tmp_path_factory.mktemp("sensors")
    mp = pytest.MonkeyPatch()
    mp.setenv("CITYSAFETY_HOME", str(home))
    cfg = Settings(home=home)
    try:
        write_registry(home, date(2026, 1, 31), {U1: "武林街道", U2: "城东新城片区"})
        write_snapshot(home, "hazard_sources_20260101.csv", SNAPSHOT_JAN)
        write_snapshot(home, "hazard_sources_20260401.csv", SNAPSHOT_APR)
        land = landing(home, SENSORS)
        write_readings(land / "readings_20260501.parquet", DAY1)
        write_readings(land / "readings_20260502.parquet", DAY2)
        shutil.copy(land / "readings_20260501.parquet", land / "readings_20260501_resend.parquet")
        first_load = ingest_and_prepare(cfg)
        dbt_build(home)
        first = snapshot(home)

        write_readings(land / "readings_20260503.parquet", DAY3)
        second_load = ingest_and_prepare(cfg)
        dbt_build(home)
        incremental = snapshot(home)
        compiled = next((home / "target" / "compiled").rglob("int_sensor_readings_deduplicated.sql")).read_text()
        validated = validate_my_suites(home)

        dbt_build(home, "--full-refresh")
        full = snapshot(home)

        # A new snapshot raises P2's 高报 to 1.25 and drops P4: P2's alarms are recounted. A new
        # registry moves U1 (H1) to 天水街道 and U2 (H2) to 东新街道.
        write_snapshot(home, "hazard_sources_20260502.csv",
                       [r if r[4] != "P2" else [*r[:7], "1.25", "1.5"] for r in SNAPSHOT_APR if r[4] != "P4"])
        write_registry(home, date(2026, 5, 2), {U1: "天水街道", U2: "东新街道"})
        ingest_and_prepare(cfg)
        dbt_build(home)
        revised = snapshot(home)
        dbt_build(home, "--full-refresh")
        revised_full = snapshot(home)
        yield {"home": home, "first_load": first_load, "second_load": second_load, "first": first,
               "incremental": incremental, "full": full, "compiled": compiled, "validated": validated,
               "revised": revised, "revised_full": revised_full}
    finally:
        mp.undo()


def validate_my_suites(home: Path) -> dict[str, bool]:
    """Run this feed's Great Expectations suites on the build copy (pandas route)."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("sensors")
    out = {}
    for rel in MY_SUITES:
        path = config.EXPECTATIONS_DIR / rel
        spec = importlib.util.spec_from_file_location(f"expectations_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.TABLE == f"{path.parent.name}.{path.stem}"
        con = connect(home)
        try:
            frame = con.sql(getattr(module, "QUERY", f"select * from {module.TABLE}")).df()
        finally:
            con.close()
        assert len(frame), module.TABLE
        batch = source.add_dataframe_asset(path.stem).add_batch_definition_whole_dataframe("all") \
            .get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(module.suite())
        out[module.TABLE] = bool(result.success)
        failed = [r.expectation_config.type for r in result.results if not r.success]
        assert result.success, (module.TABLE, failed)
    return out


def test_ingest_of_the_scenario_adds_up(builds):
    assert builds["first_load"]["sensor_readings"] == {
        "files": 3, "by_status": {"duplicate": 1, "partial": 2}, "rows_delivered": 13 + 16 + 13,
        "rows_loaded": 11 + 15, "rows_quarantined": 2 + 1 + 13}
    assert builds["first_load"]["hazard_sources"]["rows_loaded"] == 8
    assert builds["second_load"]["sensor_readings"] == {
        "files": 1, "by_status": {"partial": 1}, "rows_delivered": 12, "rows_loaded": 11, "rows_quarantined": 1}
    reasons = query(builds["home"], """select file_name, row_number, reason from audit.quarantine
                                       where feed = 'sensor_readings' and file_name not like '%resend%'
                                       order by 1, 2""")
    assert reasons == [
        ("readings_20260501.parquet", 6, "value: required value is empty"),
        ("readings_20260501.parquet", 10, "point_id: required value is empty"),
        ("readings_20260502.parquet", 15, "value: not a finite number: 'nan'"),
        ("readings_20260503.parquet", 8, "value: not a finite number: 'inf'"),
    ]


def test_first_build_episodes_and_coverage(builds):
    first = builds["first"]
    assert first["episodes"] == EPISODES_DAY2
    assert first["coverage"] == COVERAGE_DAY2
    assert len(first["readings"]) == 11 + 15 - 1  # the repeated 23:59 reading counts once
    p1_2359 = [r for r in first["readings"] if r[0] == "P1" and r[1] == t("2026-05-01 23:59")]
    assert p1_2359 == [("P1", t("2026-05-01 23:59"), 61.0, 2, "readings_20260502.parquet")]


def test_incremental_run_reads_only_the_new_file(builds):
    inc = builds["incremental"]
    batches = {}
    for name, stamp in inc["files"]:
        batches.setdefault(stamp, []).append(name)
    assert list(batches.values()) == [["readings_20260501.parquet", "readings_20260502.parquet"],
                                      ["readings_20260503.parquet"]]
    # every row the second run wrote came from the day-3 file: 11 readings, one replacing 08:03
    assert inc["last_batch"] == [("readings_20260503.parquet", 11)]
    assert "files not processed yet: readings_20260503.parquet" in builds["compiled"]
    assert len(inc["readings"]) == 11 + 15 - 1 + 11 - 1
    p2_0803 = [r for r in inc["readings"] if r[0] == "P2" and r[1] == t("2026-05-02 08:03")]
    assert p2_0803 == [("P2", t("2026-05-02 08:03"), 1.25, 2, "readings_20260503.parquet")]


def test_incremental_episodes_merge_split_and_extend(builds):
    inc = builds["incremental"]
    assert inc["episodes"] == EPISODES_DAY3
    assert inc["coverage"] == COVERAGE_DAY3
    assert inc["daily"] == DAILY_DAY3
    p3 = [r for r in inc["point_days"] if r[0] in ("P3", "PX")]
    assert p3 == [
        ("P3", date(2026, 5, 1), 3, 1, t("2026-05-01 12:00"), t("2026-05-01 12:02"), 20.0),
        ("P3", date(2026, 5, 2), 2, 1, t("2026-05-02 09:00"), t("2026-05-02 23:59"), 20.0),
        ("P3", date(2026, 5, 3), 4, 2, t("2026-05-03 00:00"), t("2026-05-03 11:00"), 20.0),
        ("PX", date(2026, 5, 1), 1, 0, t("2026-05-01 12:00"), t("2026-05-01 12:00"), None),
    ]


def test_incremental_equals_full_refresh(builds):
    inc, full = builds["incremental"], builds["full"]
    for table in MARTS:
        assert inc[table] == full[table], table
    for part in ("readings", "point_days"):
        assert inc[part] == full[part], part
    assert full["episodes"] == EPISODES_DAY3
    # the full refresh read every file again, in one batch
    assert [name for name, _ in full["files"]] == ["readings_20260501.parquet", "readings_20260502.parquet",
                                                  "readings_20260503.parquet"]
    assert len({stamp for _, stamp in full["files"]}) == 1


def test_quality_suites_pass(builds):
    assert builds["validated"] == {"raw.emb__hazard_sources": True, "marts.fct_sensor_alarm_episodes": True,
                                   "marts.agg_monitoring_coverage": True}
    schemas = {r[0] for r in query(builds["home"], "select distinct schema_name from duckdb_tables() "
                                                   "where table_name like '%sensor%' or table_name like '%hazard%'")}
    assert schemas <= {"raw", "staging", "intermediate", "marts"}


def test_sensor_rows_follow_the_street_of_their_unit(builds):
    """street_code of the three sensor marts is the registry's street of the unit operating the
    hazard source (by credit code), mapped exactly; when the registry moves the units, every row
    follows on the next incremental build, episodes built by earlier runs included."""
    def streets(snap):
        return {(table, source): street for table, source, street, _ in snap["streets"]}

    before = {(t, "H1"): "WL" for t in ("coverage", "daily", "episodes")}
    before.update({(t, "H2"): "UNKNOWN" for t in ("coverage", "daily", "episodes")})  # 城东新城片区 is no street
    assert streets(builds["first"]) == streets(builds["incremental"]) == streets(builds["full"]) == before
    after = {(t, "H1"): "TS" for t in ("coverage", "daily", "episodes")}
    after.update({(t, "H2"): "DX" for t in ("coverage", "daily", "episodes")})
    assert streets(builds["revised"]) == streets(builds["revised_full"]) == after
    episodes = {source: n for table, source, _, n in builds["revised"]["streets"] if table == "episodes"}
    assert episodes == {"H1": 5, "H2": 3}  # every episode moved, the old ones too


def test_new_thresholds_recount_the_point_incrementally(builds):
    revised, full = builds["revised"], builds["revised_full"]
    p2 = [r for r in revised["episodes"] if r[0].startswith("P2:")]
    assert p2 == [
        ("P2:2026-05-02T08:02:00", "H1", t("2026-05-02 08:02"), t("2026-05-02 08:02"), t("2026-05-02 08:03"), 1, 1.3, False, 0.0, date(2026, 5, 2)),
        ("P2:2026-05-02T08:05:00", "H1", t("2026-05-02 08:05"), t("2026-05-02 08:05"), t("2026-05-02 08:06"), 1, 1.4, False, 0.0, date(2026, 5, 2)),
    ]
    assert [r for r in revised["episodes"] if not r[0].startswith("P2:")] == \
        [r for r in EPISODES_DAY3 if not r[0].startswith("P2:")]
    assert revised["coverage"] == [COVERAGE_DAY3[0], ("H2", 1, 1, 1.0, t("2026-05-03 11:00"), t("2026-05-03 12:00"))]
    assert [r for r in revised["daily"] if r[0] == date(2026, 5, 2) and r[1] == "H1"] == [
        (date(2026, 5, 2), "H1", 2, 13, 3, 2, 2, 0, 0.0)]
    for table in MARTS:
        assert revised[table] == full[table], table
    assert revised["point_days"] == full["point_days"]
