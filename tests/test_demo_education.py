"""The demo deliveries of safety_office/demonstration and emb/trainings (demo/feeds/demonstration.py,
demo/feeds/trainings.py): bytes, the agreement's shape, every defect their docstrings promise, and
an ingest of the generated files through the real raw layer (every delivered row loaded or
quarantined; the future-dated activities quarantined naming 活动日期).

Small and fast: the deliveries end 2019-12-31 (7 quarterly workbooks, 24 monthly files); the story
test builds the workbooks to 2021Q1 in memory.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from citysafety.config import Settings
from citysafety.raw import store
from citysafety.raw.ingest import ingest_feed
from citysafety.raw.parsing import parse_approx_count
from citysafety.sources import DEMONSTRATION_STAGES, EMB_TRAININGS, SAFETY_OFFICE_DEMONSTRATION
from demo.feeds import demonstration, trainings
from demo.generate import UNMAPPABLE

SEED = 20180101
END = date(2019, 12, 31)
LATER = date(2020, 6, 30)
DEMO, TRAIN = SAFETY_OFFICE_DEMONSTRATION, EMB_TRAININGS
HEADER_DEMO = [c.delivered for c in DEMO.columns]
HEADER_TRAIN = [c.delivered for c in TRAIN.columns]
SHORT_STREETS = ("武林", "天水", "朝晖", "潮鸣", "长庆", "石桥", "东新", "文晖")


def _generate(home: Path, end: date) -> dict[str, int]:
    return {**demonstration.generate(home, SEED, end), **trainings.generate(home, SEED, end)}


def _files(home: Path) -> dict[str, bytes]:
    return {p.relative_to(home).as_posix(): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("education")
    assert _generate(root, END) == {"safety_office/demonstration": 7, "emb/trainings": 24}
    return root


def _sheet(data: bytes) -> tuple[list[str], list[dict]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames == [DEMO.sheet] == ["创建进展"]
    rows = list(book[DEMO.sheet].iter_rows(values_only=True))
    return list(rows[0]), [dict(zip(rows[0], r)) for r in rows[1:]]


def _demo_rows(files: dict[str, bytes]) -> dict[str, list[dict]]:
    """quarter label (2018Q1) -> rows of its workbook."""
    out = {}
    for name, data in sorted(files.items()):
        header, rows = _sheet(data)
        assert header == HEADER_DEMO
        out[re.search(r"(\d{4}Q\d)", name).group(1)] = rows
    return out


@pytest.fixture(scope="module")
def quarters(home) -> dict[str, list[dict]]:
    folder = home / "landing" / DEMO.source / DEMO.feed
    return _demo_rows({p.name: p.read_bytes() for p in folder.iterdir()})


@pytest.fixture(scope="module")
def activities(home) -> list[dict]:
    out = []
    for path in sorted((home / "landing" / TRAIN.source / TRAIN.feed).iterdir()):
        text = path.read_bytes().decode("utf-8")
        assert text.split("\r\n")[0].split(",") == HEADER_TRAIN
        out += [dict(r, _file=path.name) for r in csv.DictReader(io.StringIO(text))]
    return out


def _street(text: str) -> str:
    """A delivered street spelling folded to its short name (the test's own, rough reading)."""
    text = text.replace("\u3000", "").replace(" ", "").removeprefix("下城区")
    return text.removesuffix("办事处").removesuffix("街道")


def _score(v) -> float:
    return float(v)


# ------------------------------------------------------------------ bytes and files

def test_same_seed_same_bytes_and_a_later_end_only_adds_files(home, tmp_path):
    again = tmp_path / "again"
    _generate(again, END)
    first = _files(home / "landing")
    assert _files(again / "landing") == first
    later = tmp_path / "later"
    assert _generate(later, LATER) == {"safety_office/demonstration": 9, "emb/trainings": 30}
    more = _files(later / "landing")
    assert {k: more[k] for k in first} == first  # earlier files unchanged
    assert sorted(Path(k).name for k in set(more) - set(first)) == [
        "demonstration_2019Q4.xlsx", "demonstration_2020Q1.xlsx",
        *(f"trainings_2020{m:02d}.csv" for m in range(1, 7))]
    names = sorted(p.name for p in (home / "landing" / TRAIN.source / TRAIN.feed).iterdir())
    assert names[0] == "trainings_201801.csv" and names[-1] == "trainings_201912.csv"
    assert not list(home.rglob(".*.part"))


def test_demonstration_sheet_header_and_units(quarters):
    assert list(quarters) == ["2018Q1", "2018Q2", "2018Q3", "2018Q4", "2019Q1", "2019Q2", "2019Q3"]
    for label, rows in quarters.items():
        ids = {r["创建单位编号"] for r in rows}
        assert len(ids) == 29, label  # 8 streets and 21 communities
        assert all(re.fullmatch(r"CJ-(WL|TS|CH|CM|CQ|SQ|DX|WH)-\d{3}", i) for i in ids)
        assert {r["阶段"] for r in rows} <= set(DEMONSTRATION_STAGES)
        for uid in ids:  # points sum to 100 per unit (one copy of a unit listed twice)
            crits = {r["指标编号"]: r["满分"] for r in rows if r["创建单位编号"] == uid}
            assert sum(crits.values()) == 100 and 10 <= len(crits) <= 14
            assert any(c.startswith("B3-") for c in crits)
    streets = {r["创建单位编号"]: r for r in quarters["2018Q1"] if r["单位层级"] == "街道"}
    assert all(r["创建类型"] == "安全发展示范街道" and _street(r["所属街道"]) == _street(r["创建单位"])
               for r in streets.values())
    wlm = [r for rows in quarters.values() for r in rows if r["创建单位"] == "天水街道武林门社区"]
    assert wlm and all(_street(r["所属街道"]) == "天水" for r in wlm)
    assert wlm[0]["创建单位编号"].startswith("CJ-TS-")


def _unit_stage(rows: list[dict]) -> dict[str, str]:
    return {r["创建单位编号"]: r["阶段"] for r in rows}


def test_demonstration_defects(quarters):
    cells = [(r, col) for rows in quarters.values() for r in rows for col in ("自评得分", "评估得分")
             if r[col] is not None]
    above = [(r, c) for r, c in cells if _score(r[c]) > r["满分"]]
    negative = [(r, c) for r, c in cells if _score(r[c]) < 0]
    assert above and negative
    assert (len(above) + len(negative)) / len(cells) < 0.03  # about 1 %

    # a unit listed twice in one quarter, under its full and a short name, same id and scores
    twins = {}
    for label, rows in quarters.items():
        names = defaultdict(set)
        for r in rows:
            names[r["创建单位编号"]].add(r["创建单位"])
        twins[label] = {uid: n for uid, n in names.items() if len(n) > 1}
    by_year = defaultdict(list)
    for label, found in twins.items():
        by_year[label[:4]] += [frozenset(n) for n in found.values()]
    assert by_year["2018"] == [frozenset({"天水街道武林门社区", "武林门社区"})]
    assert by_year["2019"] == [frozenset({"武林街道", "武林"})]
    for label, found in twins.items():
        for uid in found:
            copies = defaultdict(list)
            for r in quarters[label]:
                if r["创建单位编号"] == uid:
                    copies[r["指标编号"]].append((r["自评得分"], r["评估得分"], r["阶段"]))
            assert all(len(v) == 2 and v[0] == v[1] for v in copies.values())

    # stages: one step back that is not a failed 复评 (自评 -> 申报, then it resumes)
    order = {s: i for i, s in enumerate(DEMONSTRATION_STAGES)}
    labels = list(quarters)
    backs = []
    for a, b in zip(labels, labels[1:]):
        before, after = _unit_stage(quarters[a]), _unit_stage(quarters[b])
        backs += [(uid, before[uid], after[uid], b) for uid in after
                  if uid in before and order[after[uid]] < order[before[uid]]
                  and not (before[uid] == "复评" and after[uid] == "创建中")
                  and not (before[uid] == "区级评估" and after[uid] == "创建中")]
    assert [(s, t, q) for _, s, t, q in backs] == [("自评", "申报", "2019Q3")]

    # 评估得分 empty in every row of a unit already 市级命名 (one unit, one quarter a year)
    blank = {(label, r["创建单位编号"]) for label, rows in quarters.items() for r in rows
             if r["阶段"] == "市级命名" and r["评估得分"] is None}
    assert blank and {label[:4] for label, _ in blank} == {"2018", "2019"}
    assert all(r["评估得分"] is None for label, uid in blank for r in quarters[label] if r["创建单位编号"] == uid)
    # otherwise 评估得分 only from 区级评估 on
    assert all(r["评估得分"] is None for rows in quarters.values() for r in rows
               if r["阶段"] in ("未启动", "申报", "创建中", "自评"))
    assert all(r["自评得分"] is None for rows in quarters.values() for r in rows if r["阶段"] == "未启动")

    # 指标名称 drifts between quarters
    wording = defaultdict(set)
    for rows in quarters.values():
        for r in rows:
            wording[(r["创建类型"], r["指标编号"])].add(r["指标名称"])
    assert sum(len(v) > 1 for v in wording.values()) >= 10

    # 所属街道 in many spellings, with stray spaces; all fold to a street
    spellings = {r["所属街道"] for rows in quarters.values() for r in rows}
    assert {"天水街道", "天水"} <= spellings and any(s != s.strip() or "\u3000" in s for s in spellings)
    assert any(s.startswith("下城区") for s in spellings)
    assert {_street(s) for s in spellings} == set(SHORT_STREETS)


def _verdict(rows: list[dict]) -> tuple[bool, bool]:
    """(passes the agreement's rule, >= 80 % overall) for one unit's rows, scores read as the mart
    reads them (capped at 满分, negative as 0)."""
    got = {r["指标编号"]: min(max(_score(r["评估得分"]), 0), r["满分"]) for r in rows}
    full = {r["指标编号"]: r["满分"] for r in rows}
    overall = sum(got.values()) >= 0.8 * sum(full.values())
    b3 = all(got[k] >= 0.6 * full[k] for k in got if k.startswith("B3"))
    return overall and b3, overall


def test_demonstration_story_follows_the_assessment_rule():
    files = demonstration.files(SEED, date(2021, 4, 10))  # to 2021Q1, in memory
    quarters = _demo_rows(files)
    labels = list(quarters)
    assert labels[-1] == "2021Q1"
    b3_only = 0
    for a, b in zip(labels, labels[1:]):
        after = _unit_stage(quarters[b])
        assessed = defaultdict(dict)
        for r in quarters[a]:
            if r["阶段"] in ("区级评估", "复评") and r["评估得分"] is not None:
                assessed[r["创建单位编号"]][r["指标编号"]] = r
        for uid, crits in assessed.items():
            before = crits[next(iter(crits))]["阶段"]
            if before == "复评" and after[uid] == "复评":
                continue
            ok, overall = _verdict(list(crits.values()))
            assert after[uid] == ("市级命名" if ok else "创建中") or (before == "复评" and ok), (uid, a)
            b3_only += (not ok) and overall and before == "区级评估"
    assert 2 <= b3_only <= 3  # the B3 rule matters
    failed_review = [(uid, b) for a, b in zip(labels, labels[1:])
                     for uid, s in _unit_stage(quarters[b]).items()
                     if s == "创建中" and _unit_stage(quarters[a]).get(uid) == "复评"]
    assert len(failed_review) == 1 and failed_review[0][1] == "2021Q1"
    end_2020 = quarters["2020Q4"]
    named = {r["创建单位编号"]: r["单位层级"] for r in end_2020 if r["阶段"] in ("市级命名", "复评")}
    tiers = Counter(named.values())
    assert tiers["街道"] == 4 and tiers["社区"] == 7  # half the streets, a third of 21 communities
    years = {r["创建单位编号"]: r["目标年度"] for rows in quarters.values() for r in rows}
    assert set(years.values()) <= set(range(2018, 2023))


# ------------------------------------------------------------------ trainings

def _year(r: dict) -> str:
    return r["_file"][10:14]


def test_trainings_activities_and_coverage(activities):
    per_year = Counter(_year(r) for r in activities)
    assert 35 * 12 <= per_year["2018"] <= 50 * 12 and 45 * 12 <= per_year["2019"] <= 65 * 12
    ids = [r["活动编号"] for r in activities]
    assert len(ids) == len(set(ids))
    kinds = Counter(r["活动类型"] for r in activities)
    assert set(kinds) == set(TRAIN.column("activity_type").choices)
    online = [r for r in activities if r["活动类型"] == "线上课程"]
    assert online and all(r["所属街道"] == "" and 5000 <= int(r["参加人次"]) <= 60000 for r in online)
    public = [r for r in activities if r["活动类型"] in ("宣传活动", "应急演练进社区", "安全教育基地参观")
              and r["参加人次"].isdigit() and r["所属街道"]]
    assert all(30 <= int(r["参加人次"]) <= 400 for r in public)
    assert any(r["所属街道"] == "" and r["活动类型"] == "宣传活动" for r in activities)  # district-wide
    organisers = {r["主办单位"] for r in activities}
    assert {"区应急管理局宣教科", "区消防救援大队", "武林街道办事处"} <= organisers

    # coverage: active enterprises with a principal and a safety manager passed within the year
    snapshots = trainings.snapshots(SEED, END)
    share = {}
    for year in ("2018", "2019"):
        active = {u.code for u in snapshots[date(int(year), 12, 1)]}
        passed = defaultdict(set)
        for r in activities:
            if _year(r) == year and r["统一社会信用代码"] and r["考核合格人数"] and int(r["考核合格人数"]) >= 1:
                passed[r["统一社会信用代码"]].add(r["对象"])
        share[year] = sum({"企业主要负责人", "安全管理人员"} <= passed[c] for c in active) / len(active)
    assert 0.2 <= share["2018"] < share["2019"] <= 0.6, share
    trained = [r for r in activities if r["统一社会信用代码"]]
    known = {u.code for units in snapshots.values() for u in units}
    assert {r["统一社会信用代码"] for r in trained} <= known


def test_trainings_defects_every_year(activities):
    for year in ("2018", "2019"):
        rows = [r for r in activities if _year(r) == year]
        approx = [r for r in rows if not r["参加人次"].isdigit()]
        assert approx and all(parse_approx_count(r["参加人次"]) for r in approx)
        assert all(r["活动类型"] not in ("安全培训", "线上课程") for r in approx)
        loose = [r for r in rows if r["活动类型"] not in ("安全培训", "线上课程")]
        assert len(approx) / len(loose) < 0.12
        over = [r for r in rows if r["考核合格人数"] and int(r["考核合格人数"]) > int(r["参加人次"])]
        assert over and all(r["活动类型"] == "安全培训" for r in over)
        future = [r for r in rows if r["活动日期"] > "2030"]
        assert len(future) == 1 and future[0]["活动日期"][:4] == year[:2] + "9" + year[3]  # 2018 -> 2098
        assert future[0]["_file"][10:16] == year + future[0]["活动日期"][5:7]  # the file of its month
        same = defaultdict(list)
        for r in rows:
            same[(r["活动日期"], r["主题"], _street(r["所属街道"]), r["统一社会信用代码"])].append(r)
        twins = [v for v in same.values() if len(v) > 1]
        assert twins and all(len(v) == 2 and v[0]["主办单位"] != v[1]["主办单位"] for v in twins)
        assert len(twins) <= 0.06 * len(rows)
        streets = [r["所属街道"] for r in rows if r["所属街道"]]
        unmappable = sum(s in UNMAPPABLE for s in streets)
        assert 0.005 <= unmappable / len(streets) <= 0.05
        assert {_street(s) for s in streets if s not in UNMAPPABLE} == set(SHORT_STREETS)
        assert len(set(streets)) > 20  # 武林街道 / 武林 / 武林街道办事处 / 下城区武林街道 / spaces


# ------------------------------------------------------------------ ingest

def test_every_delivered_row_is_loaded_or_quarantined(home, activities, quarters, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(home))
    cfg = Settings(home=home)
    results = {feed.feed: ingest_feed(feed, cfg) for feed in (DEMO, TRAIN)}
    assert len(results["demonstration"]) == 7 and len(results["trainings"]) == 24
    rows_in = {**{f"demonstration_{q}.xlsx": len(rows) for q, rows in quarters.items()},
               **Counter(r["_file"] for r in activities)}
    for feed, loaded in results.items():
        for r in loaded:
            assert r.rows_delivered == r.rows_loaded + r.rows_quarantined == rows_in[r.file_name], r
    assert all(r.rows_quarantined == 0 and r.status == "loaded" for r in results["demonstration"])
    quarantined = []
    for folder in store.loads(TRAIN, cfg):
        quarantined += pq.read_table(folder / "quarantine.parquet").to_pylist()
    future = [r for r in activities if r["活动日期"] > "2030"]
    assert len(quarantined) == len(future) == 2
    assert all("活动日期" in q["reason"] and "after the file's delivery" in q["reason"] for q in quarantined)
    assert {q["file_name"] for q in quarantined} == {r["_file"] for r in future}
    # loading again changes nothing
    assert ingest_feed(DEMO, cfg) == [] and ingest_feed(TRAIN, cfg) == []
