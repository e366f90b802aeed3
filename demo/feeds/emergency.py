"""Demo deliveries of the Emergency Command Centre (区应急指挥中心): emergency/plans, drills, resources.

`generate(home, seed, end)` writes `<home>/landing/emergency/{plans,drills,resources}/` as the
Command Centre delivers them (../shared/feeds/README.md, "emergency/plans, emergency/drills,
emergency/resources"): one UTF-8 CSV per feed and month, `plans_YYYYMM.csv`,
`drills_YYYYMM.csv`, `resources_YYYYMM.csv`, from 2018-01 to the last month that ended on or
before `end` (a month's files are delivered on its last day). Headers and encoding come from
citysafety.sources.

The world is simulated month by month from January 2018 with one `random.Random` per feed and
month (`_rng(seed, "emergency", <feed>, YYYYMM)`), so output depends only on (seed, end) and a
later end date only adds files.

Plans (full list every month): 1 区级 plan (QJ-001), 13 部门 plans at the start and 2 more later
(BM-001..BM-015), 8 街道 plans (JD-WL ...), 32 社区 plans growing to 40 (SQ-WL-01 ...; SQ-SQ-05
merged away in July 2020), about 45
企业 plans growing to about 90 (QY-0001 ..., owned by the emb/accidents units of
demo.generate, same names). Every month 1-3 plans are revised (修订日期), enterprise
plans are added and now and then withdrawn (closed units: missing from the next lists).

Drills (the drills held that month): about 90-100 a year, by tier (the district plan and the
street plans about yearly, departments 90%, communities 60%, enterprises 65%).

Resources (full list every month): about 165 growing to about 205 teams (救援队伍, 人 or 支),
supplies (应急物资: 袋, 件, 顶, 床, 箱 ...) and equipment (应急装备: 台, 艘, 辆, 套 ...), 2-5
quantity updates a month.

Defects, and where they appear:

| defect                                                           | feed      | where |
|------------------------------------------------------------------|-----------|-------|
| 企业 plan without parent (orphan: 未衔接到区级预案)                 | plans     | QY-0006 from the start; a new one from 2021-02 |
| 企业 plan whose parent does not exist (SQ-WL-09)                  | plans     | QY-0013 from the start |
| 社区 plan without parent, with an enterprise plan under it         | plans     | SQ-DX-04 (and QY-0021) from the start |
| 街道 plan with a mistyped parent (QJ-01): its subtree breaks        | plans     | JD-CQ, 2018-05 .. 2018-09, then fixed |
| two enterprise plans naming each other as parent (循环引用)          | plans     | from 2019-03 |
| 社区 plan withdrawn while an enterprise plan still names it         | plans     | SQ-SQ-05, from 2020-07 |
| dates written 2019/3/5 or 2019年3月5日 instead of 2019-03-05        | plans     | ~8% of date cells |
| unreadable date (2019-02-30, 2019-13-01) -> quarantined, the plan   | plans,    | ~15% of months, one line |
|   keeps its previous version                                        | resources | ~12% of months, one line |
| wrong column count (unquoted comma in a name) -> quarantined        | plans,    | ~12% / ~10% of months, one line |
|                                                                     | resources |       |
| the same file delivered again as `plans_201906_resend.csv`          | plans     | once |
| a drill listed again next month with a corrected 参演人数            | drills    | ~6% of drills |
| a drill naming a plan id that is on no list (QY0012 for QY-0012)    | drills    | 1 a year |
| unreadable 演练日期 (YYYY-02-30) / a line missing its last field     | drills    | 1 of each a year -> quarantined |
| street spelled 武林街道 / 武林 / 武林街道办事处 / 下城区武林街道,       | resources | any row |
|   stray spaces; street that maps to none (不详, 城东, 下城区) or empty |           | ~3% / ~4% of rows |
| 数量 with a thousands separator (1,200)                              | resources | ~1 in 5 quantities >= 1000 |
| units mixed within a street and type (救援队伍 in 人 and in 支)       | resources | ~10% of teams |
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from citysafety.config import Settings
from demo.generate import UNMAPPABLE, _csv, _name, _rng, _street_text, _units
from citysafety.sources import EMERGENCY_DRILLS, EMERGENCY_PLANS, EMERGENCY_RESOURCES, Feed

FIRST_MONTH = date(2018, 1, 1)
FEEDS = (EMERGENCY_PLANS, EMERGENCY_DRILLS, EMERGENCY_RESOURCES)
STREETS = (("WL", "武林"), ("TS", "天水"), ("CH", "朝晖"), ("CM", "潮鸣"),
           ("CQ", "长庆"), ("SQ", "石桥"), ("DX", "东新"), ("WH", "文晖"))
COMMUNITIES = {  # five per street; the fifth is published during 2018-2019
    "WL": ("竹竿巷", "龙游", "麒麟", "环西", "岳官巷"),
    "TS": ("仙林桥", "凤起", "武林门", "胭脂", "天水桥"),  # 天水街道武林门社区 is 天水, not 武林
    "CH": ("朝晖一区", "朝晖三区", "朝晖五区", "朝晖七区", "朝晖九区"),
    "CM": ("艮山门", "小营", "打铁关", "河东", "潮鸣寺巷"),
    "CQ": ("长庆", "青年", "王马", "流水", "新华"),
    "SQ": ("石桥", "杨家", "华丰", "永丰", "沈家"),
    "DX": ("东新园", "香积寺", "新天地", "机场路", "打索桥"),
    "WH": ("文晖", "中河", "新文", "德胜", "潮王"),
}
DEPARTMENTS = (  # (id, owner, plan name, first listed)
    ("BM-001", "区应急管理局", "生产安全事故应急预案", FIRST_MONTH),
    ("BM-002", "区应急管理局", "自然灾害救助应急预案", FIRST_MONTH),
    ("BM-003", "区消防救援大队", "火灾事故应急预案", FIRST_MONTH),
    ("BM-004", "区住房和城乡建设局", "建设工程生产安全事故应急预案", FIRST_MONTH),
    ("BM-005", "区市场监督管理局", "特种设备事故应急预案", FIRST_MONTH),
    ("BM-006", "区市场监督管理局", "食品安全事故应急预案", FIRST_MONTH),
    ("BM-007", "区卫生健康局", "突发公共卫生事件应急预案", FIRST_MONTH),
    ("BM-008", "区教育局", "学校突发事件应急预案", FIRST_MONTH),
    ("BM-009", "区城市管理局", "城市道路桥梁突发事件应急预案", FIRST_MONTH),
    ("BM-010", "区林业水利局", "防汛防台抗旱应急预案", FIRST_MONTH),
    ("BM-011", "交警大队", "道路交通事故应急预案", FIRST_MONTH),
    ("BM-012", "生态环境分局", "突发环境事件应急预案", FIRST_MONTH),
    ("BM-013", "区发展和改革局", "能源供应保障应急预案", FIRST_MONTH),
    ("BM-014", "区商务局", "商贸流通领域突发事件应急预案", date(2019, 4, 1)),
    ("BM-015", "区文化和广电旅游体育局", "大型群众性活动应急预案", date(2020, 9, 1)),
)
INDUSTRY_PARENT = {"E 建筑业": "BM-004", "H 住宿和餐饮业": "BM-006"}  # else BM-001
DRILL_RATE = {"区级": 1.0, "部门": 0.9, "街道": 1.0, "社区": 0.6, "企业": 0.65}  # drills a plan a year
DRILL_FORMS = {"区级": {"综合": 1}, "部门": {"桌面": 5, "实战": 3, "综合": 2}, "街道": {"实战": 6, "综合": 4},
               "社区": {"实战": 7, "桌面": 3}, "企业": {"实战": 6, "桌面": 3, "综合": 1}}
PARTICIPANTS = {"区级": (150, 400), "部门": (15, 80), "街道": (50, 200), "社区": (20, 80), "企业": (10, 120)}
SUPPLIES = (("防汛沙袋", "袋", 200, 3000), ("救生衣", "件", 20, 200), ("救灾帐篷", "顶", 5, 60),
            ("棉被", "床", 20, 300), ("矿泉水", "箱", 20, 500), ("方便食品", "箱", 20, 400),
            ("应急照明灯", "只", 10, 100), ("灭火器", "具", 20, 400), ("防汛编织袋", "条", 500, 5000))
EQUIPMENT = (("发电机", "台", 1, 6), ("抽水泵", "台", 2, 12), ("冲锋舟", "艘", 1, 4),
             ("应急指挥车", "辆", 1, 2), ("破拆工具组", "套", 1, 5), ("对讲机", "部", 10, 60),
             ("排烟机", "台", 1, 4))
RESEND = (EMERGENCY_PLANS, "201906")


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    tier: str
    owner: str
    parent: str | None
    published: date
    revised: date | None = None


@dataclass(frozen=True)
class Resource:
    id: str
    type: str
    name: str
    quantity: int
    unit: str
    street: str  # as delivered
    updated: date


# ---------------------------------------------------------------- helpers

def _months(end: date) -> list[date]:
    """First days of the months delivered by `end` (a month's files arrive on its last day)."""
    out, m = [], FIRST_MONTH
    while _month_end(m) <= end:
        out.append(m)
        m = _month_end(m) + timedelta(1)
    return out


def _month_end(m: date) -> date:
    return date(m.year + m.month // 12, m.month % 12 + 1, 1) - timedelta(1)


def _day_in(rng, m: date) -> date:
    return m + timedelta(rng.randrange(_month_end(m).day))


def _date_text(rng, d: date | None) -> str:
    if d is None:
        return ""
    r = rng.random()
    if r < 0.05:
        return f"{d.year}/{d.month}/{d.day}"
    if r < 0.08:
        return f"{d.year}年{d.month}月{d.day}日"
    return d.isoformat()


def _pick(rng, weights: dict):
    return rng.choices(list(weights), list(weights.values()))[0]


def _write(landing: Path, feed: Feed, name: str, data: bytes) -> None:
    folder = landing / feed.source / feed.feed
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{name}.part"  # never matches a feed glob while half written
    part.write_bytes(data)
    os.replace(part, folder / name)


# ---------------------------------------------------------------- plans

class _Units:
    """The emb/accidents units (same names as in demo.generate), each given one plan."""

    def __init__(self, seed: int):
        self.units = _units(_rng(seed, "units"), 240)[:120]
        _rng(seed, "emergency", "units").shuffle(self.units)
        self.used = 0

    def next(self):
        unit = self.units[self.used % len(self.units)]
        self.used += 1
        if self.used > len(self.units):  # more plans than units: a branch of a known unit
            unit = replace(unit, name=unit.name.replace("有限公司", f"第{self.used // len(self.units) + 1}分公司"))
        return unit


def _community(code: str, n: int, published: date) -> Plan:
    short = dict(STREETS)[code]
    name = COMMUNITIES[code][n - 1]
    return Plan(f"SQ-{code}-{n:02d}", f"{name}社区突发事件应急预案", "社区", f"{short}街道{name}社区居委会",
                f"JD-{code}", published)


def _enterprise(rng, plans: dict[str, Plan], units: _Units, number: int, published: date) -> Plan:
    unit = units.next()
    communities = sorted(k for k, p in plans.items() if p.tier == "社区" and k != "SQ-DX-04")
    if rng.random() < 0.6:
        parent = rng.choice(communities)
    else:
        parent = INDUSTRY_PARENT.get(unit.industry, "BM-001")
    return Plan(f"QY-{number:04d}", f"{unit.name}生产安全事故应急预案", "企业", unit.name, parent, published)


# The fifth community of each street is published every other month from March 2018.
FIFTH_COMMUNITIES = {date(2018 + (2 + 2 * i) // 12, (2 + 2 * i) % 12 + 1, 1): code
                     for i, (code, _) in enumerate(STREETS)}


def _plan_lists(seed: int, months: list[date]) -> dict[date, dict[str, Plan]]:
    """The full plan list at the end of every month."""
    rng = _rng(seed, "emergency", "plans", "initial")
    units = _Units(seed)
    plans = {"QJ-001": Plan("QJ-001", "下城区突发事件总体应急预案", "区级", "下城区人民政府", None,
                            date(2017, 3, 20))}
    for pid, owner, name, first in DEPARTMENTS:
        if first == FIRST_MONTH:
            plans[pid] = Plan(pid, name, "部门", owner, "QJ-001", date(2016, 6, 1) + timedelta(rng.randrange(540)))
    for code, short in STREETS:
        plans[f"JD-{code}"] = Plan(f"JD-{code}", f"{short}街道突发事件总体应急预案", "街道", f"{short}街道办事处",
                                   "QJ-001", date(2017, 5, 1) + timedelta(rng.randrange(200)))
        for n in range(1, 5):
            plans[f"SQ-{code}-{n:02d}"] = _community(code, n, date(2017, 8, 1) + timedelta(rng.randrange(150)))
    highest = 0  # enterprise plan numbers are never reused after a withdrawal
    for _ in range(45):
        highest += 1
        plans[f"QY-{highest:04d}"] = _enterprise(rng, plans, units, highest,
                                                 date(2017, 1, 1) + timedelta(rng.randrange(365)))
    # Broken links present from the start (see the module docstring).
    plans["QY-0006"] = replace(plans["QY-0006"], parent=None)
    plans["QY-0013"] = replace(plans["QY-0013"], parent="SQ-WL-09")
    plans["SQ-DX-04"] = replace(plans["SQ-DX-04"], parent=None)
    plans["QY-0021"] = replace(plans["QY-0021"], parent="SQ-DX-04")
    special = {"QY-0006", "QY-0013", "QY-0021"}  # never withdrawn

    lists: dict[date, dict[str, Plan]] = {}
    for m in months:
        rng = _rng(seed, "emergency", "plans", f"{m:%Y%m}")
        for pid, owner, name, first in DEPARTMENTS:
            if first == m and pid not in plans:
                plans[pid] = Plan(pid, name, "部门", owner, "QJ-001", _day_in(rng, m))
        if m in FIFTH_COMMUNITIES:
            code = FIFTH_COMMUNITIES[m]
            plans[f"SQ-{code}-05"] = _community(code, 5, _day_in(rng, m))
        if sum(p.tier == "企业" for p in plans.values()) < 90 and rng.random() < 0.6:
            highest += 1
            plans[f"QY-{highest:04d}"] = _enterprise(rng, plans, units, highest, _day_in(rng, m))
        if rng.random() < 0.15:  # a unit closed: its plan leaves the list
            closable = sorted(k for k, p in plans.items() if p.tier == "企业" and k not in special)
            del plans[rng.choice(closable)]
        if m == date(2018, 5, 1):  # JD-CQ's parent mistyped, May to September 2018
            plans["JD-CQ"] = replace(plans["JD-CQ"], parent="QJ-01")
        if m == date(2018, 10, 1):
            plans["JD-CQ"] = replace(plans["JD-CQ"], parent="QJ-001", revised=_day_in(rng, m))
        if m == date(2019, 3, 1):  # a group company and its subsidiary name each other
            a, b = highest + 1, highest + 2
            highest += 2
            for this, other in ((a, b), (b, a)):
                plan = _enterprise(rng, plans, units, this, _day_in(rng, m))
                plans[plan.id] = replace(plan, parent=f"QY-{other:04d}")
                special.add(plan.id)
        if m == date(2020, 7, 1):  # SQ-SQ-05 merged into SQ-SQ-01; one enterprise plan not updated
            children = sorted(k for k, p in plans.items() if p.parent == "SQ-SQ-05")
            if not children:
                highest += 1
                children = [f"QY-{highest:04d}"]
                plans[children[0]] = _enterprise(rng, plans, units, highest, date(2019, 11, 5))
            for k in children[1:]:
                plans[k] = replace(plans[k], parent="SQ-SQ-01", revised=_day_in(rng, m))
            plans[children[0]] = replace(plans[children[0]], parent="SQ-SQ-05")
            special.add(children[0])
            del plans["SQ-SQ-05"]
        if m == date(2021, 2, 1):  # a new enterprise plan entered without its parent
            highest += 1
            plan = _enterprise(rng, plans, units, highest, _day_in(rng, m))
            plans[plan.id] = replace(plan, parent=None)
            special.add(plan.id)
        for pid in rng.sample(sorted(plans), rng.randint(1, 3)):  # revisions of the month
            if plans[pid].published < m:
                plans[pid] = replace(plans[pid], revised=_day_in(rng, m))
        lists[m] = dict(plans)
    return lists


def _plan_files(seed: int, lists: dict[date, dict[str, Plan]]) -> dict[str, bytes]:
    files = {}
    for m, plans in lists.items():
        rng = _rng(seed, "emergency", "plans-text", f"{m:%Y%m}")
        rows: list = []
        for pid in sorted(plans):
            p = plans[pid]
            rows.append([p.id, p.name, p.tier, p.owner, p.parent or "", _date_text(rng, p.published),
                         _date_text(rng, p.revised)])
        if rng.random() < 0.15:  # one unreadable date
            i = rng.randrange(1, len(rows))
            rows[i][6] = rng.choice((f"{m.year}-02-30", f"{m.year}-13-01"))
        if rng.random() < 0.12:  # a hand-typed line: unquoted comma in the plan name
            i = rng.randrange(1, len(rows))
            r = rows[i]
            rows[i] = ",".join([r[0], r[1].replace("应急预案", "应急预案,试行")] + r[2:])
        files[_name(EMERGENCY_PLANS, f"{m:%Y%m}")] = _csv(EMERGENCY_PLANS, rows)
    return files


# ---------------------------------------------------------------- drills

def _drill_files(seed: int, lists: dict[date, dict[str, Plan]]) -> dict[str, bytes]:
    by_month: dict[date, list] = {m: [] for m in lists}
    counter: Counter = Counter()
    corrections: dict[date, list] = {}
    months = list(lists)
    for i, m in enumerate(months):
        rng = _rng(seed, "emergency", "drills", f"{m:%Y%m}")
        plans = lists[m]
        drills = []
        for pid in sorted(plans):
            p = plans[pid]
            if rng.random() < DRILL_RATE[p.tier] / 12:
                drills.append((_day_in(rng, m), p))
        drills.sort(key=lambda d: (d[0], d[1].id))
        rows = []
        for day, p in drills:
            counter[m.year] += 1
            rows.append([f"YL-{m.year}-{counter[m.year]:04d}", p.id, day.isoformat(),
                         _pick(rng, DRILL_FORMS[p.tier]), str(rng.randint(*PARTICIPANTS[p.tier]))])
        if rows and m.month == 1 + _rng(seed, "emergency", "drills-typo", m.year).randrange(12):
            row = rng.choice(rows)  # the plan id typed without its hyphen
            row[1] = row[1].replace("-", "", 1)
        if rows and m.month == 1 + _rng(seed, "emergency", "drills-bad-date", m.year).randrange(12):
            counter[m.year] += 1
            rows.append([f"YL-{m.year}-{counter[m.year]:04d}", rng.choice(sorted(plans)), f"{m.year}-02-30",
                         "桌面", str(rng.randint(10, 40))])
        if rows and m.month == 1 + _rng(seed, "emergency", "drills-bad-width", m.year).randrange(12):
            counter[m.year] += 1
            rows.append(",".join([f"YL-{m.year}-{counter[m.year]:04d}", rng.choice(sorted(plans)),
                                  _day_in(rng, m).isoformat(), "实战"]))
        by_month[m] += rows
        for row in rows:  # a correction of 参演人数 in next month's file
            if isinstance(row, list) and not row[2].endswith("-02-30") and rng.random() < 0.06 \
                    and i + 1 < len(months):
                fixed = list(row)
                fixed[4] = str(max(1, int(row[4]) + rng.choice((-5, -3, -2, 2, 3, 5, 10))))
                corrections.setdefault(months[i + 1], []).append(fixed)
    files = {}
    for m, rows in by_month.items():
        files[_name(EMERGENCY_DRILLS, f"{m:%Y%m}")] = _csv(EMERGENCY_DRILLS, corrections.get(m, []) + rows)
    return files


# ---------------------------------------------------------------- resources

def _new_resource(rng, number: int, updated: date) -> Resource:
    code, short = rng.choice(STREETS)
    r = rng.random()
    if r < 0.03:
        street = rng.choice(UNMAPPABLE)
    elif r < 0.07:
        street = ""  # district stock, no street
    else:
        street = _street_text(rng, short)
    kind = rng.choices(("救援队伍", "应急物资", "应急装备"), (2, 5, 3))[0]
    if kind == "救援队伍":
        community = rng.choice(COMMUNITIES[code])
        name = rng.choice((f"{short}街道应急救援队", f"{short}街道志愿消防队", f"{community}社区微型消防站",
                           f"{short}街道防汛抢险队"))
        quantity, unit = (1, "支") if rng.random() < 0.1 else (rng.randint(8, 60), "人")
    else:
        name, unit, low, high = rng.choice(SUPPLIES if kind == "应急物资" else EQUIPMENT)
        quantity = rng.randint(low, high)
    return Resource(f"ZY-{number:04d}", kind, name, quantity, unit, street, updated)


def _resource_lists(seed: int, months: list[date]) -> dict[date, dict[str, Resource]]:
    rng = _rng(seed, "emergency", "resources", "initial")
    items = {}
    for n in range(1, 166):
        r = _new_resource(rng, n, date(2017, 6, 1) + timedelta(rng.randrange(200)))
        items[r.id] = r
    highest = 165
    lists = {}
    for m in months:
        rng = _rng(seed, "emergency", "resources", f"{m:%Y%m}")
        if len(items) < 205 and rng.random() < 0.5:
            highest += 1
            items[f"ZY-{highest:04d}"] = _new_resource(rng, highest, _day_in(rng, m))
        if rng.random() < 0.1:
            del items[rng.choice(sorted(items))]
        for rid in rng.sample(sorted(items), rng.randint(2, 5)):
            r = items[rid]
            items[rid] = replace(r, quantity=max(1, round(r.quantity * rng.uniform(0.7, 1.3))),
                                 updated=_day_in(rng, m))
        lists[m] = dict(items)
    return lists


def _resource_files(seed: int, lists: dict[date, dict[str, Resource]]) -> dict[str, bytes]:
    files = {}
    for m, items in lists.items():
        rng = _rng(seed, "emergency", "resources-text", f"{m:%Y%m}")
        rows: list = []
        for rid in sorted(items):
            r = items[rid]
            quantity = f"{r.quantity:,}" if r.quantity >= 1000 and rng.random() < 0.2 else str(r.quantity)
            rows.append([r.id, r.type, r.name, quantity, r.unit, r.street, _date_text(rng, r.updated)])
        if rng.random() < 0.12:  # one unreadable 更新日期
            i = rng.randrange(len(rows))
            rows[i][6] = f"{m.year}-06-31"
        if rng.random() < 0.10:  # a hand-typed line: unquoted comma in the name
            i = rng.randrange(len(rows))
            r = rows[i]
            rows[i] = ",".join(r[:2] + [r[2] + ",备用"] + r[3:])
        files[_name(EMERGENCY_RESOURCES, f"{m:%Y%m}")] = _csv(EMERGENCY_RESOURCES, rows)
    return files


# ---------------------------------------------------------------- files

def _build(seed: int, end: date) -> dict[tuple[Feed, str], bytes]:
    months = _months(end)
    if not months:
        return {}
    plan_lists = _plan_lists(seed, months)
    files: dict[tuple[Feed, str], bytes] = {}
    files.update({(EMERGENCY_PLANS, n): b for n, b in _plan_files(seed, plan_lists).items()})
    files.update({(EMERGENCY_DRILLS, n): b for n, b in _drill_files(seed, plan_lists).items()})
    files.update({(EMERGENCY_RESOURCES, n): b
                  for n, b in _resource_files(seed, _resource_lists(seed, months)).items()})
    feed, period = RESEND
    original = _name(feed, period)
    if (feed, original) in files:  # the same bytes delivered a second time under another name
        files[(feed, original.replace(".csv", "_resend.csv"))] = files[(feed, original)]
    return files


def generate(home: Path, seed: int, end: date) -> dict[str, int]:
    """Write the Command Centre's deliveries into <home>/landing; return files written per feed."""
    landing = Settings(home=Path(home).resolve()).landing
    summary = Counter()
    for (feed, name), data in sorted(_build(seed, end).items(), key=lambda kv: (kv[0][0].id, kv[0][1])):
        _write(landing, feed, name, data)
        summary[f"{feed.source}/{feed.feed}"] += 1
    return {f"{f.source}/{f.feed}": summary[f"{f.source}/{f.feed}"] for f in FEEDS}
