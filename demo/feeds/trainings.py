"""Demo deliveries of emb/trainings: safety training and public education (宣传教育与培训).

`generate(home, seed, end)` writes `<home>/landing/emb/trainings/trainings_YYYYMM.csv` as the
bureau's education section (宣教科) delivers it (../shared/feeds/README.md, "emb/trainings"): one
UTF-8 CSV per month from 2018-01, delivered on the month's last day (only months that ended on or
before `end`), one row per activity as its organiser reports it. Header and encoding come from
citysafety.sources (demo.generate._csv).

Output depends only on (seed, end): a month's activities come from its own
`_rng(seed, "trainings", "YYYYMM")`, each enterprise's training plan for a year from
`_rng(seed, "trainings", "plan", <code>, YYYY)`, the once-a-year defects from
`_rng(seed, "trainings-defects", YYYY)`, and the enterprises from
demo.feeds.enterprises_risk_points.registry (prefix-stable: month m's snapshot does not depend on
the end date). A later end date only adds files.

Story. Enterprises are the registry's units (the 240 units of the other feeds, same codes, plus
the others; the snapshot of each month, the January 2019 one for 2018). National rules want every
enterprise's principal (企业主要负责人) and safety managers (安全管理人员) trained and assessed; the
bureau's campaign grows: each year an active enterprise is in the programme with probability
COVERAGE (2018 0.30, 2019 0.50, 2020 0.68, later 0.72): its principal and its safety managers are
each trained once that year (one row each, for that one enterprise, with its 统一社会信用代码;
参加人次 1-2 and 1-3), 93 % pass (考核合格人数 >= 1); a failed one is retaken 1-3 months later
(90 % pass). Outside the programme 15 % of enterprises train one of the two. So the share of
active enterprises with a principal and a safety manager both passed within the calendar year is
about 0.30 (2018), 0.51 (2019), 0.65 (2020) (default seed; denominator: the registry's December
snapshot, January 2019's for 2018). Besides (per month): 1-3 特种作业人员 trainings by
training institutions (many enterprises, no code), 1-4 从业人员 trainings of one enterprise
(消防 or 岗位 safety, half without an assessment), 3-6 宣传活动 for 居民 or 学生 by street (more in
May, June and November: 防灾减灾日, 安全生产月, 119消防日), 1-3 应急演练进社区, 1-2
安全教育基地参观 (30-400 attendances each), 0-3 线上课程 (所属街道 empty, 参加人次 = page
views, 5,000-60,000; more from 2020) and 0-1 district-wide activities (street empty; the
安全生产月 launch every June). Organisers: 区应急管理局宣教科, the street offices
(`武林街道办事处`...), 区消防救援大队 and three training institutions. About 40 activities a month
in 2018, 55 in 2019, 70 in 2020. Ids `<XJ|JD|XF|PX>-YYYYMM-NNN` (organiser kind, month, number).

Defects, and where they appear (each at least once a year: a designated month forces it when
chance did not):

| defect                                                            | where |
|-------------------------------------------------------------------|-------|
| 参加人次 written `约200人` / `200余人` / `200多人次` / `200人左右`     | ~5 % of non-training, non-online activities |
| 考核合格人数 above 参加人次 (one more, or typed ten times)            | ~1 % of trainings with an assessment |
| the same activity reported by two organisers under two ids (same  | ~3 % of activities (not online courses) |
|   date, topic and street; 参加人次 sometimes counted differently)    |       |
| 活动日期 in the future: decade digit typed 9 (2018-05-14 ->          | one public activity a year -> quarantined at ingest |
|   2098-05-14)                                                       |       |
| 所属街道 spelled `武林街道` / `武林` / `武林街道办事处` /              | any row with a street (demo.generate._street_text) |
|   `下城区武林街道`, stray spaces                                      |       |
| 所属街道 that maps to no street (`不详`, `城东`, `下城区`)           | ~2 % of rows with a street (public activities 2.5 %, |
|                                                                     |   enterprise trainings the registry's ~1.5 % + 0.8 %) |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from citysafety.sources import EMB_TRAININGS as FEED
from demo.feeds.enterprises_risk_points import FIRST_MONTH as REGISTRY_FIRST, registry
# The Command Centre's monthly calendar: its lists, like these, start in January 2018.
from demo.feeds.emergency import _month_end, _months
from demo.generate import UNMAPPABLE, _csv, _name, _rng, _street_text, write_delivered

COVERAGE = {2018: 0.30, 2019: 0.50, 2020: 0.68}
LATER_COVERAGE = 0.72
PASS, RETAKE_PASS, PARTIAL = 0.93, 0.90, 0.15
STREETS = (("WL", "武林"), ("TS", "天水"), ("CH", "朝晖"), ("CM", "潮鸣"),
           ("CQ", "长庆"), ("SQ", "石桥"), ("DX", "东新"), ("WH", "文晖"))
BUREAU, FIRE = "区应急管理局宣教科", "区消防救援大队"
INSTITUTIONS = ("杭州市安全生产培训中心", "下城区安全生产协会培训部", "浙江安培职业技能培训学校")
PREFIX = {BUREAU: "XJ", FIRE: "XF", **{i: "PX" for i in INSTITUTIONS}}  # street offices: JD
PRINCIPAL, MANAGER = "企业主要负责人", "安全管理人员"
PUBLIC_TOPICS = {
    "居民": ("燃气安全进万家", "电动自行车安全充电宣传", "家庭用电安全常识", "防汛防台知识宣传",
           "高层住宅消防安全宣传", "应急避险知识讲座", "老年人防跌倒安全课堂"),
    "学生": ("交通安全进校园", "校园消防安全第一课", "防溺水安全教育", "地震避险知识课堂"),
}
SEASONAL = {5: ("防灾减灾日主题宣传", 12), 6: ("安全生产月咨询日", 16), 11: ("119消防宣传日", 9)}
DRILLS = ("高层住宅火灾疏散演练", "防汛防台应急演练", "地震应急疏散演练", "燃气泄漏应急处置演练",
          "电动自行车火灾处置演练")
BASES = ("杭州市安全生产宣传教育基地参观", "消防科普教育馆参观", "防灾减灾体验馆参观")
ONLINE = ("安全生产网络知识竞赛", "线上安全生产公开课", "应急科普微课堂", "《安全生产法》网上学习")
DISTRICT = ("全区安全生产知识竞赛", "应急管理进机关专题讲座", "全区安全生产宣传咨询活动")
SPECIAL = ("特种作业人员（电工作业）培训考核", "特种作业人员（焊接与热切割作业）培训考核",
           "特种作业人员（高处作业）培训考核", "特种作业人员（制冷与空调作业）培训考核")
WORKERS = ("从业人员消防安全培训", "新员工三级安全教育", "有限空间作业安全培训", "岗位安全操作规程培训")


@dataclass
class Activity:
    day: date
    type: str
    topic: str
    organiser: str
    street: str | None  # short street name or an unmappable spelling; None: no street
    audience: str
    uscc: str = ""
    attendances: int = 0
    passed: int | None = None
    hours: float = 2
    text: dict = field(default_factory=dict)  # delivered spellings that differ from the values
    id: str = ""


@dataclass(frozen=True)
class Plan:
    """One enterprise's trainings of one year: (对象, month, passed) in order."""
    sessions: tuple[tuple[str, int, bool], ...]


