"""The seeded demo delivery generator (demo): bytes, registry conformance, defects."""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import re
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import openpyxl
import pytest

from demo.generate import generate
from citysafety.sources import all_feeds, EMB_ACCIDENTS, FIRE_FIRES, STATS_ECONOMY, TRAFFIC_ROAD_ACCIDENTS

SEED = 20180101
END = date(2020, 12, 31)
FEEDS = (EMB_ACCIDENTS, FIRE_FIRES, TRAFFIC_ROAD_ACCIDENTS, STATS_ECONOMY)
CST = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    a, b = tmp_path_factory.mktemp("home_a"), tmp_path_factory.mktemp("home_b")
    return a, b, generate(a, SEED, END), generate(b, SEED, END)


@pytest.fixture(scope="module")
def landing(homes):
    return homes[0] / "landing"


def _all_files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _folder(landing, feed):
    return landing / feed.source / feed.feed


def _header(feed):
    return [c.delivered for c in feed.columns]


def _csv_rows(landing, feed):
    """(file name, fields) for every data line of every file of a CSV feed."""
    out = []
    for path in sorted(_folder(landing, feed).glob(feed.file_glob)):
        text = path.read_bytes().decode(feed.encoding)
        lines = list(csv.reader(io.StringIO(text, newline="")))
        assert lines[0] == _header(feed), path.name
        out += [(path.name, fields) for fields in lines[1:]]
    return out


def _jsonl_lines(landing):
    out = []
    for path in sorted(_folder(landing, TRAFFIC_ROAD_ACCIDENTS).glob(TRAFFIC_ROAD_ACCIDENTS.file_glob)):
        out += [(path.name, line) for line in path.read_text("utf-8").split("\n") if line]
    return out


def _json(line):
    try:
        return json.loads(line)
    except ValueError:
        return None


# ------------------------------------------------------------------ reading the deliveries as the rules say

EMB_TIME = (
    (re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{1,2}):(\d{2})$"), "dash"),
    (re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2}) (\d{1,2}):(\d{2})$"), "slash"),
    (re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日 (\d{1,2})时(\d{1,2})分$"), "chinese"),
)


def _emb_time(text):
    for pattern, kind in EMB_TIME:
        m = pattern.match(text)
        if m:
            try:
                return datetime(*map(int, m.groups())), kind
            except ValueError:
                return None, None
    return None, None


def _iso(text):
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(CST).replace(tzinfo=None) if t.tzinfo else t


def latest(landing):
    """Latest-report-wins versions per feed, malformed (quarantine-bound) rows left out."""
    emb, fires, roads = {}, {}, {}
    for _, f in _csv_rows(landing, EMB_ACCIDENTS):
        at, _ = _emb_time(f[1])
        if len(f) == 16 and at and all(re.fullmatch(r"\d+", v) for v in f[7:10]):
            if f[0] not in emb or f[15] > emb[f[0]]["reported"]:
                emb[f[0]] = {"at": at, "deaths": int(f[7]), "uscc": f[3], "category": f[6], "related": f[12],
                             "reported": f[15]}
    for _, f in _csv_rows(landing, FIRE_FIRES):
        if len(f) == 11 and _iso(f[1]) and _iso(f[10]):
            if f[0] not in fires or _iso(f[10]) > fires[f[0]]["reported"]:
                fires[f[0]] = {"at": _iso(f[1]), "deaths": int(f[7]), "uscc": f[6], "reported": _iso(f[10])}
    for _, line in _jsonl_lines(landing):
        r = _json(line)
        if r is None:
            continue
        no, reported = r["accident_no"], _iso(r["reported_at"])
        if no not in roads or reported > roads[no]["reported"]:
            roads[no] = {"at": _iso(r["occurred_at"]), "deaths": r["deaths_7d"], "reported": reported}
    return emb, fires, roads


def twins(emb, fires, roads):
    """emb accidents that are the same event as a delivered fire or road accident."""
    fire_keys = {(v["uscc"], v["at"].date()) for v in fires.values() if v["uscc"]}
    return {k for k, v in emb.items()
            if v["related"] in fires or v["related"] in roads
            or (v["category"] == "火灾" and v["uscc"] and (v["uscc"], v["at"].date()) in fire_keys)}


