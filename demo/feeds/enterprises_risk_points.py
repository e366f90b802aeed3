"""Demo deliveries of emb/enterprises and safety_office/risk_points, written as the departments send them.

`generate(home, seed, end)` writes
- `<home>/landing/emb/enterprises/enterprises_YYYYMMDD.xlsx`: the bureau's registry of production
  and business units, a full snapshot as of the last day of every month from January 2019
  (delivered that day) — one sheet, a merged title row `下城区生产经营单位基础信息表（截至YYYY年M月D日）`
  on row 1, the header on row 2;
- `<home>/landing/safety_office/risk_points/risk_points_YYYYQn.xlsx`: the district risk
  inventory, a full snapshot per quarter from 2019Q1, delivered on the 10th of the month after
  the quarter; header on row 1.
Output depends only on (seed, end): month m of the registry and quarter q of the inventory are
drawn from their own `random.Random(f"{seed}/<feed>/<period>")`, and a snapshot's workbook
bytes depend only on its content and date, so a later end date only adds files.

Story: the registry holds the 240 units of the accident, fire, inspection and grid feeds
(generate._units, the same codes), open throughout, plus about 150 other units in January 2019;
every month 1-5 units open and each other unit closes with probability 0.8% (a closed unit is
simply missing from later snapshots), about 500 units by 2026. The inventory starts with 140
risk points; every quarter 0-4 are added, 0-3 retired, and ~15% reassessed (L or S moves by one).

The official record is a mediocre proxy of the hidden risk (demo.generate.hidden_risk): for the
240 spine units only, 安全生产标准化等级 is drawn from GRADES tilted towards 三级/未达标 by
exp(GRADE_TILT * score * rank) (score = demo.generate.risk_score, 0 for a median unit), the
chance of being insured falls by exp(-INSURED_TILT * score), and the yearly chance of a late
renewal (lapse) is 12% * exp(LAPSE_TILT * score), at most 50% — each drawn from the unit's own
`random.Random(f"{seed}/enterprises/risk/<uscc>")`, so the other units are drawn as before.

Defects, and where they appear:

| defect                                                         | feed        | where |
|----------------------------------------------------------------|-------------|-------|
| street spelled `武林街道` / `武林` / `武林街道办事处` /             | both        | any row, any snapshot |
|   `下城区武林街道`, stray ASCII and U+3000 spaces                   |             |       |
| street that maps to no street (`不详`, `城东`, `下城区`)           | both        | ~1.5% of units / points |
| invalid code: wrong check character, letter O for zero, a       | enterprises | ~8% of non-spine units (~3% of rows); a third corrected months later |
|   character missing (17 long)                                   |             |       |
| empty 统一社会信用代码                                             | enterprises | ~3% of non-spine units; half filled in later |
| code in lower case with a stray space (valid once normalised)  | enterprises | ~1% of non-spine units |
| safety-liability insurance lapsed: 是 with a past 安责险到期日     | enterprises | ~12% of insured unit-years, 1-3 months after expiry |
| 安责险到期日 typed as text `YYYY/M/D` instead of a date cell       | enterprises | ~5% of dated cells |
| units missing from a later snapshot (closed)                    | enterprises | ~2 a month |
| 风险值 ≠ L×S (L+S typed, or the value before reassessment)        | risk_points | ~2% of rows |
| 风险等级 not the level of L×S (the band next to it)                | risk_points | ~2% of rows |
| 可能性L or 严重性S outside 1-5 (0 or 6)                            | risk_points | ~1% of rows |
"""

from __future__ import annotations

import io
import math
import os
import random
import re
import zipfile
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from citysafety import uscc as U
from citysafety.config import Settings
from demo.generate import (INDUSTRIES, ROADS, SPINE_UNITS, STREETS, UNMAPPABLE, _pick, _rng,
                           _street_text, _units, _uscc, risk_score)
from citysafety.sources import EMB_ENTERPRISES, SAFETY_OFFICE_RISK_POINTS, Feed