# ---------------------------------------------------------------- helpers

def _weekday(rng, m: date) -> date:
    days = [m + timedelta(i) for i in range(_month_end(m).day) if (m + timedelta(i)).weekday() < 5]
    return rng.choice(days)


def coverage_share(year: int) -> float:
    return COVERAGE.get(year, LATER_COVERAGE)


def _opened(unit) -> date:
    """First month a registry unit is listed (units of the first snapshot: before 2018)."""
    if unit.opened == 0:
        return date(2000, 1, 1)
    i = REGISTRY_FIRST.month - 1 + unit.opened
    return date(REGISTRY_FIRST.year + i // 12, i % 12 + 1, 1)


def plan(seed: int, unit, year: int) -> Plan:
    """The enterprise's principal and safety-manager trainings of `year`."""
    rng = _rng(seed, "trainings", "plan", unit.code, year)
    opened = _opened(unit)
    first = opened.month if opened.year == year else 1
    roles = [PRINCIPAL, MANAGER]
    r = rng.random()
    if r >= coverage_share(year):
        roles = [rng.choice(roles)] if rng.random() < PARTIAL else []
    sessions = []
    for role in roles:
        month = rng.randint(first, 12)
        ok = rng.random() < PASS
        sessions.append((role, month, ok))
        if not ok:
            again = month + rng.randint(1, 3)
            if again <= 12:
                sessions.append((role, again, rng.random() < RETAKE_PASS))
    return Plan(tuple(sessions))


# ---------------------------------------------------------------- activities of a month

def _enterprise_trainings(seed: int, rng, m: date, active: list, plans: dict) -> list[Activity]:
    out = []
    for u in active:
        key = (u.code, m.year)
        if key not in plans:
            plans[key] = plan(seed, u, m.year)
        for role, month, ok in plans[key].sessions:
            if month != m.month:
                continue
            people = rng.choices((1, 2), (9, 1))[0] if role == PRINCIPAL else rng.choices((1, 2, 3), (5, 3, 2))[0]
            passed = (people if rng.random() < 0.85 else rng.randint(1, people)) if ok else 0
            topic = (rng.choice(("主要负责人安全生产知识和管理能力培训考核", "主要负责人安全生产继续教育"))
                     if role == PRINCIPAL else
                     rng.choice(("安全生产管理人员安全生产知识和管理能力培训考核", "安全管理人员安全生产继续教育")))
            street = rng.choice(UNMAPPABLE) if rng.random() < 0.008 else u.street  # 不详 typed by the organiser
            out.append(Activity(_weekday(rng, m), "安全培训", topic, rng.choice((BUREAU, BUREAU) + INSTITUTIONS),
                                street, role, u.code, people, passed, rng.choice((12, 16, 24, 32))))
    return out


def _street(rng) -> str:
    return rng.choice(UNMAPPABLE) if rng.random() < 0.025 else rng.choice(STREETS)[1]


def _office(street: str, rng) -> str:
    return f"{street}街道办事处" if street not in UNMAPPABLE else rng.choice((BUREAU, FIRE))


def _other_activities(rng, m: date, active: list) -> list[Activity]:
    out = []
    for _ in range(rng.randint(1, 3)):  # special operations: many enterprises, at an institution
        people = rng.randint(20, 60)
        out.append(Activity(_weekday(rng, m), "安全培训", rng.choice(SPECIAL), rng.choice(INSTITUTIONS),
                            None, "特种作业人员", "", people, people - rng.choice((0, 0, 1, 2, 3, 5)),
                            rng.choice((24, 32, 40, 48))))
    for _ in range(rng.randint(1, 4)):  # workers of one enterprise
        u = rng.choice(active)
        people = rng.randint(8, 60)
        assessed = rng.random() < 0.5
        organiser = rng.choice((FIRE, rng.choice(INSTITUTIONS), _office(u.street, rng)
                                if u.street not in UNMAPPABLE else BUREAU))
        out.append(Activity(_weekday(rng, m), "安全培训", rng.choice(WORKERS), organiser, u.street, "从业人员",
                            u.code, people, people - rng.randint(0, 3) if assessed else None,
                            rng.choice((2, 4, 8))))
    public = rng.randint(3, 6)
    if m.month in SEASONAL:
        topic, dom = SEASONAL[m.month]
        for _, street in rng.sample(STREETS, rng.randint(3, 6)):  # streets on the day
            out.append(Activity(date(m.year, m.month, dom), "宣传活动", topic, _office(street, rng), street, "居民",
                                attendances=rng.randint(80, 400), hours=rng.choice((2, 3, 4))))
    for _ in range(public):
        street = _street(rng)
        audience = rng.choices(("居民", "学生"), (7, 3))[0]
        organiser = rng.choice((_office(street, rng), _office(street, rng), BUREAU, FIRE))
        out.append(Activity(_weekday(rng, m), "宣传活动", rng.choice(PUBLIC_TOPICS[audience]), organiser, street,
                            audience, attendances=rng.randint(30, 300), hours=rng.choice((1, 1.5, 2))))
    for _ in range(rng.randint(1, 3)):
        street = _street(rng)
        out.append(Activity(_weekday(rng, m), "应急演练进社区", rng.choice(DRILLS), rng.choice((_office(street, rng), FIRE)),
                            street, "居民", attendances=rng.randint(50, 300), hours=rng.choice((1, 1.5, 2))))
    for _ in range(rng.randint(1, 2)):
        street = _street(rng)
        audience = rng.choices(("学生", "居民"), (6, 4))[0]
        out.append(Activity(_weekday(rng, m), "安全教育基地参观", rng.choice(BASES), rng.choice((_office(street, rng), BUREAU)),
                            street, audience, attendances=rng.randint(30, 200), hours=rng.choice((2, 3))))
    online = {2018: (0, 1), 2019: (1, 2)}.get(m.year, (2, 3))
    for _ in range(rng.randint(*online)):
        out.append(Activity(_weekday(rng, m), "线上课程", rng.choice(ONLINE), BUREAU, None,
                            rng.choice(("居民", "从业人员")), attendances=rng.randint(5000, 60000),
                            hours=rng.choice((0.5, 1, 1.5, 2))))
    if m.month == 6:
        out.append(Activity(date(m.year, 6, 1) + timedelta(rng.randrange(3)), "宣传活动", "安全生产月启动仪式", BUREAU,
                            None, "居民", attendances=rng.randint(300, 800), hours=2))
    elif rng.random() < 0.4:
        out.append(Activity(_weekday(rng, m), "宣传活动", rng.choice(DISTRICT), BUREAU, None,
                            rng.choice(("居民", "从业人员")), attendances=rng.randint(100, 500), hours=rng.choice((2, 3))))
    return out


def _approx(rng, n: int) -> str:
    if n >= 100:
        n = round(n, -2) if rng.random() < 0.5 else round(n, -1)
    else:
        n = round(n, -1) or n
    return rng.choice((f"约{n}人", f"{n}余人", f"{n}多人次", f"{n}人左右"))


@dataclass(frozen=True)
class YearPlan:
    """The months (1-12) where a once-a-year defect is ensured."""
    approx: int
    over: int
    twin: int
    future: int


def _year_plan(seed: int, year: int) -> YearPlan:
    rng = _rng(seed, "trainings-defects", year)
    return YearPlan(rng.randint(1, 12), rng.randint(1, 12), rng.randint(1, 12), rng.randint(1, 12))


def _month_rows(seed: int, m: date, active: list, plans: dict) -> list[list]:
    rng = _rng(seed, "trainings", f"{m:%Y%m}")
    year = _year_plan(seed, m.year)
    acts = _enterprise_trainings(seed, rng, m, active, plans) + _other_activities(rng, m, active)
    seen = set()
    for a in acts:  # two distinct activities never share date, topic, street and enterprise
        while (key := (a.day, a.topic, a.street, a.uscc)) in seen:
            a.day = _weekday(rng, m)
        seen.add(key)
    acts.sort(key=lambda a: (a.day, a.type, a.topic, a.uscc, a.organiser))

    # Defects that change a value (each at least once a year; see the module docstring).
    loose = [a for a in acts if a.type not in ("安全培训", "线上课程")]
    for a in loose:
        if rng.random() < 0.05:
            a.text["attendances"] = _approx(rng, a.attendances)
    if m.month == year.approx and not any("attendances" in a.text for a in loose) and loose:
        a = rng.choice(loose)
        a.text["attendances"] = _approx(rng, a.attendances)
    assessed = [a for a in acts if a.passed is not None]
    for a in assessed:
        if rng.random() < 0.01:
            a.passed = _over(rng, a.attendances)
    if m.month == year.over and not any(a.passed > a.attendances for a in assessed):
        a = rng.choice([a for a in assessed if a.attendances >= 3] or assessed)
        a.passed = _over(rng, a.attendances)
    twins = []
    pool = [a for a in acts if a.type != "线上课程"]
    chosen = [a for a in pool if rng.random() < 0.03]
    if m.month == year.twin and not chosen:
        chosen = [rng.choice(pool)]
    for a in chosen:
        others = [o for o in (BUREAU, FIRE, *INSTITUTIONS,
                              *(f"{s}街道办事处" for _, s in STREETS)) if o != a.organiser]
        if a.street not in (None, *UNMAPPABLE):
            others = [f"{a.street}街道办事处", BUREAU, FIRE]
            others = [o for o in others if o != a.organiser]
        counted = a.attendances if rng.random() < 0.7 else max(1, a.attendances + rng.randint(-20, 20))
        if a.type != "安全培训":
            counted = min(400, max(30, counted))
        twins.append(Activity(a.day, a.type, a.topic, rng.choice(others), a.street, a.audience, a.uscc,
                              counted if a.passed is None else a.attendances, a.passed, a.hours))
    if m.month == year.future:  # the decade digit typed 9: quarantined at ingest
        a = rng.choice([a for a in acts if a.type in ("宣传活动", "应急演练进社区", "安全教育基地参观")
                        and not any(a is c for c in chosen)])
        a.text["day"] = f"{str(a.day.year)[:2]}9{str(a.day.year)[3]}-{a.day:%m-%d}"
    acts += twins  # the second organiser's reports, at the end of the file

    counter = 0
    rows = []
    for a in acts:
        counter += 1
        prefix = PREFIX.get(a.organiser, "JD")
        a.id = f"{prefix}-{m:%Y%m}-{counter:03d}"
        street = "" if a.street is None else _street_text(rng, a.street)
        hours = f"{a.hours:g}"
        rows.append([a.id, a.text.get("day", a.day.isoformat()), a.type, a.topic, a.organiser, street, a.audience,
                     a.uscc, a.text.get("attendances", str(a.attendances)),
                     "" if a.passed is None else str(a.passed), hours])
    return rows


def _over(rng, attendances: int) -> int:
    return attendances * 10 if attendances >= 2 and rng.random() < 0.4 else attendances + rng.randint(1, 3)


# ---------------------------------------------------------------- files

def snapshots(seed: int, end: date) -> dict[date, list]:
    """Active registry units by month (first day) for every delivered month; 2018: January 2019's."""
    months = _months(end)
    if not months:
        return {}
    listed = {day.replace(day=1): units for day, units in registry(seed, max(end, _month_end(REGISTRY_FIRST)))}
    first = listed[REGISTRY_FIRST]
    return {m: listed.get(m, first) if m >= REGISTRY_FIRST else first for m in months}


def files(seed: int, end: date) -> dict[str, bytes]:
    plans: dict = {}
    out = {}
    for m, active in snapshots(seed, end).items():
        out[_name(FEED, f"{m:%Y%m}")] = _csv(FEED, _month_rows(seed, m, active, plans))
    return out


def generate(home: Path, seed: int, end: date) -> dict[str, int]:
    """Write the education section's monthly files into <home>/landing; return files written."""
    return write_delivered(home, FEED, files(seed, end))
