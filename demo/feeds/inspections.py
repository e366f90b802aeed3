"""Demo source of emb/inspections: the bureau's enforcement records behind its HTTP API.

emb/inspections is pulled, not delivered, so this writes nothing into landing/ (the pull does,
citysafety.land.http_api). It prepares what demo.emb_api serves:

- `<home>/demo_sources/emb_api/inspections.jsonl`: every version of every inspection, one JSON
  object a line, ordered by `updated_at` (the bureau's change history). Deterministic for
  (seed, end): each year is drawn from its own `random.Random(f"{seed}/inspections/<year>")`,
  and only versions with `updated_at` on or before `end` are written;
- `<home>/demo_sources/emb_api/token`: the API's bearer token, random (`secrets`), mode 0600,
  kept when it already exists (so a configured connection stays valid). It is the one file of
  the demo that does not depend on the seed: a secret must not be derivable from the repo.

Story: about 300 inspections a year since 2018 over the units of demo.generate (same
统一社会信用代码 as the accident reports), by four teams. Results follow the findings: none ->
合格; otherwise mostly 责令整改, 行政处罚 (a penalty, 2,000-500,000 yuan) when there are several,
now and then 停产整顿. Units fined heavily or shut down sometimes enter the blacklist.
The bureau chooses units by industry only (it does not know demo.generate.hidden_risk), but
what it finds follows the unit's hidden risk r: the number of findings is Poisson with mean
proportional to r**FINDINGS_POWER times the day's thoroughness (a gamma draw, mean 1, shape
FINDINGS_SHAPE), at most MAX_FINDINGS, scaled so that an inspection finds FINDINGS_MEAN on
average — so risky units show more violations, but any one inspection is a noisy measure.

Revisions (the same `inspection_id` again with a later `updated_at`), about one in eight:

| change                                                         | when after the first version |
|----------------------------------------------------------------|------------------------------|
| 责令整改 -> 行政处罚 with a penalty (not rectified on re-check)  | 20-45 days                   |
| penalty reduced by 30-50% after a hearing (听证)                | 15-40 days                   |
| blacklisted false -> true after review                          | 30-90 days                   |
| blacklisted true -> false (revoked on administrative review)    | 60-120 days                  |
| findings corrected by one (a typing error)                      | 1-5 days                     |

About 1.5% of inspections have no 统一社会信用代码 (unlicensed operations).
"""

from __future__ import annotations

import json
import math
import os
import secrets
from datetime import date, datetime, timedelta
from pathlib import Path

from demo.emb_api import DATA_FILE, TOKEN_FILE, data_dir
from citysafety.secretfiles import write_secret
from demo.generate import SPINE_UNITS, _rng, _units, hidden_risk
from citysafety.config import Settings

FIRST_YEAR = 2018
TEAMS = {"执法一中队": 4, "执法二中队": 4, "执法三中队": 3, "危险化学品执法中队": 1}
INDUSTRY_WEIGHT = {"C 制造业": 3, "E 建筑业": 3, "G 交通运输、仓储和邮政业": 2}
FINDINGS_MEAN = 2.0  # findings per inspection, over the units the bureau chooses
FINDINGS_POWER = 0.5  # the mean at a unit ~ hidden_risk ** FINDINGS_POWER
FINDINGS_SHAPE = 2.0  # gamma shape of the day-to-day variation (inspector, season, luck)
MAX_FINDINGS = 8