FIRST_MONTH = date(2019, 1, 1)
FIRST_QUARTER = (2019, 1)
INITIAL_OTHER_UNITS = 150
INITIAL_RISK_POINTS = 140
GRADES = {"一级": 3, "二级": 20, "三级": 50, "未达标": 27}
LAPSE_SHARE = 0.12  # insured unit-years whose renewal comes 1-3 months late
# How a spine unit's hidden risk (risk_score) shows in its record: a weak, noisy link.
GRADE_TILT, INSURED_TILT, LAPSE_TILT = 0.25, 0.15, 0.3
CATEGORIES = {"工业企业": 30, "人员密集场所": 25, "城市建设": 15, "交通运输": 10, "城市生命线": 12,
              "自然灾害": 5, "其他": 3}
PLACES = {
    "人员密集场所": ("商场", "农贸市场", "体育馆", "影剧院", "中学", "医院", "养老院"),
    "城市建设": ("深基坑工程", "高支模工程", "在建工地", "老旧房屋"),
    "交通运输": ("下穿通道", "公交站场", "加油站", "高架桥"),
    "城市生命线": ("燃气调压站", "地下综合管廊", "变电站", "供水泵站"),
    "自然灾害": ("低洼易涝点", "边坡", "河道堤岸"),
    "其他": ("户外广告牌", "危旧围墙"),
}
WORKSHOPS = ("液氨制冷车间", "危化品仓库", "喷涂车间", "锅炉房", "粉尘作业区", "有限空间作业点")
OWNERS = {
    "人员密集场所": ("区商务局", "区教育局", "区卫健局", "区民政局"),
    "城市建设": ("区住建局",),
    "交通运输": ("区交通运输局", "交警大队"),
    "城市生命线": ("区城管局", "区住建局"),
    "自然灾害": ("区水利局", "区应急管理局"),
    "其他": ("区城管局",),
}


# ---------------------------------------------------------------- workbooks

def _workbook(header: list[str], rows: list[list], delivered: date, creator: str,
              title: str | None = None, sheet: str = "Sheet1", date_column: int | None = None) -> bytes:
    """XLSX bytes that depend only on the content and the delivery date (no clock anywhere).
    `date_column` (1-based) is formatted as a date cell."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append(header)
    for row in rows:
        ws.append(row)
    if date_column is not None:
        first = ws.max_row - len(rows) + 1
        for (cell,) in ws.iter_rows(min_row=first, min_col=date_column, max_col=date_column):
            cell.number_format = "yyyy-mm-dd"
    stamp = datetime.combine(delivered, datetime.min.time()) + timedelta(hours=9)
    wb.properties.creator, wb.properties.created = creator, stamp
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


def _write(home: Path, feed: Feed, name: str, data: bytes) -> None:
    folder = Settings(home=home).landing / feed.source / feed.feed
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{name}.part"  # never matches the feed's glob while half written
    part.write_bytes(data)
    os.replace(part, folder / name)


def _month_end(first: date) -> date:
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _months(end: date) -> list[date]:
    """First days of the months whose month-end snapshot is due on or before `end`."""
    out, m = [], FIRST_MONTH
    while _month_end(m) <= end:
        out.append(m)
        m = _month_end(m) + timedelta(days=1)
    return out


# ---------------------------------------------------------------- emb/enterprises

@dataclass(eq=False)
class Registered:
    """One unit of the registry and how it changes over the months."""
    code: str  # its valid code
    name: str
    industry: str
    street: str  # short street name or an unmappable spelling
    employees: float
    grade: str
    insured: bool
    anniversary: tuple[int, int]  # (month, day) the yearly policy expires
    hazard: bool
    opened: int  # month index of the first snapshot listing it
    closed: int | None = None  # month index of the first snapshot no longer listing it
    spine: bool = False
    bad_code: str | None = None  # delivered instead of `code` until month `fixed`
    fixed: int | None = None
    lapses: dict = field(default_factory=dict)  # expiry year -> months the renewal came late
    upgrade: int | None = None  # month index the standardisation grade improves


def _corrupt(rng: random.Random, code: str) -> str:
    kind = rng.choice(("check", "check", "letter_o", "short"))
    if kind == "check":
        return code[:17] + rng.choice([c for c in U.CHARSET if c != code[17]])
    if kind == "letter_o" and "0" in code[8:17]:
        i = code.index("0", 8)
        return code[:i] + "O" + code[i + 1:]
    i = rng.randrange(8, 17)
    return code[:i] + code[i + 1:]


def _register(rng: random.Random, code: str, name: str, industry: str, opened: int, spine: bool) -> Registered:
    street = rng.choice(UNMAPPABLE) if rng.random() < 0.015 else _pick(rng, STREETS)
    hazard_prone = industry.startswith(("C ", "G "))
    hazard = hazard_prone and rng.random() < 0.08
    insured = hazard or rng.random() < (0.85 if industry.startswith(("C ", "E ", "G ")) else 0.55)
    unit = Registered(
        code=code, name=name, industry=industry, street=street,
        employees=max(1.0, rng.lognormvariate(3.0, 1.0) * (3 if hazard else 1)),
        grade=_pick(rng, GRADES), insured=insured,
        anniversary=(rng.randint(1, 12), rng.randint(1, 28)), hazard=hazard, opened=opened, spine=spine)
    if unit.grade in ("三级", "未达标") and rng.random() < 0.2:
        unit.upgrade = opened + rng.randint(3, 60)
    return unit


def _with_risk(seed: int, unit: Registered) -> None:
    """Redraw a spine unit's grade, insurance and lapses with its hidden risk (see the story)."""
    rng = _rng(seed, "enterprises", "risk", unit.code)
    score = risk_score(seed, unit.code)
    unit.grade = rng.choices(list(GRADES), [w * math.exp(GRADE_TILT * score * k)
                                            for k, w in enumerate(GRADES.values())])[0]
    unit.upgrade = None
    if unit.grade in ("三级", "未达标") and rng.random() < 0.2:
        unit.upgrade = unit.opened + rng.randint(3, 60)
    base = 0.85 if unit.industry.startswith(("C ", "E ", "G ")) else 0.55
    unit.insured = unit.hazard or rng.random() < min(0.97, base * math.exp(-INSURED_TILT * score))
    lapse = min(0.5, LAPSE_SHARE * math.exp(LAPSE_TILT * score))
    unit.lapses = {}
    for year in range(FIRST_MONTH.year - 1, FIRST_MONTH.year + 30):
        if rng.random() < lapse:
            unit.lapses[year] = rng.randint(1, 3)