def yearly_deaths(landing):
    emb, fires, roads = latest(landing)
    dup = twins(emb, fires, roads)
    out = defaultdict(lambda: defaultdict(int))
    for name, table in (("emb", emb), ("fire", fires), ("road", roads)):
        for key, v in table.items():
            out[name][v["at"].year] += v["deaths"]
            if not (name == "emb" and key in dup):
                out["all"][v["at"].year] += v["deaths"]
    return out


# ------------------------------------------------------------------ bytes and places

DELIVERED = [f for f in all_feeds() if not f.pull]  # pulled feeds are fetched by the pipeline
RANDOM_BY_DESIGN = {"demo_sources/emb_api/token"}  # the demo API's secret is never seeded


def test_two_runs_give_identical_bytes(homes):
    a, b, summary_a, summary_b = homes
    files_a = {k: v for k, v in _all_files(a).items() if k not in RANDOM_BY_DESIGN}
    assert files_a == {k: v for k, v in _all_files(b).items() if k not in RANDOM_BY_DESIGN}
    assert summary_a == summary_b
    for feed in DELIVERED:
        assert summary_a[f"{feed.source}/{feed.feed}"] > 0, feed.id


def test_writes_only_landing_and_demo_sources_with_registry_file_names(homes, landing):
    home = homes[0]
    assert sorted(p.name for p in home.iterdir()) == ["demo_sources", "landing"]
    folders = {p.parent.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file()}
    assert folders == {f"{f.source}/{f.feed}" for f in DELIVERED}
    for feed in DELIVERED:
        names = [p.name for p in _folder(landing, feed).iterdir()]
        assert names and all(fnmatch.fnmatch(n, feed.file_glob) for n in names), feed.id


def test_later_end_date_keeps_earlier_files(tmp_path, landing):
    generate(tmp_path, SEED, date(2021, 3, 31))
    later = _all_files(tmp_path / "landing")
    earlier = _all_files(landing)
    same = [k for k in earlier if not k.startswith("stats/") and later.get(k) == earlier[k]]
    assert len(same) > 0.98 * len(earlier)  # only files of the last period (re-)reported after END differ


def test_rejects_end_before_2016(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path, SEED, date(2015, 12, 31))


# ------------------------------------------------------------------ formats from the registry

def test_accidents_are_gb18030_with_the_registry_header(landing):
    paths = sorted(_folder(landing, EMB_ACCIDENTS).glob(EMB_ACCIDENTS.file_glob))
    assert len(paths) >= 60
    assert EMB_ACCIDENTS.encoding == "gb18030"
    for path in paths:
        first = path.read_bytes().decode("gb18030").split("\r\n")[0]
        assert first.split(",") == _header(EMB_ACCIDENTS)
    with pytest.raises(UnicodeDecodeError):
        paths[0].read_bytes().decode("utf-8")


def test_fires_are_utf8_with_bom_and_the_registry_header(landing):
    paths = sorted(_folder(landing, FIRE_FIRES).glob(FIRE_FIRES.file_glob))
    assert len(paths) >= 250
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), path.name
        assert data[3:].decode("utf-8").split("\r\n")[0].split(",") == _header(FIRE_FIRES)
    assert paths[0].name == "fires_2015-W53.csv"  # 1-3 January 2016 belong to ISO week 2015-W53


def test_road_accidents_are_jsonl_with_the_registry_keys(landing):
    folder = _folder(landing, TRAFFIC_ROAD_ACCIDENTS)
    days = {p.name for p in folder.glob(TRAFFIC_ROAD_ACCIDENTS.file_glob) if "_resend" not in p.name}
    assert len(days) == (END - date(2016, 1, 1)).days + 1  # one file a day
    records = [r for _, line in _jsonl_lines(landing) if (r := _json(line)) is not None]
    assert len(records) > 2000
    assert all(list(r) == _header(TRAFFIC_ROAD_ACCIDENTS) for r in records)
    assert not any("\\u" in line for _, line in _jsonl_lines(landing))  # ensure_ascii=False
    assert any("街道" in line for _, line in _jsonl_lines(landing))


