"""A small hand-made delivery set for the four spine feeds, with every defect of their agreements.

Expected numbers (hand-computed from the rows below, see EXPECTED) are what the published mart
must say. Events:

emb/accidents (GB18030)
  A-2016-1  2016-01-05 10:00      武林街道        1 death, loss "1,234.5" 万元             -> emb, WL
  A-2016-2  2016/1/10 8:30        下城区天水街道   0 deaths, corrected to 1 (corr1, later)  -> emb, TS, 1
  A-2016-3  2016年1月20日 14时20分 "　朝晖 "       火灾, unit U3, 2 deaths                  -> same event as fire F-2016-1 (same unit, same date): counted there (1)
  A-2016-4  2016-02-01 09:00      武林街道办事处   related JJ-2016-1, 1 death              -> counted under traffic JJ-2016-1 (1)
  A-2016-5  发生时间 "不详"                                                                -> quarantined
  A-2016-6  死亡人数 "1.5"                                                                 -> quarantined
  A-2016-7  2016-03-01 10:00      城东            related XF-NOPE (never delivered), 1     -> emb, UNKNOWN street
  A-2020-1  2020-05-05 10:00      石桥            1 death                                  -> emb, SQ
fire/fires (UTF-8 with BOM; loss in yuan)
  F-2016-1  2016-01-20 13:00  朝晖  unit u3 (lower case), 1 death, 250,000 yuan -> 25 万元, CH
  F-2016-2  2016-01-21 02:00  潮鸣街道  0 deaths, re-reported next week with 1 -> 1, CM
  one line with 10 fields                                                     -> quarantined
  fires_2016-W04_resend.csv = the same bytes as fires_2016-W04.csv            -> duplicate, quarantined
  F-2020-1  2020-06-01  0 deaths, WH
traffic/road_accidents (JSON Lines, ISO with offset)
  JJ-2016-1  2016-02-01T09:00+08:00  石桥  1 death, SQ
  JJ-2016-2  2016-01-31T17:30Z (= 2016-02-01 01:30 Shanghai)  0 deaths, re-reported 2 -> DX
  JJ-2016-3  2016-12-31T17:00Z (= 2017-01-01 01:00 Shanghai: counts in 2017)  1 death, TS
  "{bad json"                                                                 -> quarantined
  JJ-2020-1  2020-03-01  2 deaths, WL
stats/economy (XLSX)
  2016: 初步核算 1000 (2017 file), 最终核实 800 (2018 file, with a title row) -> 800
  2017: 初步核算 900 (2018 file)                                             -> 900
  2020: 初步核算 1000 (20210310), 初步核算 1250 (20210915, newer)            -> 1250
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl

from citysafety.sources import EMB_ACCIDENTS, FIRE_FIRES, STATS_ECONOMY

EXPECTED_KPI = {
    # year: (workplace, fire, road, total, gdp)
    2016: (3, 2, 3, 8, 800.0),
    2017: (0, 0, 1, 1, 900.0),
    2018: (0, 0, 0, 0, None),
    2019: (0, 0, 0, 0, None),
    2020: (1, 0, 2, 3, 1250.0),
}
EXPECTED_DEATHS_BY_STREET_2016 = {"WL": 1, "TS": 1, "UNKNOWN": 1, "CH": 1, "CM": 1, "SQ": 1, "DX": 2}
EXPECTED_EVENTS = 11
EXPECTED_QUARANTINE = {("emb", "accidents"): 2, ("fire", "fires"): 2,
                       ("traffic", "road_accidents"): 1, ("stats", "economy"): 0}
EXPECTED_FILES = 14  # emb 3, fire 4, traffic 3, stats 4


def _csv(rows: list[list[str]]) -> str:
    return "\r\n".join(",".join(r) for r in rows) + "\r\n"


def _accident(aid, when, street, uscc, category, deaths, serious, minor, loss, related, reported):
    return [aid, when, street, uscc, f"杭州某某{aid[-1]}有限公司", "C 制造业", category, deaths,
            serious, minor, loss, "一般", related, "张某某", "13912345678", reported]


def write_spine(landing: Path) -> None:
    emb = landing / "emb" / "accidents"
    fire = landing / "fire" / "fires"
    traffic = landing / "traffic" / "road_accidents"
    stats = landing / "stats" / "economy"
    for d in (emb, fire, traffic, stats):
        d.mkdir(parents=True, exist_ok=True)

    head = [c.delivered for c in EMB_ACCIDENTS.columns]
    (emb / "accidents_201601.csv").write_bytes(_csv([head,
        _accident("A-2016-1", "2016-01-05 10:00", "武林街道", "91330103U1", "物体打击", "1", "0", "1", '"1,234.5"', "", "2016-01-06"),
        _accident("A-2016-2", "2016/1/10 8:30", "下城区天水街道", "", "高处坠落", "0", "1", "0", "12.5", "", "2016-01-11"),
        _accident("A-2016-3", "2016年1月20日 14时20分", "　朝晖 ", "91330103U3", "火灾", "2", "0", "0", "30", "", "2016-01-21"),
        _accident("A-2016-4", "2016-02-01 09:00", "武林街道办事处", "91330103U4", "车辆伤害", "1", "0", "0", "5", "JJ-2016-1", "2016-02-02"),
        _accident("A-2016-5", "不详", "武林", "", "触电", "0", "0", "1", "1", "", "2016-02-03"),
        _accident("A-2016-6", "2016-02-04 10:00", "武林", "", "触电", "1.5", "0", "0", "1", "", "2016-02-05"),
        _accident("A-2016-7", "2016-03-01 10:00", "城东", "", "坍塌", "1", "0", "0", "8", "XF-NOPE", "2016-03-02"),
    ]).encode("gb18030"))
    (emb / "accidents_201601_corr1.csv").write_bytes(_csv([head,
        _accident("A-2016-2", "2016年1月10日 8时30分", "天水", "", "高处坠落", "1", "0", "0", "12.5", "", "2016-01-25"),
    ]).encode("gb18030"))
    (emb / "accidents_202005.csv").write_bytes(_csv([head,
        _accident("A-2020-1", "2020-05-05 10:00", "石桥", "", "机械伤害", "1", "0", "0", "3", "", "2020-05-06"),
    ]).encode("gb18030"))

    fhead = [c.delivered for c in FIRE_FIRES.columns]
    bom = "\ufeff"
    (fire / "fires_2016-W03.csv").write_bytes((bom + _csv([fhead,
        ["F-2016-1", "2016-01-20T13:00:00", "朝晖", "某路1号", "工业", "电气", "91330103u3", "1", "0", "250000", "2016-01-20T18:00:00"],
        ["F-2016-2", "2016-01-21T02:00:00", "潮鸣街道", "某路2号", "住宅", "用火不慎", "", "0", "1", '"1,000"', "2016-01-21T08:00:00"],
        ["F-2016-9", "2016-01-22T02:00:00", "潮鸣街道", "某路3号", "住宅", "不明", "0", "0", "100", "2016-01-22T08:00:00"],
    ])).encode("utf-8"))
    w04 = (bom + _csv([fhead,
        ["F-2016-2", "2016-01-21T02:00:00", "潮鸣", "某路2号", "住宅", "用火不慎", "", "1", "0", '"1,000"', "2016-01-26T09:00:00"],
    ])).encode("utf-8")
    (fire / "fires_2016-W04.csv").write_bytes(w04)
    (fire / "fires_2016-W04_resend.csv").write_bytes(w04)
    (fire / "fires_2020-W23.csv").write_bytes((bom + _csv([fhead,
        ["F-2020-1", "2020-06-01T10:00:00", "文晖街道", "某路4号", "商业", "吸烟", "", "0", "0", "5000", "2020-06-01T12:00:00"],
    ])).encode("utf-8"))

    def jl(**kw):
        return json.dumps(kw, ensure_ascii=False)

    (traffic / "road_accidents_20160201.jsonl").write_text("\n".join([
        jl(accident_no="JJ-2016-1", occurred_at="2016-02-01T09:00:00+08:00", street="石桥", road="某路",
           deaths_7d=1, injuries=2, vehicles=2, reported_at="2016-02-01T12:00:00+08:00"),
        jl(accident_no="JJ-2016-2", occurred_at="2016-01-31T17:30:00Z", street="下城区东新街道", road="某路",
           deaths_7d=0, injuries=3, vehicles=2, reported_at="2016-01-31T19:00:00Z"),
        '{bad json',
    ]) + "\n", encoding="utf-8")
    (traffic / "road_accidents_20160205.jsonl").write_text("\n".join([
        jl(accident_no="JJ-2016-2", occurred_at="2016-02-01T01:30:00+08:00", street="东新", road="某路",
           deaths_7d=2, injuries=1, vehicles=2, reported_at="2016-02-05T10:00:00+08:00"),
        jl(accident_no="JJ-2016-3", occurred_at="2016-12-31T17:00:00Z", street="天水", road="某路",
           deaths_7d=1, injuries=0, vehicles=1, reported_at="2016-12-31T18:00:00Z"),
    ]) + "\n", encoding="utf-8")
    (traffic / "road_accidents_20200301.jsonl").write_text(jl(
        accident_no="JJ-2020-1", occurred_at="2020-03-01T08:00:00+08:00", street="武林", road="某路",
        deaths_7d=2, injuries=0, vehicles=3, reported_at="2020-03-01T09:00:00+08:00") + "\n",
        encoding="utf-8")

    def workbook(name, rows, title=None, vehicles=False):
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = STATS_ECONOMY.sheet
        header = ["年份", "地区生产总值(亿元)", "常住人口(万人)"] + (["机动车保有量(万辆)"] if vehicles else []) + ["数据状态"]
        if title:
            ws.append([title])
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        ws.append(header)
        for r in rows:
            ws.append(r)
        wb.save(stats / name)

    workbook("economy_20170310.xlsx", [[2016, 1000, 52.0, "初步核算"]])
    workbook("economy_20180310.xlsx", [[2016, 800, 52.5, "最终核实"], [2017, 900, 53.0, "初步核算"]],
             title="下城区地区生产总值（截至2018年3月10日）")
    workbook("economy_20210310.xlsx", [[2020, 1000, 54.0, 30.0, "初步核算"]], vehicles=True)
    workbook("economy_20210915.xlsx", [[2020, 1250, 54.1, "初步核算"]])


def road_files(landing: Path, n: int, start: int = 0) -> None:
    """Road-accident files number `start` to `n - 1`, one small JSON Lines file each (a larger
    delivery set: enough files that a kill can land in the middle of their ingest)."""
    folder = landing / "traffic" / "road_accidents"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, n):
        day = f"2018{1 + i // 28 % 12:02d}{1 + i % 28:02d}"
        line = {"accident_no": f"JJ-R-{i:05d}", "occurred_at": f"{day[:4]}-{day[4:6]}-{day[6:]}T08:00:00+08:00",
                "street": "武林", "road": "某路", "deaths_7d": i % 3 == 0, "injuries": 1,
                "vehicles": 2, "reported_at": f"{day[:4]}-{day[4:6]}-{day[6:]}T09:00:00+08:00"}
        line["deaths_7d"] = int(line["deaths_7d"])
        (folder / f"road_accidents_{day}_{i:05d}.jsonl").write_text(
            json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")


def write_gate_breaker(landing: Path) -> None:
    """A delivery that the agreement accepts but the quality gate must stop: 150 deaths."""
    head = [c.delivered for c in EMB_ACCIDENTS.columns]
    (landing / "emb" / "accidents" / "accidents_202006.csv").write_bytes(_csv([head,
        _accident("A-2020-9", "2020-06-09 10:00", "石桥", "", "坍塌", "150", "0", "0", "3", "", "2020-06-10"),
    ]).encode("gb18030"))


def copy_samples(samples: Path, landing: Path) -> None:
    shutil.copytree(samples, landing, dirs_exist_ok=True)
