"""Seeded demo deliveries for the four file feeds, written exactly as the departments send them.

`generate(home, seed, end)` writes `<home>/landing/<source>/<feed>/<file>` for emb/accidents,
fire/fires, traffic/road_accidents and stats/economy, from 2016-01-01 to `end`, and nothing else.
File names, headers, encodings, sheet and header row come from citysafety.sources; the rules
they follow are ../shared/feeds/README.md. Output depends only on (seed, end): every year is drawn
from its own `random.Random(f"{seed}/<feed>/<year>")`, so a later end date adds files and leaves
earlier ones unchanged (except the files of the period the old end date cut short). A report is
delivered when its report date is on or before `end`.

Story: final deaths per year (2016..2020, then a flat, slightly noisy tail) are set in
TARGET_DEATHS, so the action-plan trend is visible: emb 12 -> 6, fire 3 -> 1, road 25 -> 17.
Malformed rows are extra incidents with no deaths, so they do not change those totals.

Hidden risk: every one of the 240 units has a risk of its own, `hidden_risk(seed, uscc)`, that
no department delivers. It is drawn once per (seed, code) from its own
`random.Random(f"{seed}/risk/<uscc>")` — lognormal, sigma RISK_SIGMA, mean 1 — and scaled by the
unit's industry (INDUSTRY_RISK, mean 1: construction and manufacturing riskier, retail, catering
and property management safer). It is the same in every year and heavy-tailed: a fifth of the
units carries about 70% of it. It drives the incidents through their own mechanisms, each with
its own noise: the unit of an accident (emb) and of a fire with a unit code is drawn with weight
proportional to it, and a fire at a risky unit hurts someone more often (FIRE_HURT rising with
risk**FIRE_HURT_POWER, the share over such fires unchanged); demo.feeds.grid files hidden hazards
against risky units more often, more of them 重大 and rectified late; demo.feeds.inspections
finds more violations at risky units (the bureau does not know the risk: it chooses units by
industry); demo.feeds.enterprises_risk_points gives risky units a worse 安全生产标准化等级, less
insurance and more lapses, a weak, noisy link. Deaths per year still follow TARGET_DEATHS: the
risk decides where an incident happens, not how many there are or how many die.

Defects, and where they appear (each at least once a year unless said otherwise):

| defect                                                        | feed               | where |
|---------------------------------------------------------------|--------------------|-------|
| street spelled `武林街道` / `武林` / `武林街道办事处` /           | all three incident | any row |
|   `下城区武林街道` / `下城区 武林街道`, stray ASCII and U+3000    |   feeds            |       |
|   spaces (`　天水街道 `)                                        |                    |       |
| street that maps to no street (`不详`, `城东`, `下城区`)        | all three          | ~2% of rows |
| 发生时间 in 3 formats: `2019-03-05 14:20`, `2019/3/5 9:05`,    | emb/accidents      | any row, any version |
|   `2019年3月5日 9时5分`                                         |                    |       |
| loss with thousands separator (`1,234.5`, then 事故等级 较大)   | emb/accidents      | one accident in even years |
| empty 统一社会信用代码 / 联系人 / 联系电话                       | emb/accidents      | ~8% of accidents each |
| correction `accidents_YYYYMM_corrN.csv`: same 事故编号, later  | emb/accidents      | ~40% of fatal accidents |
|   报送日期 (<= 30 days), one more death, one less 重伤          |                    |       |
| unreadable 发生时间 (`2019-13-45 25:61` / `不详`)               | emb/accidents      | 1 extra row a year -> quarantine |
| casualty not a whole number >= 0 (`-1` in 死亡人数, `1.5` in   | emb/accidents      | 1 extra row a year -> quarantine |
|   轻伤人数, `两` in 重伤人数; one kind a year, cycling)          |                    |       |
| 火灾 accident with the same unit code and date as a fire row   | emb + fire         | 1 a year (same event, no link id) |
| 关联事故编号 naming a delivered fire `XF...`                   | emb + fire         | 1 a year (category 灼烫/爆炸) |
| 关联事故编号 naming a delivered road accident `JJ...`          | emb + traffic      | 1 a year, fatal when possible |
| 关联事故编号 naming a fire that was never delivered            | emb/accidents      | years 2016, 2019, 2022, ... |
| re-report in a later weekly file: later 报送时间 (<= 7 days    | fire/fires         | fatal fires (1/2), injury fires (1/12) |
|   after the fire), one more death or one more injury           |                    |       |
| wrong column count (unquoted comma in 详细地址: 12 fields, or   | fire/fires         | 1 extra row a year -> quarantine |
|   报送时间 missing: 10 fields; alternating by year)            |                    |       |
| unreadable 起火时间 (`2018-03-00T08:15:00` / `待核实`)           | fire/fires         | 1 extra row a year -> quarantine |
| fires of 1 Jan 2016 in `fires_2015-W53.csv` (ISO week naming)  | fire/fires         | first file |
| timestamps in UTC (`...Z`, `...+00:00`) instead of +08:00      | traffic            | ~4% of lines |
| re-report in a later-day file: later reported_at (<= 7 days),  | traffic            | ~40% of fatal accidents |
|   deaths_7d one higher, injuries one lower                     |                    |       |
| not valid JSON: a truncated last line (no newline), a line     | traffic            | 1 of each a year -> quarantine |
|   written as a Python dict (single quotes)                     |                    |       |
| empty daily file (no accident that day)                        | traffic            | ~25% of days |
| 初步核算 first, 最终核实 a year later with a different value    | stats/economy      | every year |
| second 初步核算 of a year with a new value (newest file wins)   | stats/economy      | YYYY0915 file, YYYY % 3 == 0 |
| 机动车保有量(万辆) column present in a few files only           | stats/economy      | YYYY0915; YYYY0310 if YYYY % 4 == 0 |
| same file delivered twice under a second name (`_resend`)      | fire, traffic      | see RESENDS |
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import math
import os
import random
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from citysafety.config import Settings, demo_end_date, demo_seed, settings
from citysafety.sources import EMB_ACCIDENTS, FIRE_FIRES, STATS_ECONOMY, TRAFFIC_ROAD_ACCIDENTS, Feed

FIRST_YEAR = 2016
FEEDS = (EMB_ACCIDENTS, FIRE_FIRES, TRAFFIC_ROAD_ACCIDENTS, STATS_ECONOMY)

# Final deaths per year 2016..2020 (the action-plan story), then a range for later years.
TARGET_DEATHS = {"emb": (12, 11, 8, 9, 6), "fire": (3, 4, 2, 2, 1), "road": (25, 24, 20, 21, 17)}
LATER_DEATHS = {"emb": (5, 7), "fire": (1, 2), "road": (15, 18)}

STREETS = {"武林": 12, "天水": 10, "朝晖": 11, "潮鸣": 10, "长庆": 8, "石桥": 11, "东新": 13, "文晖": 9}
UNMAPPABLE = ("不详", "城东", "下城区")
ROADS = ("延安路", "中山北路", "体育场路", "环城北路", "凤起路", "庆春路", "建国北路", "朝晖路",
         "德胜路", "石桥路", "东新路", "文晖路", "潮王路", "绍兴路", "上塘路", "香积寺路", "武林路",
         "新华路", "长庆街", "沈家路")
INDUSTRIES = {  # GB/T 4754 section -> (weight, unit-name endings)
    "C 制造业": (3, ("机械制造有限公司", "电子科技有限公司", "服饰有限公司", "印刷有限公司")),
    "E 建筑业": (4, ("建设工程有限公司", "建筑装饰工程有限公司")),
    "F 批发和零售业": (3, ("商贸有限公司", "超市有限公司")),
    "H 住宿和餐饮业": (2, ("餐饮管理有限公司", "酒店有限公司")),
    "G 交通运输、仓储和邮政业": (1, ("物流有限公司", "快递服务有限公司")),
    "K 房地产业": (1, ("物业管理有限公司",)),
}
CATEGORY_WEIGHTS = {  # GB 6441 categories seen in an urban district; the mining ones never occur
    "高处坠落": 8, "物体打击": 5, "机械伤害": 4, "车辆伤害": 3, "触电": 3, "坍塌": 2, "起重伤害": 2,
    "中毒和窒息": 2, "灼烫": 2, "火灾": 2, "其它伤害": 4, "淹溺": 1, "容器爆炸": 1, "其它爆炸": 1,
}
PLACES = {"住宅": 45, "商业": 20, "工业": 8, "仓储": 5, "公共场所": 7, "其他": 15}
CAUSES = {"电气": 35, "用火不慎": 20, "吸烟": 12, "放火": 2, "生产作业": 6, "其他": 15, "不明": 10}
LOSS_MEDIAN_YUAN = {"住宅": 6000, "商业": 30000, "工业": 120000, "仓储": 150000, "公共场所": 10000, "其他": 2000}
SURNAMES = "张王李赵刘陈杨黄吴周徐孙朱胡郭何高林罗郑"
WORK_HOURS = (7, 8, 8, 9, 9, 10, 10, 11, 13, 14, 14, 15, 15, 16, 16, 17, 18, 20, 22)
FIRE_HOURS = tuple(range(24)) + (11, 12, 17, 18, 19, 20)
ROAD_HOURS = tuple(range(6, 24)) + (0, 2, 4, 7, 7, 8, 8, 17, 17, 18, 18)
# Files delivered a second time as <name>_resend.<ext> (or the next non-empty file if that one is empty).
RESENDS = ((FIRE_FIRES, "2018-W10"), (TRAFFIC_ROAD_ACCIDENTS, "20170302"))

# The hidden risk of a unit (see the story above): lognormal spread and industry factors.
RISK_SIGMA = 1.3
INDUSTRY_RISK = {"E 建筑业": 2.4, "C 制造业": 1.8, "G 交通运输、仓储和邮政业": 1.2, "F 批发和零售业": 0.5,
                 "H 住宿和餐饮业": 0.6, "K 房地产业": 0.4}  # relative; scaled below to a mean of 1
SPINE_UNITS = 240  # the units of the incident, grid and inspection feeds (_units of "units")
# A fire hurts someone (1-3 injured) with chance FIRE_HURT; at a unit, rising with its risk.
FIRE_HURT, FIRE_HURT_POWER, FIRE_HURT_CAP = 0.2, 0.5, 0.6

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@dataclass(frozen=True)
class Unit:
    uscc: str
    name: str
    industry: str


@dataclass(eq=False)
class Event:
    """One incident with its final values; `reports` are its versions (time, deaths, injured)."""
    kind: str  # emb | fire | road
    at: datetime  # local time
    street: str  # short street name, or an unmappable spelling
    deaths: int = 0
    injured: int = 0  # emb: 重伤人数; fire, road: all injured
    minor: int = 0  # emb: 轻伤人数
    unit: Unit | None = None
    id: str = ""
    bad: str = ""  # malformed kind: bad_time | bad_count | bad_width | truncated | pyrepr
    link: Event | None = None  # emb: the same event as delivered by fire or traffic
    link_by: str = ""  # unit (same uscc and date) | id (关联事故编号)
    related: str = ""  # emb: 关联事故编号 naming an id never delivered
    x: dict = field(default_factory=dict)  # feed-specific values
    reports: list = field(default_factory=list)


# ---------------------------------------------------------------- small helpers

def _rng(seed: int, *parts) -> random.Random:
    return random.Random("/".join(map(str, (seed, *parts))))


def _pick(rng: random.Random, weights: dict):
    return rng.choices(list(weights), list(weights.values()))[0]


def _clock(rng: random.Random, day: date, hours: tuple) -> datetime:
    return datetime(day.year, day.month, day.day, rng.choice(hours), rng.randrange(60))


def _days(year: int, month: int | None = None) -> list[date]:
    first = date(year, month or 1, 1)
    last = date(year + (month or 12) // 12, (month or 12) % 12 + 1, 1)
    return [first + timedelta(i) for i in range((last - first).days)]


def _target(rng: random.Random, kind: str, year: int) -> int:
    story = TARGET_DEATHS[kind]
    return story[year - FIRST_YEAR] if year - FIRST_YEAR < len(story) else rng.randint(*LATER_DEATHS[kind])


def _spread(rng: random.Random, pool: list[Event], total: int, cap: int, pile: float) -> None:
    """Hand out `total` deaths: mostly one per event, sometimes piling up to `cap`."""
    for _ in range(total):
        fatal = [e for e in pool if 0 < e.deaths < cap]
        if fatal and rng.random() < pile:
            rng.choice(fatal).deaths += 1
        else:
            rng.choice([e for e in pool if e.deaths == 0] or [e for e in pool if e.deaths < cap]).deaths += 1


def _uscc(rng: random.Random) -> str:
    """A well-formed unified social credit code (GB 32100-2015, with GB 11714 org-code check)."""
    body = ("MA2" if rng.random() < 0.5 else "") + "".join(rng.choice(_USCC_CHARS) for _ in range(8))
    body = body[:8]
    s = sum(w * (int(c) if c.isdigit() else ord(c) - 55) for w, c in zip((3, 7, 9, 10, 5, 8, 4, 2), body))
    code = "91330103" + body + "0123456789X0"[11 - s % 11]
    s = sum(_USCC_CHARS.index(c) * w for c, w in zip(code, _USCC_WEIGHTS))
    return code + _USCC_CHARS[(31 - s % 31) % 31]


def _units(rng: random.Random, n: int) -> list[Unit]:
    heads, tails = "恒鑫华宏金新天永润瑞中信安嘉博万兴东明远", "达源盛远诚锐成泰丰康通顺业和禾航昌晟辉拓"
    units, names = [], set()
    while len(units) < n:
        industry = _pick(rng, {k: w for k, (w, _) in INDUSTRIES.items()})
        name = f"杭州{rng.choice(heads)}{rng.choice(tails)}{rng.choice(INDUSTRIES[industry][1])}"
        if name not in names:
            names.add(name)
            units.append(Unit(_uscc(rng), name, industry))
    return units


@functools.lru_cache(maxsize=16)
def _spine_industries(seed: int) -> dict[str, str]:
    return {u.uscc: u.industry for u in _units(_rng(seed, "units"), SPINE_UNITS)}


def _industry_factor(industry: str | None) -> float:
    """INDUSTRY_RISK scaled so that its mean over the industry mix of _units is 1."""
    mean = (sum(w * INDUSTRY_RISK[k] for k, (w, _) in INDUSTRIES.items())
            / sum(w for w, _ in INDUSTRIES.values()))
    return INDUSTRY_RISK[industry] / mean if industry in INDUSTRY_RISK else 1.0


def hidden_risk(seed: int, uscc: str) -> float:
    """The hidden accident risk of the unit with code `uscc` (mean about 1 over the units).

    Deterministic per (seed, uscc) and the same in every year: a lognormal draw (sigma
    RISK_SIGMA, mean 1) from `random.Random(f"{seed}/risk/<uscc>")`, times the industry factor
    for the 240 units of the feeds (a code that is not one of them: the draw alone)."""
    base = _rng(seed, "risk", uscc).lognormvariate(-RISK_SIGMA ** 2 / 2, RISK_SIGMA)
    return base * _industry_factor(_spine_industries(seed).get(uscc))


def risk_score(seed: int, uscc: str) -> float:
    """log hidden_risk relative to the median draw before the industry factor (0: a median unit
    of an average industry; RISK_SIGMA: one standard deviation riskier)."""
    return math.log(hidden_risk(seed, uscc)) + RISK_SIGMA ** 2 / 2


def _street_text(rng: random.Random, short: str) -> str:
    if short in UNMAPPABLE:
        return short
    text = rng.choice((f"{short}街道",) * 5 + (short, short, f"{short}街道办事处", f"下城区{short}街道",
                                               f"下城区 {short}街道"))
    r = rng.random()
    if r < 0.04:
        return f"\u3000{text} "
    if r < 0.07:
        return f" {text}"
    if r < 0.09:
        return f"{text}\u3000"
    return text


def _street(rng: random.Random) -> str:
    return rng.choice(UNMAPPABLE) if rng.random() < 0.02 else _pick(rng, STREETS)


def _name(feed: Feed, part: str) -> str:
    return feed.file_glob.replace("*", part)


def _iso(t: datetime, offset: str = "+08:00") -> str:
    if offset == "+08:00":
        return f"{t:%Y-%m-%dT%H:%M:%S}+08:00"
    return f"{t - timedelta(hours=8):%Y-%m-%dT%H:%M:%S}{offset}"  # UTC: Z or +00:00


def _number_ids(events: list[Event], make) -> None:
    events.sort(key=lambda e: e.at)
    for n, e in enumerate(events, start=1):
        e.id = make(n)


# ---------------------------------------------------------------- emb/accidents

def _emb_event(rng: random.Random, at: datetime, units: list[Unit], weights: list[float]) -> Event:
    """An accident at a unit drawn with weight `weights` (the units' hidden risk)."""
    categories = EMB_ACCIDENTS.column("accident_category").choices
    prefixes = ("39", "38", "37", "35", "58", "59", "88", "33", "89", "30", "31", "86")
    return Event("emb", at, _street(rng), unit=rng.choices(units, weights)[0], x={
        "category": rng.choices(categories, [CATEGORY_WEIGHTS.get(c, 0) for c in categories])[0],
        "no_code": rng.random() < 0.08,
        "contact": "" if rng.random() < 0.08 else rng.choice(SURNAMES) + rng.choice(("某某", "某某", "某")),
        "phone": "" if rng.random() < 0.08 else f"1{rng.choice(prefixes)}{rng.randrange(10**8):08d}",
    })


def _emb_year(seed: int, year: int, units: list[Unit], weights: list[float]) -> list[Event]:
    rng = _rng(seed, "emb", year)
    events = [_emb_event(rng, _clock(rng, rng.choice(_days(year, m)), WORK_HOURS), units, weights)
              for m in range(1, 13) for _ in range(rng.choice((1, 1, 2, 2, 2, 3)))]
    _spread(rng, events, _target(rng, "emb", year), cap=3, pile=0.2)
    for e in events:
        e.injured, e.minor = rng.choice((0, 0, 1, 1, 2)), rng.choice((0, 1, 1, 2, 3))
        e.minor += not (e.deaths or e.injured or e.minor)
        e.x["loss"] = round(e.deaths * rng.uniform(90, 160) + rng.lognormvariate(1.5, 1.0), 1)
    if year % 2 == 0:
        rng.choice(events).x["loss"] = round(rng.uniform(1000, 1900), 1)

    # The same event delivered by two departments (the dedup rules of the README).
    def take(fatal: bool) -> Event:
        free = [e for e in events if not e.link and not e.related]
        return rng.choice([e for e in free if (e.deaths > 0) == fatal] or free)

    e = take(False)  # 火灾 with the fire's unit code and date
    e.x["category"], e.x["no_code"], e.link_by = "火灾", False, "unit"
    e.link = _fire_event(rng, e.at, [e.unit], place=rng.choice(("商业", "工业", "仓储")), unit=e.unit)
    e.link.street = e.street
    e = take(False)  # explosion or burn that the fire brigade also recorded; linked by id
    e.x["category"], e.link_by = rng.choice(("灼烫", "其它爆炸", "容器爆炸")), "id"
    e.link = _fire_event(rng, e.at, [], place="工业", unit=None)
    e.link.street = e.street
    e = take(True)  # a worker killed or hurt on the road; traffic police recorded it too
    e.x["category"], e.link_by = "车辆伤害", "id"
    e.link = Event("road", e.at, e.street, x={"road": rng.choice(ROADS), "vehicles": 2})
    for e in events:
        if e.link:
            e.link.deaths, e.link.injured = e.deaths, e.injured + e.minor
    if year % 3 == 0:
        e = take(False)
        e.x["category"], e.related = "灼烫", f"XF{year}{rng.randint(9001, 9999)}"

    for kind in ("bad_time", "bad_count"):  # extra rows that must be quarantined
        bad = _emb_event(rng, _clock(rng, rng.choice(_days(year)), WORK_HOURS), units, weights)
        bad.bad, bad.minor, bad.x["loss"] = kind, 1, round(rng.uniform(0.5, 20), 1)
        events.append(bad)

    _number_ids(events, lambda n: f"XC-AQ-{year}-{n:04d}")
    for e in events:
        first = e.at.date() + timedelta(days=rng.choice((0, 1, 1)))
        if e.deaths and not e.link and not e.bad and rng.random() < 0.4:
            later = e.at.date() + timedelta(days=rng.randint(3, 30))
            e.reports = [(first, e.deaths - 1, e.injured + 1), (max(later, first + timedelta(1)), e.deaths, e.injured)]
        else:
            e.reports = [(first, e.deaths, e.injured)]
    return events


def _emb_rows(seed: int, year: int, events: list[Event]) -> list[tuple[str, date, int, list]]:
    """(period YYYYMM, 报送日期, version, row) for every version; version 0 goes in the main file."""
    rng = _rng(seed, "emb-text", year)
    rows = []
    for e in events:
        for n, (reported, deaths, serious) in enumerate(e.reports):
            t = e.at
            when = rng.choice((f"{t:%Y-%m-%d %H:%M}", f"{t:%Y-%m-%d %H:%M}",
                               f"{t.year}/{t.month}/{t.day} {t.hour}:{t:%M}",
                               f"{t.year}年{t.month}月{t.day}日 {t.hour}时{t.minute}分"))
            counts = [str(deaths), str(serious), str(e.minor)]
            if e.bad == "bad_time":
                when = (f"{year}-13-45 25:61", "不详")[year % 2]
            if e.bad == "bad_count":
                column, value = ((0, "-1"), (2, "1.5"), (1, "两"))[year % 3]
                counts[column] = value
            loss = e.x["loss"]
            grade = "较大" if deaths >= 3 or loss >= 1000 else "一般"
            related = e.link.id if e.link_by == "id" else e.related
            rows.append((f"{t:%Y%m}", reported, n, [
                e.id, when, _street_text(rng, e.street), "" if e.x["no_code"] else e.unit.uscc, e.unit.name,
                e.unit.industry, e.x["category"], *counts, f"{loss:,.1f}", grade, related,
                e.x["contact"], e.x["phone"], reported.isoformat()]))
    return rows


# ---------------------------------------------------------------- fire/fires

def _casualty_chances(risk: list[float]) -> list[float]:
    """Per unit, the chance that a fire at it hurts someone: FIRE_HURT * r**FIRE_HURT_POWER, scaled
    so that the share over fires drawn with weight r stays FIRE_HURT (at most FIRE_HURT_CAP)."""
    mean = sum(r ** (1 + FIRE_HURT_POWER) for r in risk) / sum(risk)
    return [min(FIRE_HURT_CAP, FIRE_HURT * r ** FIRE_HURT_POWER / mean) for r in risk]


def _fire_event(rng: random.Random, at: datetime, units: list[Unit], place: str | None = None,
                unit: Unit | None = None, weights: list[float] | None = None,
                hurt: list[float] | None = None) -> Event:
    """A fire; outside homes it mostly gets a unit, drawn with weight `weights` (hidden risk),
    and someone is hurt with that unit's chance in `hurt` (else with chance FIRE_HURT)."""
    place = place or _pick(rng, PLACES)
    drawn = None
    if unit is None and units and place not in ("住宅", "其他") and rng.random() < 0.8:
        drawn = rng.choices(range(len(units)), weights)[0]
        unit = units[drawn]
    address = f"{rng.choice(ROADS)}{rng.randint(1, 400)}号"
    if place == "住宅":
        address += f"{rng.randint(1, 30)}幢{rng.randint(1, 4)}单元"
    chance = FIRE_HURT if drawn is None or hurt is None else hurt[drawn]
    injured = rng.choices((1, 2, 3), (13, 5, 2))[0] if rng.random() < chance else 0
    return Event("fire", at, _street(rng), injured=injured, unit=unit, x={
        "address": address, "place": place, "cause": _pick(rng, CAUSES),
        "loss": int(LOSS_MEDIAN_YUAN[place] * rng.lognormvariate(0, 1.0))})


def _fire_year(seed: int, year: int, units: list[Unit], linked: list[Event], weights: list[float]) -> list[Event]:
    rng = _rng(seed, "fire", year)
    hurt = _casualty_chances(weights)
    days, events = _days(year), []
    for week in range(0, len(days), 7):
        span = days[week:week + 7]
        for _ in range(round(rng.randint(3, 8) * len(span) / 7)):
            events.append(_fire_event(rng, _clock(rng, rng.choice(span), FIRE_HOURS), units, weights=weights,
                                      hurt=hurt))
    homes = [e for e in events if e.x["place"] == "住宅"]
    _spread(rng, homes, max(0, _target(rng, "fire", year) - sum(e.deaths for e in linked)), cap=2, pile=0.15)
    for e in homes:
        e.x["loss"] += e.deaths * 20000
    for kind in ("bad_time", "bad_width"):
        bad = _fire_event(rng, _clock(rng, rng.choice(days), FIRE_HOURS), units, weights=weights, hurt=hurt)
        bad.bad = kind
        events.append(bad)
    events += linked
    _number_ids(events, lambda n: f"XF{year}{n:04d}")
    for e in events:
        first = e.at + timedelta(minutes=rng.randint(45, 600))
        e.reports = [(first, e.deaths, e.injured)]
        if e.bad or any(e is f for f in linked) or not (e.deaths or e.injured):
            continue
        if rng.random() > (0.5 if e.deaths else 1 / 12):
            continue
        later = first + timedelta(days=rng.randint(1, 6), minutes=rng.randint(0, 300))
        if later.isocalendar()[:2] == first.isocalendar()[:2]:  # must land in a later weekly file
            monday = datetime.combine(first.date() + timedelta(7 - first.weekday()), datetime.min.time())
            later = monday + timedelta(minutes=rng.randint(8 * 60, 18 * 60))
        if later - e.at <= timedelta(days=7):
            died = 1 if e.deaths else 0
            e.reports = [(first, e.deaths - died, e.injured + died - (not died)), (later, e.deaths, e.injured)]
    return events


def _fire_rows(seed: int, year: int, events: list[Event]) -> list[tuple[str, datetime, list | str]]:
    """(ISO week YYYY-Www of 报送时间, 报送时间, row or raw malformed line) for every version."""
    rng = _rng(seed, "fire-text", year)
    rows = []
    for e in events:
        for reported, deaths, injured in e.reports:
            when = f"{e.at:%Y-%m-%dT%H:%M:%S}"
            if e.bad == "bad_time":
                when = (f"{e.at:%Y-%m}-00T{e.at:%H:%M}:00", "待核实")[year % 2]
            row = [e.id, when, _street_text(rng, e.street), e.x["address"], e.x["place"], e.x["cause"],
                   e.unit.uscc if e.unit else "", str(deaths), str(injured), str(e.x["loss"]),
                   f"{reported:%Y-%m-%dT%H:%M:%S}"]
            if e.bad == "bad_width":  # hand-typed line: unquoted comma in the address, or the last field lost
                row = ",".join(row[:3] + [row[3] + ",临街商铺"] + row[4:] if year % 2 == 0 else row[:-1])
            iso = reported.isocalendar()
            rows.append((f"{iso[0]}-W{iso[1]:02d}", reported, row))
    return rows


# ---------------------------------------------------------------- traffic/road_accidents

def _road_year(seed: int, year: int, linked: list[Event]) -> list[Event]:
    rng = _rng(seed, "road", year)
    events = [Event("road", _clock(rng, day, ROAD_HOURS), _street(rng), x={"road": rng.choice(ROADS),
                                                                         "vehicles": rng.choice((1, 2, 2, 2, 3))})
              for day in _days(year) for _ in range(rng.choices((0, 1, 2, 3), (25, 35, 25, 15))[0])]
    for e in events:
        e.injured = rng.choice((1, 1, 1, 2, 2, 3, 4))
    _spread(rng, events, max(0, _target(rng, "road", year) - sum(e.deaths for e in linked)), cap=2, pile=0.1)
    for kind in ("truncated", "pyrepr"):
        bad = Event("road", _clock(rng, rng.choice(_days(year)), ROAD_HOURS), _street(rng), injured=1,
                    x={"road": rng.choice(ROADS), "vehicles": 2})
        bad.bad = kind
        events.append(bad)
    events += linked
    _number_ids(events, lambda n: f"JJ{year}{n:05d}")
    for e in events:
        first = e.at + timedelta(minutes=rng.randint(30, 360))
        e.reports = [(first, e.deaths, e.injured)]
        if e.deaths and not e.bad and rng.random() < 0.4:
            later = e.at + timedelta(days=rng.randint(1, 6), minutes=rng.randint(0, 600))
            if later.date() > first.date():
                e.reports = [(first, e.deaths - 1, e.injured + 1), (later, e.deaths, e.injured)]
    return events


def _road_lines(seed: int, year: int, events: list[Event]) -> list[tuple[str, datetime, str]]:
    """(YYYYMMDD of reported_at, reported_at, JSON line) for every version."""
    rng = _rng(seed, "road-text", year)
    keys = [c.delivered for c in TRAFFIC_ROAD_ACCIDENTS.columns]
    lines = []
    for e in events:
        for reported, deaths, injured in e.reports:
            offset = rng.choices(("+08:00", "Z", "+00:00"), (96, 3, 1))[0]
            record = dict(zip(keys, (e.id, _iso(e.at, offset), _street_text(rng, e.street), e.x["road"], deaths,
                                     injured, e.x["vehicles"], _iso(reported, offset))))
            line = json.dumps(record, ensure_ascii=False)
            if e.bad == "truncated":  # the transfer cut the file short: last line, no newline
                line = line[: len(line) * 3 // 5]
            elif e.bad == "pyrepr":
                line = repr(record)
            lines.append((f"{reported:%Y%m%d}", reported, line))
    return lines


# ---------------------------------------------------------------- stats/economy

def _economy(seed: int, end: date) -> dict[str, bytes]:
    """{file name: xlsx bytes}: each March the previous year 初步核算 and the year before 最终核实."""
    figures, gdp = {}, None
    for y in range(FIRST_YEAR, end.year + 1):
        rng = _rng(seed, "economy", y)
        growth = {2020: 0.03, 2022: 0.035}.get(y, rng.uniform(0.065, 0.075))  # nominal; slow pandemic years
        gdp = rng.uniform(855, 870) if gdp is None else gdp * (1 + growth)
        final = (round(gdp, 1), round(53.0 + 0.5 * (y - FIRST_YEAR) + rng.uniform(-0.1, 0.1), 1),
                 round(17.5 + 0.9 * (y - FIRST_YEAR) + rng.uniform(-0.2, 0.2), 1))
        prelims = [tuple(round(v * (1 + rng.uniform(*spread)), 1) for v, spread in
                         zip(final, ((-0.015, 0.012), (-0.003, 0.003), (-0.005, 0.005)))) for _ in range(2)]
        figures[y] = {"最终核实": final, "初步核算": prelims[0], "初步核算2": prelims[1]}
    files = {}
    for y in range(FIRST_YEAR + 1, end.year + 1):
        rows = [(y - 2, "最终核实")] * (y - 2 >= FIRST_YEAR) + [(y - 1, "初步核算")]
        deliveries = [(date(y, 3, 10), rows, y % 4 == 0)]
        if y % 3 == 0:
            deliveries.append((date(y, 9, 15), [(y - 1, "初步核算2")], True))
        for delivered, rows, with_vehicles in deliveries:
            if delivered > end:
                continue
            header = [c.delivered for c in STATS_ECONOMY.columns if with_vehicles or c.name != "vehicles_10k"]
            table = [[year, *figures[year][status][:2 + with_vehicles], status.rstrip("2")] for year, status in rows]
            files[_name(STATS_ECONOMY, f"{delivered:%Y%m%d}")] = _xlsx(header, table, delivered)
    return files


def _xlsx(header: list[str], rows: list[list], delivered: date) -> bytes:
    """A workbook whose bytes depend only on its content and delivery date (no 'now' anywhere)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = STATS_ECONOMY.sheet or ws.title
    for _ in range(STATS_ECONOMY.header_row - 1):
        ws.append([STATS_ECONOMY.title])
    for row in [header, *rows]:
        ws.append(row)
    stamp = datetime.combine(delivered, datetime.min.time()) + timedelta(hours=9)
    wb.properties.creator, wb.properties.created = "区统计局", stamp
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps 'modified' with the clock
                when = f"{stamp:%Y-%m-%dT%H:%M:%SZ}".encode()
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + when, body)
            entry = zipfile.ZipInfo(info.filename, stamp.timetuple()[:6])
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


# ---------------------------------------------------------------- files

def _csv(feed: Feed, rows: list) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c.delivered for c in feed.columns])
    for row in rows:
        if isinstance(row, str):  # a malformed line, written as the department typed it
            buf.write(row + "\r\n")
        else:
            writer.writerow(row)
    return buf.getvalue().encode(feed.encoding)


def _jsonl(lines: list[str]) -> bytes:
    """One line per record; a truncated line (it does not end in '}') ends the file, with no newline."""
    whole = [line for line in lines if line.endswith("}")]
    cut = [line for line in lines if not line.endswith("}")]
    return ("".join(f"{line}\n" for line in whole) + "".join(cut)).encode(TRAFFIC_ROAD_ACCIDENTS.encoding)


def _incidents(seed: int, year: int) -> tuple[list[Event], list[Event], list[Event]]:
    """(emb accidents, fires, road accidents) of a year, final values, malformed ones included."""
    units = _units(_rng(seed, "units"), SPINE_UNITS)
    risk = [hidden_risk(seed, u.uscc) for u in units]
    # fires never share a unit with emb by chance
    accidents = _emb_year(seed, year, units[:120], risk[:120])
    fires = _fire_year(seed, year, units[120:], [a.link for a in accidents if a.link and a.link.kind == "fire"],
                       risk[120:])
    roads = _road_year(seed, year, [a.link for a in accidents if a.link and a.link.kind == "road"])
    return accidents, fires, roads


def _build(seed: int, end: date) -> dict[tuple[Feed, str], bytes]:
    emb_rows, fire_rows, road_lines = [], [], []
    for year in range(FIRST_YEAR, end.year + 1):
        accidents, fires, roads = _incidents(seed, year)
        emb_rows += _emb_rows(seed, year, accidents)
        fire_rows += _fire_rows(seed, year, fires)
        road_lines += _road_lines(seed, year, roads)

    files: dict[tuple[Feed, str], bytes] = {}
    by_file = defaultdict(list)
    corrections = defaultdict(list)
    for period, reported, version, row in sorted(emb_rows, key=lambda r: (r[1], r[3][0])):
        if reported <= end:
            (corrections[period] if version else by_file[period]).append(row)
    for period, rows in corrections.items():  # corrN: the Nth correction of that month
        for n, row in enumerate(rows, start=1):
            by_file[f"{period}_corr{n}"].append(row)
    files.update({(EMB_ACCIDENTS, _name(EMB_ACCIDENTS, p)): _csv(EMB_ACCIDENTS, r) for p, r in by_file.items()})

    by_file = defaultdict(list)
    for week, reported, row in sorted(fire_rows, key=lambda r: r[1]):
        if reported.date() <= end:
            by_file[week].append(row)
    files.update({(FIRE_FIRES, _name(FIRE_FIRES, w)): _csv(FIRE_FIRES, rows) for w, rows in by_file.items()})

    by_file = defaultdict(list)
    for day, reported, line in sorted(road_lines, key=lambda r: r[1]):
        if reported.date() <= end:
            by_file[day].append(line)
    day = date(FIRST_YEAR, 1, 1)
    while day <= end:  # one file a day, empty when nothing happened
        files[(TRAFFIC_ROAD_ACCIDENTS, _name(TRAFFIC_ROAD_ACCIDENTS, f"{day:%Y%m%d}"))] = _jsonl(
            by_file.get(f"{day:%Y%m%d}", []))
        day += timedelta(1)

    files.update({(STATS_ECONOMY, name): data for name, data in _economy(seed, end).items()})

    for feed, wanted in RESENDS:  # the same bytes delivered a second time under another name
        names = sorted(n for f, n in files if f is feed and files[(f, n)])
        if names:
            name = next((n for n in names if n >= _name(feed, wanted)), names[-1])
            stem, dot, ext = name.partition(".")
            files[(feed, f"{stem}_resend{dot}{ext}")] = files[(feed, name)]
    return files


def write_delivered(home: Path, feed: Feed, files: dict[str, bytes]) -> dict[str, int]:
    """Write one feed's files into <home>/landing/<source>/<feed>/, each written aside under a
    hidden name (never matching the feed's glob while half written) and renamed into place;
    return {"source/feed": files written}."""
    folder = Settings(home=Path(home).resolve()).landing / feed.source / feed.feed
    for name, data in sorted(files.items()):
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / f".{name}.part"
        part.write_bytes(data)
        os.replace(part, folder / name)
    return {f"{feed.source}/{feed.feed}": len(files)}


def generate(home: Path, seed: int, end: date, clean: bool = False) -> dict:
    """Write the delivery set into <home>/landing; return {"source/feed": files written}.

    With `clean`, files of the four feeds already in landing (matching the registry globs) are
    removed first, so the folder holds exactly one seed's deliveries.
    """
    if end < date(FIRST_YEAR, 1, 1):
        raise ValueError(f"end date {end} is before {FIRST_YEAR}-01-01")
    landing = Settings(home=Path(home).resolve()).landing
    if clean:
        for feed in FEEDS:
            for old in (landing / feed.source / feed.feed).glob(feed.file_glob):
                old.unlink()
    summary = Counter()
    for (feed, name), data in sorted(_build(seed, end).items(), key=lambda kv: (kv[0][0].id, kv[0][1])):
        folder = landing / feed.source / feed.feed
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / f".{name}.part"  # never matches a feed glob while half written
        part.write_bytes(data)
        os.replace(part, folder / name)
        summary[f"{feed.source}/{feed.feed}"] += 1
    written = {f"{f.source}/{f.feed}": summary[f"{f.source}/{f.feed}"] for f in FEEDS}
    from demo.feeds import generate_all

    written.update(generate_all(Path(home).resolve(), seed, end))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=None, help="CITYSAFETY_HOME (default: from the environment)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: CITYSAFETY_DEMO_SEED)")
    parser.add_argument("--end", type=date.fromisoformat, default=None,
                        help="last delivery day YYYY-MM-DD (default: CITYSAFETY_DEMO_END, else today)")
    parser.add_argument("--clean", action="store_true", help="first remove this feed set's files from landing")
    args = parser.parse_args(argv)
    home = args.home or settings().home
    seed = demo_seed() if args.seed is None else args.seed
    end = args.end or date.fromisoformat(demo_end_date() or date.today().isoformat())
    summary = generate(home, seed, end, clean=args.clean)
    print(f"demo deliveries 2016-01-01..{end} (seed {seed}) in {Settings(home=Path(home).resolve()).landing}")
    for feed, count in summary.items():
        print(f"  {feed:24} {count:5} files")
    return 0
