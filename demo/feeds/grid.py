"""Demo source of grid/hazard_reports: the grid-governance database, as a SQLite file.

`generate(home, seed, end)` writes `<home>/demo_sources/grid/grid.sqlite` (nothing into
landing/: the platform pulls this feed itself) holding table `hazard_reports` as the grid system
would show it at the end of day `end`. Every hazard has a history (reported 待整改, then 整改中,
已整改 with its 整改日期, 已销号 after the street office verifies it), each step stamping
`updated_at`; the database holds each hazard's latest step on or before `end`, so a later end
date changes rows (later `updated_at`) and adds new ones, which is what the incremental pull
picks up. Output depends only on (seed, end): each year is drawn from its own
`random.Random(f"{seed}/grid/<year>")`, and the file is built in report_id order.

Hidden risk: a hazard with a uscc (~55%) is filed against one of the 240 units of
demo.generate, drawn with weight r**UNIT_POWER, r = demo.generate.hidden_risk (grid workers find
more wrong at risky units). The unit's risk also raises the chance that the hazard is 重大
(~ r**MAJOR_POWER) and that it is rectified late (~ r**LATE_POWER), each scaled so that the
shares below still hold over all hazards with a uscc (and capped at MAJOR_CAP / LATE_CAP);
hazards without a uscc have the flat shares.

Story and defects (from 2018; about 600 hazards a year, ~8% 重大):

| what                                                           | where |
|----------------------------------------------------------------|-------|
| street spelled `武林街道` / `武林` / `武林街道办事处` /            | any row |
|   `下城区武林街道`, stray ASCII and U+3000 spaces                  |       |
| street that maps to no street (`不详`, `城东`, `下城区`)          | ~2% of rows |
| uscc empty: hazards in residential buildings and public space   | ~45% |
| rectified after its deadline (overdue, rectified)              | ~15% |
| never rectified: still 待整改/整改中 long past the deadline       | ~3% |
| open, not yet due (found shortly before `end`)                  | the last weeks |
| 重大 hazard not listed for supervision (supervised false)       | ~15% of 重大 at first; a third of them listed later |
| 一般 hazard listed for supervision                               | ~1% |
| status 已整改/已销号 but 整改日期 (rectified_on) left empty        | ~1% of rectified |
| many rows sharing one updated_at: 销号 in a batch at 17:30:00   | every verification day |
| reporter name, 18-digit ID number (valid check digit), mobile  | every row; ~3% without phone |
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from citysafety.config import Settings
from demo import grid_db
from demo.generate import (SPINE_UNITS, STREETS, SURNAMES, UNMAPPABLE, _rng, _street_text, _units,
                           hidden_risk)

FIRST_YEAR = 2018
MAJOR_SHARE = 0.08
UNIT_SHARE = 0.55  # hazards filed against a unit (with its uscc)
LATE_SHARE = 0.15  # rectified after the deadline
NEVER_SHARE = 0.03  # never rectified
# How the unit's hidden risk r shapes a hazard filed against it: the unit is drawn with weight
# r**UNIT_POWER; it is 重大 with chance ~ r**MAJOR_POWER and rectified late with chance ~ r**LATE_POWER,
# each scaled so that the share over all hazards with a unit stays MAJOR_SHARE / LATE_SHARE.
UNIT_POWER, MAJOR_POWER, LATE_POWER = 0.8, 1.0, 0.5
MAJOR_CAP, LATE_CAP = 0.5, 0.6
CODES = {"武林": "WL", "天水": "TS", "朝晖": "CH", "潮鸣": "CM", "长庆": "CQ", "石桥": "SQ",
         "东新": "DX", "文晖": "WH"}
# Made-up community names (社区) per street, for the demo only.
COMMUNITIES = {
    "武林": ("竹竿巷", "龙游", "岳王", "环西", "天水桥"),
    "天水": ("仁和", "戒坛寺", "延安新村", "孩儿巷", "武林坊"),
    "朝晖": ("朝晖一区", "朝晖三区", "朝晖五区", "朝晖七区", "朝晖九区"),
    "潮鸣": ("小营巷", "长寿桥", "东园", "宝善", "知足弄"),
    "长庆": ("长庆街", "王马", "万寿亭", "青年路", "西牌楼"),
    "石桥": ("石桥", "华丰", "杨家", "永丰", "三塘"),
    "东新": ("东新园", "打铁关", "香积寺", "沈塘桥", "新华坊"),
    "文晖": ("流水苑", "京都苑", "大关", "现代城", "嘉绿苑"),
}
GENERAL = ("消防通道堵塞", "楼道内电动自行车充电", "灭火器过期失效", "安全出口上锁", "电气线路私拉乱接",
           "燃气软管老化", "疏散指示标志损坏", "临时建筑搭建不规范", "有限空间未设警示标志",
           "脚手架防护网缺失", "液化气钢瓶超期未检", "防火门常开", "排油烟管道油垢积聚",
           "店外违规占道堆放可燃物", "配电箱未上锁", "外墙广告牌松动")
MAJOR = ("重大火灾隐患：人员密集场所安全出口数量不足", "违规储存危险化学品", "建筑外墙保温材料燃烧性能不达标",
         "高支模无专项施工方案", "燃气管道被违章建筑占压", "自动消防设施瘫痪", "深基坑支护变形未处置")
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红梅志海燕玲晨宇浩然欣怡子涵"
REGIONS = ("330103", "330102", "330104", "330105", "330106", "330108", "330110", "330182")
PHONE_PREFIXES = ("130", "131", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                  "157", "158", "159", "177", "180", "182", "187", "188", "189", "199")
VERIFY_AT = time(17, 30)  # the street office closes verified hazards in one batch


@dataclass(frozen=True)
class Person:
    name: str
    id_no: str
    phone: str | None


@dataclass
class Hazard:
    found_on: date
    created: datetime
    state: dict
    steps: list[tuple[datetime, dict]] = field(default_factory=list)

    def step(self, at: datetime, **changes) -> None:
        last = self.steps[-1][0] if self.steps else self.created
        at = max(at, last + timedelta(seconds=1))
        self.state = {**self.state, **changes}
        self.steps.append((at, dict(self.state)))


def id_check(body17: str) -> str:
    """Check character of a resident ID number (GB 11643, ISO 7064 MOD 11-2)."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, weights)) % 11]


