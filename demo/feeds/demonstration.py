"""Demo deliveries of safety_office/demonstration: the creation of demonstration streets and communities.

`generate(home, seed, end)` writes `<home>/landing/safety_office/demonstration/demonstration_YYYYQn.xlsx`
as the District Safety Committee Office (区安委办) delivers it (../shared/feeds/README.md,
"safety_office/demonstration"): one workbook per quarter from 2018Q1, delivered on the 10th of the
month after the quarter (only quarters delivered on or before `end`), sheet `创建进展`, header on
row 1, one row per creating unit and criterion of the assessment sheet (评分细则). Header and
sheet come from citysafety.sources.

Output depends only on (seed, end): the story (units, their profiles, stages and scores) is drawn
from `random.Random`s per unit and quarter (`_rng(seed, "demonstration", ...)`) and never looks at
`end`; a quarter's spellings and defects come from its own `_rng(seed, "demonstration-text",
"YYYYQn")`; a workbook's bytes depend only on its content and delivery day. A later end date only
adds files.

Story. The 2018-2020 action plan creates 安全发展示范街道 and 示范社区. Units (listed from 2018Q1,
`未启动` until they apply):
- the 8 streets, `CJ-<code>-001` (单位层级 街道, 创建类型 安全发展示范街道, 所属街道 itself);
- 21 communities, 2-3 per street (5 streets with 3), `CJ-<code>-002`.., named after
  demo.feeds.emergency.COMMUNITIES and written in full, `<street>街道<name>社区`; 天水街道 always
  has 武林门社区 (`天水街道武林门社区`: its name contains another street's name). Half 安全社区,
  half 综合减灾示范社区;
- 4 new communities that apply in 2021Q2, 2021Q4, 2022Q3 and 2023Q2 (listed from then on).
Each unit moves 未启动 -> 申报 -> 创建中 (1-6 quarters) -> 自评 -> 区级评估 -> 市级命名; 阶段日期 is the
day the stage was reached (a day of the quarter it was reached in; empty while 未启动). Two
units applied in 2017Q4 (a unit's 申报 quarter may precede the first file). 目标年度 is the year
it plans to be named (2018-2022 for the action plan's units). A unit's profile (fixed list below,
shuffled over the units by the seed) sets when it applies, how long it builds and how its
assessments end:
- streets: named 2018Q4, 2019Q2, 2020Q1, 2020Q4 (after a B3 failure in 2019Q3), 2021Q3,
  2022Q1 (after an overall failure in 2020Q3), 2022Q2, 2022Q4 (applies 2021Q1);
- communities: named 2018Q4, 2019Q1, 2019Q2, 2020Q1 (the regression below), 2020Q2 (after a B3
  failure in 2019Q2), 2020Q2, 2020Q3, then 2021Q1..2023Q3 (one after a B3 failure in 2020Q2,
  one after an overall failure in 2019Q4); the last ones apply in 2021Q2-2021Q3.
So at the end of 2020, 4 of 8 streets and 7 of 21 communities are named.

The criteria (CRITERIA): 12 for a street, 11 for a 安全社区, 10 for a 综合减灾示范社区, ids like
`A1-1`, `B3-2` (B3 = 隐患治理), points summing to 100. 自评得分 is filled from 申报 (half of the
units) or from 创建中 on and grows as the unit builds; 评估得分 is filled in stages 区级评估,
市级命名 and 复评 only (emptied again when a failed unit goes back to 创建中). Assessment rule
(agreement): a unit passes with >= 80 of 100 points and no B3 criterion under 60 % of its
points; a unit that passes is 市级命名 the next quarter; one that fails goes back to 创建中 and
comes to 自评 and 区级评估 again 1-3 quarters later. Three units fail their first assessment on B3
alone while scoring >= 80 overall. A named unit is reassessed (复评) two years (8 quarters)
after its naming and every two years after that; a passed 复评 keeps the stage `复评` (no step
back to 市级命名); one community (named 2018Q4) fails its 复评 in 2020Q4 and goes back to
`创建中` in 2021Q1 - real, not a defect.

Defects, and where they appear:

| defect                                                            | where |
|-------------------------------------------------------------------|-------|
| score above 满分 (10 typed 100, 8 typed 80, or 满分 + 1..5) or       | ~1 % of filled score cells; at least one of |
|   negative (6 typed -6) in 自评得分; above 满分 in 评估得分 only on   |   each kind a year. The mart's reading (cap at |
|   full-mark cells (capped it is the real score)                     |   满分, negative as 0) never changes a verdict |
| a unit listed twice in one quarter, under its full name and a      | one unit-quarter a year (Q1-Q3): 2018 天水街道武林门社区 |
|   short one (`武林门社区`, `武林`), same id, same scores; the       |   / 武林门社区, 2019 武林街道 / 武林, later a random |
|   second copy appended at the end of the sheet                      |   listed unit |
| a stage that goes back without a failed 复评: 自评 -> 申报 (with the | one community, 2019Q3 (自评 2019Q2, 申报 2019Q3, |
|   old 申报 date) for one quarter, then 区级评估                       |   区级评估 2019Q4, 市级命名 2020Q1) |
| (real, not a defect) failed 复评 -> 创建中                           | one community, 复评 2020Q4, 创建中 2021Q1 |
| 评估得分 empty in every row of a unit that is 市级命名               | one named unit in one quarter a year from 2018Q4 |
| 指标名称 wording drifting (、 for ，, a trailing 情况, 健全 for 建立,   | ~25 % of criteria each quarter |
|   机制 for 制度)                                                     |       |
| 所属街道 spelled `天水街道` / `天水` / `天水街道办事处` /              | any unit-quarter (demo.generate._street_text) |
|   `下城区天水街道`, stray ASCII and U+3000 spaces                      |       |
| a community whose name contains another street's name               | 天水街道武林门社区, every quarter |
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from citysafety.sources import SAFETY_OFFICE_DEMONSTRATION as FEED
from demo.feeds.emergency import COMMUNITIES, STREETS
from demo.feeds.enterprises_risk_points import _workbook
from demo.generate import _rng, _street_text, write_delivered

FIRST_YEAR = 2018  # quarter index 0 is 2018Q1
REVIEW_EVERY = 8  # quarters between a naming (or a 复评) and the next 复评
PASS_SHARE, B3_SHARE = 0.8, 0.6  # the agreement's assessment rule

STREET_TYPE = "安全发展示范街道"
COMMUNITY_TYPES = ("安全社区", "综合减灾示范社区")


@dataclass(frozen=True)
class Criterion:
    id: str
    name: str
    points: int


CRITERIA: dict[str, tuple[Criterion, ...]] = {
    "安全发展示范街道": (
        Criterion("A1-1", "成立创建工作领导小组，明确职责分工", 6),
        Criterion("A1-2", "将示范创建纳入街道年度工作目标考核", 6),
        Criterion("A2-1", "建立安全生产党政同责、一岗双责责任体系", 8),
        Criterion("B1-1", "开展辖区安全风险辨识评估，建立风险清单", 10),
        Criterion("B1-2", "重大风险分级管控，落实管控责任单位", 8),
        Criterion("B2-1", "督促生产经营单位落实安全生产主体责任", 8),
        Criterion("B3-1", "建立隐患排查治理制度，网格员定期巡查", 10),
        Criterion("B3-2", "重大隐患挂牌督办，按期整改销号", 10),
        Criterion("B4-1", "编制街道突发事件总体应急预案并定期演练", 8),
        Criterion("B4-2", "建立应急救援队伍和应急物资储备", 8),
        Criterion("C1-1", "开展安全宣传教育五进活动", 8),
        Criterion("C2-1", "消防、交通等公共安全基础设施完善", 10),
    ),
    "安全社区": (
        Criterion("A1-1", "成立社区安全促进委员会", 8),
        Criterion("A2-1", "建立安全社区工作制度和年度计划", 8),
        Criterion("B1-1", "开展社区伤害监测与安全需求调查", 10),
        Criterion("B1-2", "辨识社区高风险人群、场所和环境", 8),
        Criterion("B3-1", "楼道、消防通道等隐患定期排查", 10),
        Criterion("B3-2", "发现隐患及时上报，督促整改", 10),
        Criterion("B4-1", "制定社区应急预案，每年至少演练一次", 10),
        Criterion("B4-2", "配备微型消防站和应急物资", 8),
        Criterion("C1-1", "安全宣传教育覆盖全体居民", 10),
        Criterion("C1-2", "开展老人、儿童等重点人群安全促进项目", 10),
        Criterion("D1-1", "安全社区创建特色项目", 8),
    ),
    "综合减灾示范社区": (
        Criterion("A1-1", "成立社区综合减灾工作领导小组", 8),
        Criterion("A2-1", "建立社区综合减灾工作制度", 8),
        Criterion("B1-1", "开展灾害风险隐患排查，绘制社区风险地图", 12),
        Criterion("B3-1", "建立灾害隐患台账，落实整改", 10),
        Criterion("B3-2", "老旧房屋、低洼易涝点等隐患治理", 10),
        Criterion("B4-1", "制定社区灾害应急预案并组织演练", 12),
        Criterion("B4-2", "建设应急避难场所并设置标识", 10),
        Criterion("B4-3", "设立救灾物资储备点", 8),
        Criterion("C1-1", "开展防灾减灾日宣传教育活动", 12),
        Criterion("D1-1", "组建社区减灾志愿者队伍", 10),
    ),
}


@dataclass(frozen=True)
class Profile:
    """How a unit's creation goes (quarter indexes: 0 is 2018Q1)."""
    start: int  # quarter of 申报 (-1: 2017Q4, before the first file)
    build: int  # quarters in 创建中 before the first 自评
    outcomes: tuple[str, ...] = ()  # district assessments in order (pass / fail_total / fail_b3); then pass
    retry: int = 2  # quarters back in 创建中 after a failed assessment
    review_fail: bool = False  # its first 复评 fails
    regress: bool = False  # defect: shown 申报 for one quarter after its first 自评