def _other_unit(rng: random.Random, opened: int, names: set[str]) -> Registered:
    heads, tails = "恒鑫华宏金新天永润瑞中信安嘉博万兴东明远", "达源盛远诚锐成泰丰康通顺业和禾航昌晟辉拓"
    while True:
        industry = _pick(rng, {k: w for k, (w, _) in INDUSTRIES.items()})
        name = f"杭州{rng.choice(heads)}{rng.choice(tails)}{rng.choice(INDUSTRIES[industry][1])}"
        if name not in names:
            break
    names.add(name)
    unit = _register(rng, _uscc(rng), name, industry, opened, spine=False)
    r = rng.random()
    if r < 0.08:
        unit.bad_code = _corrupt(rng, unit.code)
        if rng.random() < 1 / 3:
            unit.fixed = opened + rng.randint(3, 12)
    elif r < 0.11:
        unit.bad_code = ""
        if rng.random() < 0.5:
            unit.fixed = opened + rng.randint(2, 18)
    elif r < 0.12:
        unit.bad_code = " " + unit.code.lower()  # the bureau's typist; valid once normalised
    return unit


def registry(seed: int, end: date) -> list[tuple[date, list[Registered]]]:
    """(snapshot date, units listed) for every monthly snapshot due on or before `end`."""
    months = _months(end)
    spine = _units(_rng(seed, "units"), SPINE_UNITS)  # the units of the other feeds, same codes
    rng = _rng(seed, "enterprises", "units")
    units = [_register(rng, u.uscc, u.name, u.industry, 0, spine=True) for u in spine]
    names = {u.name for u in units}
    units += [_other_unit(rng, 0, names) for _ in range(INITIAL_OTHER_UNITS)]
    for u in units:  # lapses are drawn per unit, independent of the end date
        for year in range(FIRST_MONTH.year - 1, FIRST_MONTH.year + 30):
            if rng.random() < LAPSE_SHARE:
                u.lapses[year] = rng.randint(1, 3)
    for u in units:  # after every draw of `rng`, so the other units come out as before
        if u.spine:
            _with_risk(seed, u)
    out = []
    for i, first in enumerate(months):
        mrng = _rng(seed, "enterprises", f"{first:%Y%m}")
        if i > 0:
            for u in units:
                if not u.spine and u.closed is None and u.opened < i and mrng.random() < 0.008:
                    u.closed = i
            born = [_other_unit(mrng, i, names) for _ in range(mrng.randint(1, 5))]
            for u in born:
                for year in range(first.year, first.year + 30):
                    if mrng.random() < LAPSE_SHARE:
                        u.lapses[year] = mrng.randint(1, 3)
            units += born
        out.append((_month_end(first), [u for u in units if u.opened <= i and (u.closed is None or u.closed > i)]))
    return out


