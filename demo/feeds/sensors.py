"""Demo deliveries of emb/hazard_sources and emb/sensor_readings, written as the bureau sends them.

`generate(home, seed, end)` writes
- `<home>/landing/emb/hazard_sources/hazard_sources_YYYYMMDD.csv` (UTF-8): the full list of
  major hazard sources (重大危险源) and their monitoring points, one row per point, a snapshot
  every quarter (1 Jan, 1 Apr, 1 Jul, 1 Oct) from 2019, delivered that day;
- `<home>/landing/emb/sensor_readings/readings_YYYYMMDD.parquet`: the online monitoring, one
  file per local (Asia/Shanghai) day for the 14 days before `end` (the file of day D is
  delivered on D+1, so the last one is `end - 1`), one row a reading a minute per point:
  `point_id` (string), `ts` (timestamp, UTC), `value` (double). About 80 points x 1440 minutes,
  ~115k rows a file.
Output depends only on (seed, end): the hazard sources come from `random.Random(f"{seed}/sensors/...")`,
each day's readings from `numpy.random.default_rng((seed, day))`, and Parquet bytes depend only
on the content (pyarrow, no clock). A later end date adds files and moves the 14-day window;
the files of the last days before the old end differ (the last file keeps its own late readings,
and the point that stops reporting stops 3 days before `end`), like a period cut short.

Story: 25 hazard sources in the district today (16 when the list starts in 2019, ten
registered until 2022, one closed in 2022), 1-6 monitoring points each (temperature ℃,
pressure MPa, level m, gas %LEL), run by production units of the accident feed (the same
unified social credit codes as demo.generate). Readings follow a daily cycle plus
noise well below 高报阈值; a few disturbances a day push a point above it for minutes (some past
高高报阈值, some with a dip below and back: two episodes), and one starts just before local
midnight and runs into the next day (and the next file).

Defects, and where they appear:

| defect                                                          | feed            | where |
|-----------------------------------------------------------------|-----------------|-------|
| reading delivered twice: repeated in the next day's file        | sensor_readings | ~1% of each day's readings |
| reading delivered late: only in the next day's file             | sensor_readings | ~0.2% of each day's readings |
| empty value (null) / NaN value -> quarantine                    | sensor_readings | 3 nulls and 1 NaN per file |
| a point stops reporting (coverage < 100%)                       | sensor_readings | one gas detector, 3 days before `end` |
| 高高报阈值 empty (the point has a single alarm level)             | hazard_sources  | ~10% of points |
| threshold revised in a later snapshot                           | hazard_sources  | one point, from 2023-07-01 |
| hazard source missing from later snapshots (closed)             | hazard_sources  | one, from 2022-04-01 |
"""

from __future__ import annotations

import csv
import io
import math
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from citysafety.config import Settings
from demo.generate import Unit, _rng, _units
from citysafety.sources import EMB_HAZARD_SOURCES, EMB_SENSOR_READINGS, Feed

FIRST_SNAPSHOT = date(2019, 1, 1)
READING_DAYS = 14
SOURCES_TODAY = 25
SOURCES_2019 = 15  # plus the one that closes
MINUTES = 1440

# (name, metrics a point of it may measure)
TEMPLATES = (
    ("液氨储罐区", ("temperature", "pressure", "level", "gas")),
    ("液化石油气储罐区", ("pressure", "level", "gas")),
    ("甲醇储罐区", ("temperature", "level", "gas")),
    ("天然气调压站", ("pressure", "gas")),
    ("危险化学品仓库", ("temperature", "gas")),
    ("燃气锅炉房", ("pressure", "temperature", "gas")),
    ("汽油储罐区", ("level", "temperature", "gas")),
    ("氯气瓶库", ("gas",)),
    ("反应釜车间", ("temperature", "pressure")),
    ("液氧储罐", ("pressure", "level")),
)
UNITS = {"temperature": "℃", "pressure": "MPa", "level": "m", "gas": "%LEL"}
LETTERS = {"temperature": "T", "pressure": "P", "level": "L", "gas": "G"}
LEVELS = {"一级": 1, "二级": 3, "三级": 8, "四级": 8}