# Named at start + build + 3 when the first assessment passes (see the module docstring).
STREET_PROFILES = (
    Profile(-1, 1),  # named 2018Q4
    Profile(0, 2),  # 2019Q2
    Profile(1, 3, ("fail_b3",), retry=2),  # assessed 2019Q3, fails on B3; named 2020Q4
    Profile(2, 3),  # 2020Q1
    Profile(4, 4, ("fail_total",), retry=3),  # assessed 2020Q3, fails; named 2022Q1
    Profile(6, 5),  # 2021Q3
    Profile(9, 5),  # 2022Q2
    Profile(12, 4),  # applies 2021Q1; 2022Q4
)
COMMUNITY_PROFILES = (
    Profile(-1, 1, review_fail=True),  # named 2018Q4; 复评 2020Q4 fails -> 创建中 2021Q1
    Profile(-1, 2),  # 2019Q1
    Profile(0, 2),  # 2019Q2
    Profile(1, 3, regress=True),  # 自评 2019Q2, "申报" 2019Q3, 区级评估 2019Q4, named 2020Q1
    Profile(0, 3, ("fail_b3",), retry=1),  # fails on B3 2019Q2; named 2020Q2
    Profile(2, 4),  # 2020Q2
    Profile(3, 4),  # 2020Q3
    Profile(2, 3, ("fail_total",), retry=3),  # fails 2019Q4; named 2021Q2
    Profile(4, 3, ("fail_b3",), retry=2),  # fails on B3 2020Q2; named 2021Q3
    Profile(4, 5),  # 2021Q1
    Profile(5, 5),  # 2021Q2
    Profile(6, 4),  # 2021Q2
    Profile(7, 5),  # 2021Q4
    Profile(8, 4),  # 2021Q4
    Profile(8, 6),  # 2022Q2
    Profile(9, 5),  # 2022Q2
    Profile(10, 4),  # 2022Q2
    Profile(11, 5),  # 2022Q4
    Profile(12, 4),  # 2022Q4
    Profile(13, 6),  # 2023Q3
    Profile(14, 5),  # applies 2021Q3; 2023Q3
)
NEW_COMMUNITIES = (Profile(13, 4), Profile(15, 5), Profile(18, 4), Profile(21, 5))  # applied later