def _expiry(u: Registered, day: date) -> date:
    """安责险到期日 shown on `day`: the next anniversary, unless this year's renewal is late."""
    month, dom = u.anniversary
    this = date(day.year, month, dom)
    last, nxt = (this, date(day.year + 1, month, dom)) if this < day else (date(day.year - 1, month, dom), this)
    late = u.lapses.get(last.year, 0)
    if late and day <= last + timedelta(days=30 * late):
        return last  # lapsed: 是, but expired
    return nxt


def _enterprise_rows(seed: int, index: int, day: date, units: list[Registered]) -> list[list]:
    rng = _rng(seed, "enterprises-text", f"{day:%Y%m}")
    rows = []
    years = (day - FIRST_MONTH).days / 365.25
    for u in sorted(units, key=lambda u: (u.opened, u.code)):
        code = u.code if u.bad_code is None or (u.fixed is not None and index >= u.fixed) else u.bad_code
        employees = max(1, round(u.employees * (1 + 0.03 * years)))
        grade = u.grade if u.upgrade is None or index < u.upgrade else {"三级": "二级", "未达标": "三级"}[u.grade]
        expiry = _expiry(u, day) if u.insured else None
        if expiry is not None and rng.random() < 0.05:
            expiry = f"{expiry.year}/{expiry.month}/{expiry.day}"  # typed as text, not a date cell
        above = employees >= (60 if u.industry.startswith("C ") else 100)
        rows.append([code, u.name, _street_text(rng, u.street), u.industry, employees,
                     "是" if above else "否", grade, "是" if u.insured else "否", expiry,
                     "是" if u.hazard else "否"])
    return rows


def _enterprise_files(seed: int, end: date) -> dict[str, bytes]:
    header = [c.delivered for c in EMB_ENTERPRISES.columns]
    files = {}
    for i, (day, units) in enumerate(registry(seed, end)):
        title = f"下城区生产经营单位基础信息表（截至{day.year}年{day.month}月{day.day}日）"
        rows = _enterprise_rows(seed, i, day, units)
        files[EMB_ENTERPRISES.file_glob.replace("*", f"{day:%Y%m%d}")] = _workbook(
            header, rows, day, "区应急管理局", title=title)
    return files


# ---------------------------------------------------------------- safety_office/risk_points

def level(value: int) -> str | None:
    """Risk level of a value L×S: 20-25 红, 15-16 橙, 9-12 黄, 1-8 蓝."""
    if 20 <= value <= 25:
        return "红"
    if 15 <= value <= 16:
        return "橙"
    if 9 <= value <= 12:
        return "黄"
    if 1 <= value <= 8:
        return "蓝"
    return None


@dataclass(eq=False)
class RiskPoint:
    id: str
    name: str
    street: str
    category: str
    owner: str
    likelihood: int
    severity: int
    assessed: date
    retired: bool = False
    previous: int | None = None  # value before the last reassessment


def _quarters(end: date) -> list[tuple[int, int, date]]:
    """(year, quarter, delivery day) for every quarterly snapshot delivered on or before `end`."""
    out, (y, q) = [], FIRST_QUARTER
    while True:
        delivered = date(y + q // 4, q % 4 * 3 + 1, 10)
        if delivered > end:
            return out
        out.append((y, q, delivered))
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)