def test_economy_workbooks(landing):
    paths = sorted(_folder(landing, STATS_ECONOMY).glob(STATS_ECONOMY.file_glob))
    assert [p.name for p in paths][:2] == ["economy_20170310.xlsx", "economy_20180310.xlsx"]
    seen, with_vehicles = defaultdict(dict), 0
    for path in paths:
        ws = openpyxl.load_workbook(path)[STATS_ECONOMY.sheet]
        rows = list(ws.iter_rows(values_only=True))
        header = list(rows[STATS_ECONOMY.header_row - 1])
        assert header == [h for h in _header(STATS_ECONOMY) if h in header]
        with_vehicles += "机动车保有量(万辆)" in header
        for row in rows[STATS_ECONOMY.header_row:]:
            rec = dict(zip(header, row))
            seen[rec["年份"]][(rec["数据状态"], path.name)] = rec["地区生产总值(亿元)"]
            assert 800 < rec["地区生产总值(亿元)"] < 1300 and 50 < rec["常住人口(万人)"] < 60
    assert 0 < with_vehicles < len(paths) / 2
    assert sorted(seen) == [2016, 2017, 2018, 2019]
    first = seen[2016]
    assert first[("初步核算", "economy_20170310.xlsx")] != first[("最终核实", "economy_20180310.xlsx")]
    assert len([k for k in seen[2018] if k[0] == "初步核算"]) == 2  # revised preliminary: newest wins


# ------------------------------------------------------------------ defects

def test_emb_defects_present(landing):
    rows = _csv_rows(landing, EMB_ACCIDENTS)
    ids = [f[0] for _, f in rows]
    assert all(re.fullmatch(r"XC-AQ-\d{4}-\d{4}", i) for i in ids)
    kinds = {_emb_time(f[1])[1] for _, f in rows}
    assert {"dash", "slash", "chinese"} <= kinds
    assert any(re.fullmatch(r"\d{4}-13-45 25:61", f[1]) for _, f in rows)  # unreadable 发生时间
    assert any(f[1] == "不详" for _, f in rows)
    streets = [f[2] for _, f in rows]
    assert any(re.fullmatch(r"..街道", s) for s in streets)
    assert any(re.fullmatch(r"..", s) and s != "不详" and s != "城东" for s in streets)
    assert any(s.endswith("街道办事处") for s in streets)
    assert any(s.startswith("下城区") and s.endswith("街道") for s in streets)
    assert any(s != s.strip() and "\u3000" in s for s in streets)
    assert any(s.strip() in ("不详", "城东", "下城区") for s in streets)
    assert any(re.fullmatch(r"\d{1,3}(,\d{3})+\.\d", f[10]) for _, f in rows)
    assert all(f[11] == "较大" for _, f in rows if f[7].isdigit() and int(f[7]) >= 3)
    for column in (3, 13, 14):  # uscc, contact, phone may be empty
        assert any(f[column] == "" for _, f in rows) and any(f[column] for _, f in rows)
    casualties = {v for _, f in rows for v in f[7:10]}
    assert {"-1", "1.5", "两"} <= casualties
    assert {f[6] for _, f in rows} <= set(EMB_ACCIDENTS.column("accident_category").choices)
    assert {f[5][0] for _, f in rows} >= {"C", "E", "F", "H"}


def test_emb_corrections_repeat_the_row_later_with_more_deaths(landing):
    rows = _csv_rows(landing, EMB_ACCIDENTS)
    first = {f[0]: f for name, f in rows if "_corr" not in name}
    corrections = [(name, f) for name, f in rows if re.fullmatch(r"accidents_\d{6}_corr\d+\.csv", name)]
    assert len(corrections) >= 5
    for name, f in corrections:
        orig = first[f[0]]
        assert f[15] > orig[15]
        assert date.fromisoformat(f[15]) - _emb_time(f[1])[0].date() <= timedelta(days=30)
        assert int(f[7]) > int(orig[7])
        assert name.startswith(f"accidents_{_emb_time(f[1])[0]:%Y%m}_corr")