@dataclass(frozen=True)
class Unit:
    id: str
    name: str  # full name, as normally written
    short: str  # short name (the duplicate-listing defect)
    tier: str  # 街道 | 社区
    street: str  # short street name (武林)
    type: str
    target: int
    listed: int  # first quarter index listed
    profile: Profile
    self_from_apply: bool  # 自评得分 filled from 申报 (else from 创建中)


@dataclass(frozen=True)
class Step:
    stage: str  # as delivered
    reached: int  # quarter index the stage was reached
    event: str | None = None  # pass / fail_total / fail_b3: an assessment (区级评估 or 复评) this quarter


# ---------------------------------------------------------------- quarters

def _quarter(index: int) -> tuple[int, int]:
    return FIRST_YEAR + index // 4, index % 4 + 1


def _delivered(index: int) -> date:
    y, q = _quarter(index)
    return date(y + q // 4, q % 4 * 3 + 1, 10)


def _quarter_days(index: int) -> tuple[date, date]:
    y, q = _quarter(index)
    return date(y, 3 * q - 2, 1), date(y + q // 4, q % 4 * 3 + 1, 1) - timedelta(1)


def _quarters(end: date) -> list[int]:
    """Quarter indexes of the files delivered on or before `end`."""
    out, i = [], 0
    while _delivered(i) <= end:
        out.append(i)
        i += 1
    return out


def _label(index: int) -> str:
    y, q = _quarter(index)
    return f"{y}Q{q}"


# ---------------------------------------------------------------- units and their stories

def units(seed: int) -> list[Unit]:
    """Every creating unit of the story, in id order (independent of any end date)."""
    rng = _rng(seed, "demonstration", "units")
    street_profiles = list(STREET_PROFILES)
    rng.shuffle(street_profiles)
    community_profiles = list(COMMUNITY_PROFILES)
    rng.shuffle(community_profiles)
    codes = [code for code, _ in STREETS]
    three = set(rng.sample(codes, 5)) | {"TS"}
    while len(three) > 5:
        three.discard(rng.choice(sorted(three - {"TS"})))
    picked: dict[str, list[str]] = {}
    for code in codes:
        names = list(COMMUNITIES[code])
        n = 3 if code in three else 2
        chosen = ["武林门"] + rng.sample([x for x in names if x != "武林门"], n - 1) if code == "TS" \
            else rng.sample(names, n)
        picked[code] = sorted(chosen, key=names.index)
    spare = {code: [x for x in COMMUNITIES[code] if x not in picked[code]] for code in codes}
    new_streets = rng.sample(codes, len(NEW_COMMUNITIES))

    def target(p: Profile, cap: int | None) -> int:
        year = _quarter(p.start + p.build + 3)[0]
        return min(year, cap) if cap else year

    out: list[Unit] = []
    for code, short in STREETS:
        profile = street_profiles.pop()
        out.append(Unit(f"CJ-{code}-001", f"{short}街道", short, "街道", short, STREET_TYPE,
                        target(profile, 2022), 0, profile, rng.random() < 0.5))
        for n, name in enumerate(picked[code], start=2):
            profile = community_profiles.pop()
            out.append(Unit(f"CJ-{code}-{n:03d}", f"{short}街道{name}社区", f"{name}社区", "社区", short,
                            rng.choice(COMMUNITY_TYPES), target(profile, 2022), 0, profile, rng.random() < 0.5))
    for code, profile in zip(new_streets, NEW_COMMUNITIES):
        short = dict(STREETS)[code]
        name = spare[code].pop(rng.randrange(len(spare[code])))
        n = sum(u.id.startswith(f"CJ-{code}-") for u in out) + 1
        out.append(Unit(f"CJ-{code}-{n:03d}", f"{short}街道{name}社区", f"{name}社区", "社区", short,
                        rng.choice(COMMUNITY_TYPES), target(profile, None), profile.start, profile,
                        rng.random() < 0.5))
    return sorted(out, key=lambda u: u.id)


def timeline(p: Profile, last: int) -> dict[int, Step]:
    """The stage shown in each quarter from the unit's 申报 to `last` (earlier: 未启动)."""
    steps: dict[int, Step] = {}
    q = p.start
    outcomes = list(p.outcomes)

    def put(stage: str, n: int = 1, event: str | None = None, reached: int | None = None) -> None:
        nonlocal q
        since = q if reached is None else reached
        for i in range(n):
            steps[q] = Step(stage, since, event if i == 0 else None)
            q += 1

    put("申报")
    put("创建中", p.build)
    rounds = reviews = 0
    while q <= last:
        put("自评")
        if p.regress and rounds == 0:
            put("申报", reached=p.start)  # the defect: a step back, then it resumes
        outcome = outcomes.pop(0) if outcomes else "pass"
        rounds += 1
        put("区级评估", event=outcome)
        if outcome != "pass":
            put("创建中", p.retry)
            continue
        put("市级命名", REVIEW_EVERY)
        failed = False
        while q <= last:
            failed = p.review_fail and reviews == 0
            reviews += 1
            review = q
            put("复评", event="fail_total" if failed else "pass")
            if failed:
                break
            put("复评", REVIEW_EVERY - 1, reached=review)
        if failed:
            put("创建中", 2)
    return {k: v for k, v in steps.items() if k <= last}


def passes(criteria: tuple[Criterion, ...], scores: dict[str, float]) -> bool:
    """The agreement's rule: >= 80 % of the full points, no B3 criterion under 60 % of its points."""
    full = sum(c.points for c in criteria)
    total = sum(min(max(scores[c.id], 0), c.points) for c in criteria)
    b3 = all(min(max(scores[c.id], 0), c.points) >= B3_SHARE * c.points
             for c in criteria if c.id.startswith("B3"))
    return total >= PASS_SHARE * full and b3


def _assessment(rng, criteria: tuple[Criterion, ...], outcome: str) -> dict[str, int]:
    """Assessed points per criterion whose verdict under the rule is `outcome`."""
    full = sum(c.points for c in criteria)
    b3 = [c for c in criteria if c.id.startswith("B3")]
    while True:
        level = {"pass": (0.82, 0.93), "fail_total": (0.68, 0.77), "fail_b3": (0.82, 0.9)}[outcome]
        share = rng.uniform(*level)
        scores = {c.id: min(c.points, max(0, round(c.points * (share + rng.uniform(-0.1, 0.1)))))
                  for c in criteria}
        for c in b3:  # B3 holds, unless it is the reason to fail
            scores[c.id] = max(scores[c.id], math.ceil(B3_SHARE * c.points))
        if outcome == "fail_b3":
            c = rng.choice(b3)
            scores[c.id] = rng.randint(math.ceil(0.3 * c.points), math.ceil(B3_SHARE * c.points) - 1)
        total = sum(scores.values())
        if outcome == "fail_total" and total >= PASS_SHARE * full:
            continue
        if outcome != "fail_total" and total < PASS_SHARE * full:
            continue
        assert passes(criteria, scores) == (outcome == "pass")
        return scores


@dataclass(frozen=True)
class State:
    """A unit in one quarter: its step and its scores."""
    step: Step | None  # None: 未启动
    self_points: dict[str, int] | None
    assessed: dict[str, int] | None


def story(seed: int, unit: Unit, last: int) -> dict[int, State]:
    """The unit's state in every listed quarter up to `last` (prefix-stable: a quarter's state
    depends only on the quarters before it)."""
    criteria = CRITERIA[unit.type]
    steps = timeline(unit.profile, last)
    base = _rng(seed, "demonstration", unit.id, "offsets")
    offsets = {c.id: base.uniform(-0.1, 0.08) for c in criteria}
    progress = base.uniform(0.5, 0.62)
    self_points = assessed = None
    out: dict[int, State] = {}
    for q in range(min(unit.profile.start, unit.listed), last + 1):
        step = steps.get(q)
        rng = _rng(seed, "demonstration", unit.id, q)

        def own(level: float) -> dict[str, int]:
            return {c.id: min(c.points, max(0, round(c.points * (level + offsets[c.id] + rng.uniform(-0.04, 0.04)))))
                    for c in criteria}

        if step is None:
            pass
        elif step.event is not None:  # 区级评估 or 复评: the assessors' scores
            assessed = _assessment(rng, criteria, step.event)
            if step.stage == "复评":
                self_points = {c.id: min(c.points, assessed[c.id] + rng.choice((0, 0, 1, 1, 2)))
                               for c in criteria}
        elif step.stage == "申报" and step.reached == q:
            self_points = own(progress) if unit.self_from_apply else None
        elif step.stage == "创建中":
            if step.reached == q and assessed is not None:  # back after a failed assessment
                progress = sum(assessed.values()) / sum(c.points for c in criteria)
                assessed = None
            progress = min(0.9, progress + rng.uniform(0.03, 0.07))
            self_points = own(progress)
        elif step.stage == "自评" and step.reached == q:
            progress = min(0.95, max(progress + 0.05, 0.84))
            self_points = own(progress + 0.04)
        if q >= unit.listed:
            out[q] = State(step, None if step is None else self_points,
                           assessed if step is not None and step.stage in ("区级评估", "市级命名", "复评") else None)
    return out


# ---------------------------------------------------------------- the quarter's sheet

_DRIFT = (("，", "、"), ("建立", "健全"), ("制度", "机制"), ("并", "，"))


def _wording(rng, name: str) -> str:
    if rng.random() >= 0.25:
        return name
    options = [(a, b) for a, b in _DRIFT if a in name]
    if options and rng.random() < 0.7:
        a, b = rng.choice(options)
        return name.replace(a, b, 1)
    return name + "情况"


def _typo(rng, value: int, points: int, negative: bool) -> int:
    if negative:
        return -value if value > 0 else -rng.randint(1, 3)
    if value > 0 and value * 10 > points:
        return value * 10 if rng.random() < 0.6 else points + rng.randint(1, 5)
    return points + rng.randint(1, 5)


@dataclass(frozen=True)
class YearPlan:
    """Where a year's once-a-year defects go (drawn once per year, whatever the quarter)."""
    twin_quarter: int  # quarter (1-3) with a unit listed twice
    twin: str  # its unit id
    blank_index: int | None  # quarter index with 评估得分 emptied for one named unit
    blank: str | None  # that unit's id
    forced_quarter: int  # quarter where a score typed above 满分 and a negative one are ensured


def _year_plan(seed: int, year: int, all_units: list[Unit], states: dict[str, dict[int, State]]) -> YearPlan:
    rng = _rng(seed, "demonstration-defects", year)
    twin_quarter = rng.randint(1, 3)
    forced_quarter = rng.randint(1, 4)
    index = 4 * (year - FIRST_YEAR) + twin_quarter - 1
    pinned = {2018: "天水街道武林门社区", 2019: "武林街道"}.get(year)
    listed = [u for u in all_units if u.listed <= index]
    twin = next((u for u in listed if u.name == pinned), None) or rng.choice(listed)

    def named(i: int) -> list[str]:
        return [u.id for u in all_units if u.listed <= i and states[u.id][i].step is not None
                and states[u.id][i].step.stage == "市级命名"]

    quarters = [i for i in range(4 * (year - FIRST_YEAR), 4 * (year - FIRST_YEAR) + 4) if named(i)]
    blank_index = rng.choice(quarters) if quarters else None
    blank = rng.choice(named(blank_index)) if quarters else None
    return YearPlan(twin_quarter, twin.id, blank_index, blank, forced_quarter)


def _rows(seed: int, index: int, all_units: list[Unit], states: dict[str, dict[int, State]],
          plan: YearPlan) -> list[list]:
    rng = _rng(seed, "demonstration-text", _label(index))
    quarter = _quarter(index)[1]
    listed = [u for u in all_units if u.listed <= index]
    names = {(t, c.id): _wording(rng, c.name) for t, crits in CRITERIA.items() for c in crits}
    blank = plan.blank if index == plan.blank_index else None

    cells, rows = [], []  # cells: (row, column, points, negative allowed)
    for u in listed:
        state = states[u.id][index]
        step = state.step
        street = _street_text(rng, u.street)
        for c in CRITERIA[u.type]:
            self_points = None if state.self_points is None else state.self_points[c.id]
            assessed = None if state.assessed is None or u.id == blank else state.assessed[c.id]
            row = [u.id, u.name, u.tier, street, u.type, u.target, "未启动" if step is None else step.stage,
                   None if step is None else _day(seed, u.id, step.reached), c.id, names[(u.type, c.id)],
                   c.points, self_points, assessed]
            rows.append(row)
            if self_points is not None:
                cells.append((row, 11, c.points, True))
            if assessed is not None and assessed == c.points:
                cells.append((row, 12, c.points, False))
    # Scores typed wrong: above 满分 or negative (see the docstring: never changes a verdict).
    hits = {"above": 0, "negative": 0}
    for row, col, points, negative_ok in cells:
        if rng.random() < 0.01:
            negative = negative_ok and rng.random() < 0.5
            row[col] = _typo(rng, row[col], points, negative)
            hits["negative" if negative else "above"] += 1
    if quarter == plan.forced_quarter:  # at least one of each kind a year
        for kind in ("above", "negative"):
            pool = [x for x in cells if (kind == "above" or x[3]) and 0 <= x[0][x[1]] <= x[2]]
            if not hits[kind] and pool:
                row, col, points, _ = rng.choice(pool)
                row[col] = _typo(rng, row[col], points, kind == "negative")
    # The same unit listed again under its short name, appended at the end of the sheet.
    if quarter == plan.twin_quarter:
        twin = next(u for u in listed if u.id == plan.twin)
        street = _street_text(rng, twin.street)
        rows += [[twin.id, twin.short, r[2], street, *r[4:]] for r in rows if r[0] == twin.id]
    return rows


def _day(seed: int, unit_id: str, index: int) -> date:
    first, last = _quarter_days(index)
    return first + timedelta(_rng(seed, "demonstration", unit_id, "day", index).randrange((last - first).days + 1))


def files(seed: int, end: date) -> dict[str, bytes]:
    """{file name: workbook bytes} of every quarter delivered on or before `end`."""
    quarters = _quarters(end)
    if not quarters:
        return {}
    all_units = units(seed)
    last = quarters[-1] // 4 * 4 + 3  # the whole last year: its defect plan needs all of it
    states = {u.id: story(seed, u, last) for u in all_units}
    plans = {y: _year_plan(seed, y, all_units, states) for y in {_quarter(i)[0] for i in quarters}}
    header = [c.delivered for c in FEED.columns]
    out = {}
    for i in quarters:
        rows = _rows(seed, i, all_units, states, plans[_quarter(i)[0]])
        out[FEED.file_glob.replace("*", _label(i))] = _workbook(header, rows, _delivered(i), "区安委办", sheet=FEED.sheet,
                                                                    date_column=8)  # 阶段日期
    return out


def generate(home: Path, seed: int, end: date) -> dict[str, int]:
    """Write the office's quarterly workbooks into <home>/landing; return files written."""
    return write_delivered(home, FEED, files(seed, end))