def _person(rng: random.Random) -> Person:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    born = date(1962, 1, 1) + timedelta(days=rng.randrange(365 * 38))
    body = f"{rng.choice(REGIONS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    phone = None if rng.random() < 0.03 else f"{rng.choice(PHONE_PREFIXES)}{rng.randrange(10**8):08d}"
    return Person(name, body + id_check(body), phone)


@dataclass(frozen=True)
class Units:
    """The units hazards are filed against, with what their hidden risk makes of a hazard."""
    units: list
    cumulative: list[float]  # cumulative draw weights, r**UNIT_POWER
    major: list[float]  # chance that a hazard at the unit is 重大
    late: list[float]  # chance that it is rectified after its deadline

    def draw(self, rng: random.Random) -> int:
        return bisect(self.cumulative, rng.random() * self.cumulative[-1])


def _chances(weights: list[float], risk: list[float], power: float, share: float, cap: float) -> list[float]:
    """min(cap, c * r**power), with c such that the mean chance under `weights` is `share`."""
    low, high = 0.0, cap / min(r ** power for r in risk)
    for _ in range(60):  # bisection: the capped mean grows with c
        c = (low + high) / 2
        mean = sum(w * min(cap, c * r ** power) for w, r in zip(weights, risk)) / sum(weights)
        low, high = (c, high) if mean < share else (low, c)
    return [min(cap, low * r ** power) for r in risk]


def _risk_units(seed: int) -> Units:
    units = _units(_rng(seed, "units"), SPINE_UNITS)  # the same units (uscc) as the emb and fire feeds
    risk = [hidden_risk(seed, u.uscc) for u in units]
    weights = [r ** UNIT_POWER for r in risk]
    cumulative, total = [], 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    return Units(units, cumulative, _chances(weights, risk, MAJOR_POWER, MAJOR_SHARE, MAJOR_CAP),
                 _chances(weights, risk, LATE_POWER, LATE_SHARE, LATE_CAP))


def _workers(seed: int) -> dict[str, list[Person]]:
    """Grid workers (网格员) of each street: they file most reports."""
    rng = _rng(seed, "grid-workers")
    return {street: [_person(rng) for _ in range(6)] for street in STREETS}