def test_fire_defects_present(landing):
    rows = _csv_rows(landing, FIRE_FIRES)
    assert {len(f) for _, f in rows} >= {10, 11, 12}
    good = [(name, f) for name, f in rows if len(f) == 11]
    assert any(_iso(f[1]) is None for _, f in good)  # unreadable 起火时间
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", f[10]) for _, f in good)
    assert max(int(f[9]) for _, f in good) > 100000  # yuan, not 10,000 yuan
    streets = [f[2] for _, f in good]
    assert any("\u3000" in s for s in streets) and any(s.strip() in ("不详", "城东", "下城区") for s in streets)
    by_id = defaultdict(list)
    for name, f in good:
        if "_resend" not in name:
            by_id[f[0]].append((name, f))
    rereports = [v for v in by_id.values() if len(v) > 1]
    assert rereports
    for (n1, a), (n2, b) in rereports:
        assert n2 > n1 and b[10] > a[10]
        assert _iso(b[10]) - _iso(b[1]) <= timedelta(days=7)
        assert (a[7], a[8]) != (b[7], b[8])


def test_road_defects_present(landing):
    lines = _jsonl_lines(landing)
    bad = [line for _, line in lines if _json(line) is None]
    assert any(line.startswith("{'") for line in bad) and any(line.startswith('{"') for line in bad)
    folder = _folder(landing, TRAFFIC_ROAD_ACCIDENTS)
    assert any(not p.read_bytes().endswith(b"\n") and p.stat().st_size for p in folder.iterdir())  # cut short
    assert any(p.stat().st_size == 0 for p in folder.iterdir())  # a day without accidents
    records = [(name, r) for name, line in lines if (r := _json(line)) is not None]
    assert any(r["occurred_at"].endswith("Z") for _, r in records)
    assert all(r["occurred_at"][-6:] in ("+08:00", "+00:00") or r["occurred_at"].endswith("Z") for _, r in records)
    by_no = defaultdict(list)
    for name, r in records:
        if "_resend" not in name:
            by_no[r["accident_no"]].append((name, r))
    rereports = [v for v in by_no.values() if len(v) > 1]
    assert rereports
    for (n1, a), (n2, b) in rereports:
        assert n2 > n1 and _iso(b["reported_at"]) > _iso(a["reported_at"])
        assert b["deaths_7d"] > a["deaths_7d"]
        assert _iso(b["reported_at"]) - _iso(b["occurred_at"]) <= timedelta(days=7)


def test_events_reported_by_two_departments(landing):
    emb, fires, roads = latest(landing)
    by_fire_id = [k for k, v in emb.items() if v["related"].startswith("XF") and v["related"] in fires]
    by_road_id = [k for k, v in emb.items() if v["related"].startswith("JJ") and v["related"] in roads]
    dangling = [k for k, v in emb.items() if v["related"] and v["related"] not in fires and v["related"] not in roads]
    fire_keys = {(v["uscc"], v["at"].date()) for v in fires.values() if v["uscc"]}
    by_unit = [k for k, v in emb.items() if v["category"] == "火灾" and not v["related"]
               and (v["uscc"], v["at"].date()) in fire_keys]
    assert len(by_fire_id) >= 5 and len(by_road_id) >= 5 and len(by_unit) >= 5 and dangling
    for k in by_road_id:
        assert emb[k]["deaths"] == roads[emb[k]["related"]]["deaths"]
    assert sum(emb[k]["deaths"] for k in by_road_id) > 0  # the dedup rule changes the totals


def test_resent_file_is_byte_identical(landing):
    resent = sorted(p for p in landing.rglob("*_resend.*"))
    assert {"fires", "road_accidents"} <= {p.parent.name for p in resent}
    for p in resent:
        original = p.with_name(p.name.replace("_resend", ""))
        assert p.read_bytes() == original.read_bytes() and p.stat().st_size > 0
    assert (landing / "fire/fires/fires_2018-W10_resend.csv").exists()


def test_deaths_follow_the_action_plan_story(landing):
    deaths = yearly_deaths(landing)
    assert 10 <= deaths["emb"][2016] <= 14 and 4 <= deaths["emb"][2020] <= 8
    assert 2 <= deaths["fire"][2016] <= 5 and deaths["fire"][2020] <= 2
    assert 22 <= deaths["road"][2016] <= 28 and 14 <= deaths["road"][2020] <= 20
    assert deaths["all"][2020] <= 0.7 * deaths["all"][2016]