@dataclass
class Point:
    point_id: str
    metric: str
    base: float  # normal operating value
    swing: float  # daily cycle amplitude
    noise: float  # minute-to-minute noise (sd)
    high: float  # 高报阈值
    high_high: float | None  # 高高报阈值


@dataclass
class HazardSource:
    id: str
    name: str
    level: str
    unit: Unit
    registered: date  # first snapshot listing it
    closed: date | None = None  # first snapshot no longer listing it
    points: list[Point] = field(default_factory=list)


def _name(feed: Feed, part: str) -> str:
    return feed.file_glob.replace("*", part)


def _round(value: float, step: float) -> float:
    return round(round(value / step) * step, 3)


def _point(rng: random.Random, point_id: str, metric: str) -> Point:
    if metric == "temperature":
        base = rng.uniform(20, 45)
        high = _round(base + rng.uniform(15, 25), 5)
        return Point(point_id, metric, base, rng.uniform(2, 4), 0.6, high, high + 10 + _round(rng.uniform(0, 10), 5))
    if metric == "pressure":
        base = rng.uniform(0.4, 1.6)
        return Point(point_id, metric, base, base * 0.04, base * 0.01, _round(base * 1.3, 0.1), _round(base * 1.6, 0.1))
    if metric == "level":
        base = rng.uniform(2, 8)
        return Point(point_id, metric, base, 0.4, 0.05, _round(base + 1.5, 0.5), _round(base + 2.5, 0.5))
    return Point(point_id, metric, rng.uniform(0.5, 3), 0.5, 0.4, 20.0, 50.0)  # gas: 一级/二级报警


def hazard_sources(seed: int) -> list[HazardSource]:
    """Every hazard source the district ever listed, with its points (independent of `end`)."""
    rng = _rng(seed, "sensors", "sources")
    # Production units of the accident feed (units[:120] of generate._build), the industrial ones first.
    emb_units = _units(_rng(seed, "units"), 240)[:120]
    industrial = [u for u in emb_units if u.industry.startswith(("C ", "G "))]
    others = [u for u in emb_units if u.industry.startswith("F ")]
    owners = (industrial + others)[:18]
    sources = []
    for n in range(1, SOURCES_TODAY + 2):  # one more: it closes in 2022
        name, metrics = TEMPLATES[rng.randrange(len(TEMPLATES))]
        registered = FIRST_SNAPSHOT if n <= SOURCES_2019 + 1 else date(2019 + (n - SOURCES_2019) // 3,
                                                                       1 + 3 * rng.randrange(4), 1)
        unit = owners[(n - 1) % len(owners)] if n <= len(owners) else rng.choice(owners)
        source = HazardSource(f"XC-WXY-{n:03d}", name, rng.choices(list(LEVELS), list(LEVELS.values()))[0],
                              unit, registered)
        count = rng.choices((1, 2, 3, 4, 5, 6), (2, 5, 6, 5, 4, 2))[0]
        chosen = list(metrics) + [rng.choice(metrics) for _ in range(6)]
        per_metric = Counter()
        for metric in sorted(chosen[:count], key=list(UNITS).index):
            per_metric[metric] += 1
            point = _point(rng, f"{source.id}-{LETTERS[metric]}{per_metric[metric]:02d}", metric)
            if rng.random() < 0.1:
                point.high_high = None
            source.points.append(point)
        sources.append(source)
    sources[3].closed = date(2022, 4, 1)  # a 2019 storage area closed
    return sources


def _snapshot_days(end: date) -> list[date]:
    return [date(y, m, 1) for y in range(FIRST_SNAPSHOT.year, end.year + 1) for m in (1, 4, 7, 10)
            if date(y, m, 1) <= end]


def _listed(sources: list[HazardSource], day: date) -> list[HazardSource]:
    return [s for s in sources if s.registered <= day and (s.closed is None or s.closed > day)]