def _hazard(rng: random.Random, year: int, units: Units, workers) -> Hazard:
    found = date(year, 1, 1) + timedelta(days=rng.randrange((date(year + 1, 1, 1) - date(year, 1, 1)).days))
    created = datetime.combine(found, time(rng.randint(8, 18), rng.randrange(60), rng.randrange(60)))
    street = rng.choices(list(STREETS), list(STREETS.values()))[0]
    community = rng.randrange(len(COMMUNITIES[street]))
    unit = units.draw(rng) if rng.random() < UNIT_SHARE else None
    major = rng.random() < (MAJOR_SHARE if unit is None else units.major[unit])
    reporter = rng.choice(workers[street]) if rng.random() < 0.85 else _person(rng)
    deadline = found + timedelta(days=rng.choice((30, 60, 60, 90)) if major else rng.choice((3, 7, 7, 15, 15, 30)))
    h = Hazard(found, created, {})
    h.step(created,
           found_on=found,
           street=rng.choice(UNMAPPABLE) if rng.random() < 0.02 else _street_text(rng, street),
           community=f"{COMMUNITIES[street][community]}社区",
           grid_code=f"{CODES[street]}-{community + 1:02d}-{rng.randint(1, 12):02d}",
           uscc=None if unit is None else units.units[unit].uscc,
           description=rng.choice(MAJOR if major else GENERAL),
           level="重大" if major else "一般",
           deadline=deadline,
           rectified_on=None,
           status="待整改",
           supervised=(rng.random() < 0.85) if major else (rng.random() < 0.01),
           reporter_name=reporter.name,
           reporter_id_no=reporter.id_no,
           reporter_phone=reporter.phone)
    allowed = (deadline - found).days
    outcome = rng.random()
    if outcome < NEVER_SHARE:
        rectified = None  # never rectified: open and overdue
    elif outcome < NEVER_SHARE + (LATE_SHARE if unit is None else units.late[unit]):
        rectified = deadline + timedelta(days=rng.randint(1, 45 if major else 20))
    else:
        rectified = found + timedelta(days=rng.randint(0, allowed))
    days = (rectified - found).days if rectified else rng.randint(3, 40)
    if days >= 2 or rectified is None:
        at = datetime.combine(found + timedelta(days=rng.randint(1, max(1, days - 1))),
                              time(rng.randint(8, 19), rng.randrange(60), rng.randrange(60)))
        changes = {"status": "整改中"}
        if major and not h.state["supervised"] and rng.random() < 0.35:
            changes["supervised"] = True  # listed for supervision late
        h.step(at, **changes)
    if rectified is not None:
        at = datetime.combine(rectified, time(rng.randint(8, 19), rng.randrange(60), rng.randrange(60)))
        h.step(at, status="已整改", rectified_on=None if rng.random() < 0.01 else rectified)
        if rng.random() < 0.85:
            verified = rectified + timedelta(days=rng.randint(2, 20))
            h.step(datetime.combine(verified, VERIFY_AT), status="已销号")
    return h


def hazards(seed: int, end: date) -> list[dict]:
    """Rows of hazard_reports as the grid system shows them at the end of day `end`."""
    units = _risk_units(seed)
    workers = _workers(seed)
    cutoff = datetime.combine(end, time.max)
    rows = []
    for year in range(FIRST_YEAR, end.year + 1):
        rng = _rng(seed, "grid", year)
        year_hazards = sorted((_hazard(rng, year, units, workers) for _ in range(rng.randint(560, 640))),
                              key=lambda h: h.created)
        for n, h in enumerate(year_hazards, start=1):
            seen = [(at, state) for at, state in h.steps if at <= cutoff]
            if not seen:
                continue
            at, state = seen[-1]
            rows.append({**state, "report_id": f"WG-{year}-{n:05d}", "updated_at": at})
    return rows


def generate(home: Path, seed: int, end: date) -> dict[str, int]:
    """Create or update the demo grid database; returns {"grid/hazard_reports": 1} (one file)."""
    path = grid_db.db_path(Settings(home=Path(home).resolve()))
    grid_db.write_db(path, hazards(seed, end))
    return {"grid/hazard_reports": 1}