def _quarter_days(y: int, q: int) -> list[date]:
    first = date(y, 3 * q - 2, 1)
    last = date(y + q // 4, q % 4 * 3 + 1, 1)
    return [first + timedelta(i) for i in range((last - first).days)]


def _new_point(rng: random.Random, n: int, day: date, units) -> RiskPoint:
    category = _pick(rng, CATEGORIES)
    street = rng.choice(UNMAPPABLE) if rng.random() < 0.015 else _pick(rng, STREETS)
    if category == "工业企业":
        unit = rng.choice(units)
        name, owner = f"{unit.name}{rng.choice(WORKSHOPS)}", unit.name
        severity = rng.choices((2, 3, 4, 5), (15, 35, 35, 15))[0]
    else:
        name = f"{rng.choice(ROADS)}{rng.choice(PLACES[category])}"
        owner = rng.choice(OWNERS[category] + (f"{street}街道办事处",) if street in STREETS else OWNERS[category])
        severity = rng.choices((1, 2, 3, 4, 5), (10, 25, 30, 25, 10))[0]
    likelihood = rng.choices((1, 2, 3, 4, 5), (15, 30, 30, 18, 7))[0]
    return RiskPoint(f"XCFX-{n:04d}", name, street, category, owner, likelihood, severity, day)


def inventory(seed: int, end: date) -> list[tuple[int, int, date, list[RiskPoint]]]:
    """(year, quarter, delivery day, points listed) for every quarterly snapshot."""
    units = [u for u in _units(_rng(seed, "units"), SPINE_UNITS) if u.industry.startswith(("C ", "G "))]
    points: list[RiskPoint] = []
    out = []
    for i, (y, q, delivered) in enumerate(_quarters(end)):
        rng = _rng(seed, "risk_points", f"{y}Q{q}")
        days = _quarter_days(y, q)
        if i == 0:
            points = [_new_point(rng, n, rng.choice(days), units) for n in range(1, INITIAL_RISK_POINTS + 1)]
        else:
            for p in points:
                if not p.retired and rng.random() < 0.15:  # reassessed: L or S moves by one
                    p.previous = p.likelihood * p.severity
                    if rng.random() < 0.5:
                        p.likelihood = min(5, max(1, p.likelihood + rng.choice((-1, 1))))
                    else:
                        p.severity = min(5, max(1, p.severity + rng.choice((-1, 1))))
                    p.assessed = rng.choice(days)
            live = [p for p in points if not p.retired]
            for p in rng.sample(live, min(len(live), rng.randint(0, 3))):
                p.retired = True
            points += [_new_point(rng, len(points) + n, rng.choice(days), units)
                       for n in range(1, rng.randint(0, 4) + 1)]
        out.append((y, q, delivered, [replace(p) for p in points if not p.retired]))  # state as of then
    return out


def _risk_rows(seed: int, y: int, q: int, points: list[RiskPoint]) -> list[list]:
    rng = _rng(seed, "risk_points-text", f"{y}Q{q}")
    rows = []
    for p in points:
        lik, sev = p.likelihood, p.severity
        value, lvl = lik * sev, level(lik * sev)
        r = rng.random()
        if r < 0.02:  # 风险值 not L×S: L+S typed, or the value before the reassessment
            value = p.previous if p.previous not in (None, value) else lik + sev
            if value == lik * sev:
                value += 1
        elif r < 0.04:  # the band next to the right one
            order = ["蓝", "黄", "橙", "红"]
            k = order.index(lvl)
            lvl = order[k + 1] if k < 3 and (k == 0 or rng.random() < 0.5) else order[k - 1]
        elif r < 0.05:  # L or S outside 1-5; the value follows the typo
            if rng.random() < 0.5:
                lik = rng.choice((0, 6))
            else:
                sev = rng.choice((0, 6))
            value = lik * sev
            lvl = level(value) or lvl
        rows.append([p.id, p.name, _street_text(rng, p.street), p.category, lik, sev, value, lvl, p.owner,
                     p.assessed])
    return rows


def _risk_files(seed: int, end: date) -> dict[str, bytes]:
    header = [c.delivered for c in SAFETY_OFFICE_RISK_POINTS.columns]
    files = {}
    for y, q, delivered, points in inventory(seed, end):
        name = SAFETY_OFFICE_RISK_POINTS.file_glob.replace("*", f"{y}Q{q}")
        files[name] = _workbook(header, _risk_rows(seed, y, q, points), delivered, "区安委办")
    return files


# ---------------------------------------------------------------- entry point

def generate(home: Path, seed: int, end: date) -> dict[str, int]:
    home = Path(home).resolve()
    written = {}
    for feed, files in ((EMB_ENTERPRISES, _enterprise_files(seed, end)),
                        (SAFETY_OFFICE_RISK_POINTS, _risk_files(seed, end))):
        for name, data in sorted(files.items()):
            _write(home, feed, name, data)
        written[f"{feed.source}/{feed.feed}"] = len(files)
    return written