def _snapshot_csv(seed: int, sources: list[HazardSource], day: date, revised: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c.delivered for c in EMB_HAZARD_SOURCES.columns])
    listed = _listed(sources, day)
    # The bureau's system lists sources in the order they were last updated: every export is
    # ordered differently (so an unchanged quarter is not byte-identical to the last one).
    _rng(seed, "sensors", "order", day.isoformat()).shuffle(listed)
    for s in listed:
        for p in s.points:
            high = p.high
            if p.point_id == revised and day < date(2023, 7, 1):
                high = _round(p.high * 1.2, 0.1 if p.metric == "pressure" else 0.5)  # before the revision
            writer.writerow([s.id, s.unit.uscc, f"{s.unit.name}{s.name}", s.level, p.point_id, p.metric,
                             UNITS[p.metric], f"{high:g}", "" if p.high_high is None else f"{p.high_high:g}"])
    return buf.getvalue().encode(EMB_HAZARD_SOURCES.encoding)


# ---------------------------------------------------------------- readings

def _day_rng(seed: int, day: date) -> np.random.Generator:
    return np.random.default_rng([seed % (2**32), day.toordinal(), 7])


def _midnight_point(seed: int, day: date, n_points: int) -> int | None:
    """Every fifth day one point alarms from 23:51 into the next local day (and the next file)."""
    if day.toordinal() % 5:
        return None
    return _rng(seed, "sensors", "midnight", day.isoformat()).randrange(n_points)