def _workdays(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [d for d in (first + timedelta(i) for i in range((date(year + 1, 1, 1) - first).days))
            if d.weekday() < 5]


def _office_time(rng, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, rng.randint(9, 17), rng.randrange(60), rng.randrange(60))


def _penalty(rng, low: int = 2000, high: int = 500_000) -> int:
    return int(min(high, max(low, round(20000 * rng.lognormvariate(0, 0.9), -3))))


def _expected_findings(seed: int, units: list, weights: list[float]) -> list[float]:
    """Per unit, the mean number of findings of an inspection there (before the day's variation)."""
    level = [hidden_risk(seed, u.uscc) ** FINDINGS_POWER for u in units]
    scale = FINDINGS_MEAN * sum(weights) / sum(w * v for w, v in zip(weights, level))
    return [scale * v for v in level]


def _findings(rng, mean: float) -> int:
    """Poisson(mean * a gamma draw of mean 1), at most MAX_FINDINGS."""
    limit = math.exp(-mean * rng.gammavariate(FINDINGS_SHAPE, 1 / FINDINGS_SHAPE))
    k, p = 0, rng.random()
    while p > limit and k < MAX_FINDINGS:
        k += 1
        p *= rng.random()
    return k


def _year(seed: int, year: int, units: list) -> list[list[tuple[datetime, dict]]]:
    """Every inspection of a year as its versions [(updated_at, item), ...]."""
    rng = _rng(seed, "inspections", year)
    weights = [INDUSTRY_WEIGHT.get(u.industry, 1) for u in units]  # the bureau's choice: by industry
    expected = _expected_findings(seed, units, weights)  # what it finds: by hidden risk
    days = _workdays(year)
    drawn = []
    for _ in range(rng.randint(285, 315)):
        day = rng.choice(days)
        i = rng.choices(range(len(units)), weights)[0]
        unit = units[i]
        findings = _findings(rng, expected[i])
        r = rng.random()
        if findings == 0:
            result = "合格"
        elif findings >= 5 and r < 0.12:
            result = "停产整顿"
        elif findings >= 3 and r < 0.40:
            result = "行政处罚"
        else:
            result = "责令整改"
        penalty = _penalty(rng) if result == "行政处罚" else (
            _penalty(rng, 50_000, 300_000) if result == "停产整顿" and rng.random() < 0.5 else 0)
        blacklisted = (result == "停产整顿" and rng.random() < 0.4) or (
            result == "行政处罚" and penalty >= 100_000 and rng.random() < 0.3)
        drawn.append((day, {
            "inspection_id": "", "uscc": None if rng.random() < 0.015 else unit.uscc,
            "inspected_on": day.isoformat(), "team": rng.choices(list(TEAMS), list(TEAMS.values()))[0],
            "findings": findings, "result": result, "penalty_yuan": penalty,
            "blacklisted": blacklisted, "updated_at": "",
        }))
    drawn.sort(key=lambda d: d[0])
    out = []
    for n, (day, item) in enumerate(drawn, start=1):
        item["inspection_id"] = f"XCZF{year}{n:04d}"
        at = _office_time(rng, day + timedelta(days=rng.choice((0, 0, 1, 1, 2, 3))))
        versions = [(at, dict(item))]
        current = dict(item)
        changes = []
        if current["result"] == "责令整改" and current["findings"] >= 2 and rng.random() < 0.10:
            changes.append((rng.randint(20, 45), {"result": "行政处罚", "penalty_yuan": _penalty(rng)}))
        elif current["result"] == "行政处罚" and rng.random() < 0.15:
            cut = rng.uniform(0.3, 0.5)
            changes.append((rng.randint(15, 40),
                            {"penalty_yuan": int(round(current["penalty_yuan"] * (1 - cut), -2))}))
        if current["result"] in ("行政处罚", "停产整顿") and not current["blacklisted"] and rng.random() < 0.10:
            changes.append((rng.randint(30, 90), {"blacklisted": True}))
        elif current["blacklisted"] and rng.random() < 0.20:
            changes.append((rng.randint(60, 120), {"blacklisted": False}))
        if rng.random() < 0.03:
            step = 1 if current["findings"] <= 1 or rng.random() < 0.5 else -1
            changes.append((rng.randint(1, 5), {"findings": current["findings"] + step}))
        last = at
        for after, change in sorted(changes, key=lambda c: c[0]):
            when = max(_office_time(rng, at.date() + timedelta(days=after)), last + timedelta(minutes=1))
            current = {**current, **change}
            versions.append((when, dict(current)))
            last = when
        for when, version in versions:
            version["updated_at"] = f"{when:%Y-%m-%dT%H:%M:%S}+08:00"
        out.append(versions)
    return out


def records(seed: int, end: date) -> list[dict]:
    """Every version of every inspection with updated_at on or before `end`, in updated_at order."""
    units = _units(_rng(seed, "units"), SPINE_UNITS)  # the units of the accident reports (same codes)
    lines = []
    for year in range(FIRST_YEAR, end.year + 1):
        for versions in _year(seed, year, units):
            lines += [(when, v["inspection_id"], v) for when, v in versions if when.date() <= end]
    return [v for _, _, v in sorted(lines, key=lambda t: (t[0], t[1]))]


def _write_token(path: Path) -> None:
    if path.exists() and path.read_text("utf-8").strip():
        os.chmod(path, 0o600)
        return
    write_secret(path, secrets.token_urlsafe(32) + "\n", private_parent=False)


def generate(home: Path, seed: int, end: date) -> dict[str, int]:
    """Write the demo API's records and token; return {"demo_sources/emb_api": files written}."""
    folder = data_dir(Settings(home=Path(home).resolve()))
    folder.mkdir(parents=True, exist_ok=True)
    if end < date(FIRST_YEAR, 1, 1):
        items = []
    else:
        items = records(seed, end)
    part = folder / f".{DATA_FILE}.part"
    part.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), "utf-8")
    os.replace(part, folder / DATA_FILE)
    _write_token(folder / TOKEN_FILE)
    return {"demo_sources/emb_api": 2}