def _disturb(values: np.ndarray, points: list[Point], rng: np.random.Generator) -> None:
    """Alarm episodes: a bump above 高报阈值 for minutes, sometimes with a dip, sometimes to 高高."""
    for _ in range(int(rng.integers(3, 8))):
        i = int(rng.integers(len(points)))
        p = points[i]
        length = int(rng.integers(3, 40))
        start = int(rng.integers(0, MINUTES - length))
        over = (p.high - p.base) * rng.uniform(0.05, 0.4)
        if p.high_high is not None and rng.random() < 0.25:
            over = (p.high_high - p.base) * rng.uniform(1.0, 1.1) - (p.high - p.base)
        shape = np.sin(np.linspace(0.15, math.pi - 0.15, length))
        values[i, start:start + length] = np.maximum(values[i, start:start + length], p.high + over * shape + 1e-3)
        if length > 12 and rng.random() < 0.3:  # dips below for a reading: two episodes
            values[i, start + length // 2] = p.high - (p.high - p.base) * 0.05


def _day_values(seed: int, day: date, points: list[Point]) -> np.ndarray:
    rng = _day_rng(seed, day)
    minutes = np.arange(MINUTES)
    base = np.array([p.base for p in points])[:, None]
    swing = np.array([p.swing for p in points])[:, None]
    noise = np.array([p.noise for p in points])[:, None]
    phase = rng.uniform(0, MINUTES, size=(len(points), 1))
    values = base + swing * np.sin(2 * math.pi * (minutes[None, :] - phase) / MINUTES) \
        + noise * rng.standard_normal((len(points), MINUTES))
    values = np.maximum(values, 0.0)
    _disturb(values, points, rng)
    tonight = _midnight_point(seed, day, len(points))
    if tonight is not None:
        p = points[tonight]
        values[tonight, MINUTES - 9:] = p.high + (p.high - p.base) * 0.2
    last_night = _midnight_point(seed, day - timedelta(1), len(points))
    if last_night is not None:
        p = points[last_night]
        values[last_night, :4] = p.high + (p.high - p.base) * 0.15
    return values


def _readings(seed: int, end: date, points: list[Point], stopped: str) -> dict[date, dict]:
    """Per day: arrays (point index, minute, value) of what the day's file carries."""
    days = [end - timedelta(READING_DAYS - k) for k in range(READING_DAYS)]
    stop_at = datetime.combine(end - timedelta(3), datetime.min.time()) + timedelta(hours=10, minutes=17)
    stop_index = next(i for i, p in enumerate(points) if p.point_id == stopped)
    out = {}
    carried = None  # (point idx, minute, value, day) delivered with the next file
    for day in days:
        values = _day_values(seed, day, points)
        rng = np.random.default_rng([seed % (2**32), day.toordinal(), 11])
        pi, mi = np.meshgrid(np.arange(len(points)), np.arange(MINUTES), indexing="ij")
        pi, mi, vals = pi.ravel(), mi.ravel(), values.ravel().copy()
        day_start = datetime.combine(day, datetime.min.time())
        keep = np.ones(pi.size, dtype=bool)
        if day_start + timedelta(minutes=MINUTES) > stop_at:
            cut = max(0, int((stop_at - day_start).total_seconds() // 60))
            keep &= ~((pi == stop_index) & (mi >= cut))
        pick = rng.random(pi.size)
        late = keep & (pick < 0.002)  # only in the next day's file
        twice = keep & (pick >= 0.002) & (pick < 0.012)  # in this file and again in the next
        in_file = keep & ~late if day != days[-1] else keep
        rows = {"p": pi[in_file], "m": mi[in_file], "v": vals[in_file], "day": np.full(in_file.sum(), day.toordinal())}
        if carried is not None:  # yesterday's late and repeated readings come first
            rows = {k: np.concatenate([carried[k], rows[k]]) for k in rows}
        if day != days[-1]:
            nxt = late | twice
            carried = {"p": pi[nxt], "m": mi[nxt], "v": vals[nxt], "day": np.full(nxt.sum(), day.toordinal())}
        # a few empty and NaN values (quarantined by the ingest)
        holes = rng.choice(rows["v"].size, size=4, replace=False)
        rows["v"] = rows["v"].copy()
        rows["v"][holes[:3]] = np.nan
        rows["null"] = np.zeros(rows["v"].size, dtype=bool)
        rows["null"][holes[:3]] = True  # null, not NaN
        rows["v"][holes[3]] = np.nan  # NaN as a value
        out[day] = rows
    return out


def _parquet(rows: dict, points: list[Point]) -> bytes:
    ids = np.array([p.point_id for p in points], dtype=object)
    local = (np.array([date.fromordinal(int(d)) for d in np.unique(rows["day"])], dtype="datetime64[D]"))
    day_of = dict(zip(np.unique(rows["day"]), local))
    day_start = np.array([day_of[d] for d in rows["day"]], dtype="datetime64[m]") if rows["day"].size else \
        np.array([], dtype="datetime64[m]")
    ts_utc = day_start + rows["m"].astype("timedelta64[m]") - np.timedelta64(8, "h")
    table = pa.table({
        "point_id": pa.array(ids[rows["p"]], pa.string()),
        "ts": pa.array(ts_utc.astype("datetime64[ms]"), pa.timestamp("ms", tz="UTC")),
        "value": pa.array(np.round(rows["v"], 4), pa.float64(), mask=rows["null"]),
    })
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def _write(home: Path, feed: Feed, name: str, data: bytes) -> None:
    folder = Settings(home=Path(home).resolve()).landing / feed.source / feed.feed
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{name}.part"  # never matches a feed glob while half written
    part.write_bytes(data)
    os.replace(part, folder / name)


def generate(home: Path, seed: int, end: date) -> dict[str, int]:
    sources = hazard_sources(seed)
    revised = sources[0].points[0].point_id
    snapshots = _snapshot_days(end)
    for day in snapshots:
        _write(home, EMB_HAZARD_SOURCES, _name(EMB_HAZARD_SOURCES, f"{day:%Y%m%d}"),
               _snapshot_csv(seed, sources, day, revised))
    points = [p for s in _listed(sources, end) for p in s.points]
    stopped = next(p.point_id for s in _listed(sources, end)[::-1] for p in s.points if p.metric == "gas")
    files = 0
    if end - timedelta(READING_DAYS) >= FIRST_SNAPSHOT:
        for day, rows in _readings(seed, end, points, stopped).items():
            _write(home, EMB_SENSOR_READINGS, _name(EMB_SENSOR_READINGS, f"{day:%Y%m%d}"), _parquet(rows, points))
            files += 1
    return {f"{EMB_HAZARD_SOURCES.source}/{EMB_HAZARD_SOURCES.feed}": len(snapshots),
            f"{EMB_SENSOR_READINGS.source}/{EMB_SENSOR_READINGS.feed}": files}
