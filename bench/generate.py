"""The bench's delivery set: the demo spine plus sensor readings at scale, vectorised.

`write_sensor_set(...)` writes one hazard-source snapshot (`hazard_sources_YYYYMMDD.csv`, one
row per monitoring point) and one Parquet file a local day (`readings_YYYYMMDD.parquet`,
point_id / ts UTC / value, one reading a minute per point), as emb delivers them
(citysafety.sources: EMB_HAZARD_SOURCES, EMB_SENSOR_READINGS), with the defects of the feed:

- ~1% of a day's readings delivered again in the next day's file, ~0.2% only in the next
  day's file (late); 3 null and 1 NaN values a file (quarantined by the ingest);
- alarm episodes: about one a day per 20 points pushes a point above 高报阈值 for 3-40 minutes
  (a quarter of them past 高高报阈值, some with a dip: two episodes), every fifth day one runs
  across local midnight into the next file; noise alone crosses 高报阈值 very rarely;
- one point stops reporting two days before the end of the history (coverage below 100%).

Each day is one numpy draw of (points x 1440) values from `default_rng([seed, day])`, written
with pyarrow (no Python loop over rows). Days are generated in order (late and repeated
readings of a day travel in the next file).
"""

from __future__ import annotations

import csv
import io
import math
import random
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from demo.feeds import sensors as demo_sensors
from citysafety.files import atomic_path
from citysafety.sources import EMB_HAZARD_SOURCES, EMB_SENSOR_READINGS

MINUTES = 1440
POINTS_PER_SOURCE = 5
EPOCH = datetime(1970, 1, 1)


@dataclass
class PointSet:
    ids: list[str]
    rows: list[list[str]]  # snapshot rows, delivered column order
    base: np.ndarray
    swing: np.ndarray
    noise: np.ndarray
    high: np.ndarray
    high_high: np.ndarray  # nan: no 高高报阈值


def point_set(seed: int, n_points: int) -> PointSet:
    """n_points monitoring points of n_points/5 hazard sources run by the demo's production units."""
    rng = random.Random(f"{seed}/bench/points")
    owners = [s.unit for s in demo_sensors.hazard_sources(seed)]  # units of the accident feed
    ids, rows, params = [], [], []
    n_sources = math.ceil(n_points / POINTS_PER_SOURCE)
    for s in range(n_sources):
        name, metrics = demo_sensors.TEMPLATES[s % len(demo_sensors.TEMPLATES)]
        unit = owners[s % len(owners)]
        source_id = f"XC-WXY-{s + 1:03d}"
        level = rng.choices(list(demo_sensors.LEVELS), list(demo_sensors.LEVELS.values()))[0]
        per_metric: dict[str, int] = {}
        for k in range(min(POINTS_PER_SOURCE, n_points - len(ids))):
            metric = metrics[k % len(metrics)]
            per_metric[metric] = per_metric.get(metric, 0) + 1
            point_id = f"{source_id}-{demo_sensors.LETTERS[metric]}{per_metric[metric]:02d}"
            p = demo_sensors._point(rng, point_id, metric)
            if rng.random() < 0.1:
                p.high_high = None
            ids.append(point_id)
            params.append((p.base, p.swing, p.noise, p.high, math.nan if p.high_high is None else p.high_high))
            rows.append([source_id, unit.uscc, f"{unit.name}{name}", level, point_id, metric,
                         demo_sensors.UNITS[metric], f"{p.high:g}",
                         "" if p.high_high is None else f"{p.high_high:g}"])
    a = np.array(params, dtype=float)
    return PointSet(ids, rows, a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4])


def snapshot_csv(points: PointSet) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c.delivered for c in EMB_HAZARD_SOURCES.columns])
    writer.writerows(points.rows)
    return buf.getvalue().encode(EMB_HAZARD_SOURCES.encoding)


def _midnight_point(seed: int, day: date, n: int) -> int | None:
    if day.toordinal() % 5:
        return None
    return int(np.random.default_rng([seed % 2**32, day.toordinal(), 5]).integers(n))


def day_values(seed: int, day: date, pts: PointSet) -> np.ndarray:
    """(points, 1440) values of one local day."""
    n = len(pts.ids)
    rng = np.random.default_rng([seed % 2**32, day.toordinal(), 1])
    minutes = np.arange(MINUTES)
    phase = rng.uniform(0, MINUTES, size=(n, 1))
    values = (pts.base[:, None] + pts.swing[:, None] * np.sin(2 * math.pi * (minutes[None, :] - phase) / MINUTES)
              + pts.noise[:, None] * rng.standard_normal((n, MINUTES)))
    np.maximum(values, 0.0, out=values)
    for _ in range(max(2, n // 20)):  # disturbances: alarm episodes
        i = int(rng.integers(n))
        length = int(rng.integers(3, 40))
        start = int(rng.integers(0, MINUTES - length))
        high, base, hh = pts.high[i], pts.base[i], pts.high_high[i]
        over = (high - base) * rng.uniform(0.05, 0.4)
        if not math.isnan(hh) and rng.random() < 0.25:
            over = (hh - base) * rng.uniform(1.0, 1.1) - (high - base)
        shape = np.sin(np.linspace(0.15, math.pi - 0.15, length))
        seg = values[i, start:start + length]
        np.maximum(seg, high + over * shape + 1e-3, out=seg)
        if length > 12 and rng.random() < 0.3:
            values[i, start + length // 2] = high - (high - base) * 0.05
    tonight = _midnight_point(seed, day, n)
    if tonight is not None:
        values[tonight, MINUTES - 9:] = pts.high[tonight] + (pts.high[tonight] - pts.base[tonight]) * 0.2
    last_night = _midnight_point(seed, day - timedelta(1), n)
    if last_night is not None:
        values[last_night, :4] = pts.high[last_night] + (pts.high[last_night] - pts.base[last_night]) * 0.15
    return values


class DayWriter:
    """Writes the days in order, carrying each day's late and repeated readings to the next file."""

    def __init__(self, seed: int, pts: PointSet, stop: tuple[date, int] | None = None):
        self.seed, self.pts, self.stop = seed, pts, stop
        self.carried: dict[str, np.ndarray] | None = None
        n = len(pts.ids)
        # time-major order, as a logger exports: minute by minute, every point
        self.pi = np.tile(np.arange(n, dtype=np.int32), MINUTES)
        self.mi = np.repeat(np.arange(MINUTES, dtype=np.int64), n)
        self.id_dict = pa.array(pts.ids, pa.string())

    def day_table(self, day: date) -> pa.Table:
        n = len(self.pts.ids)
        values = day_values(self.seed, day, self.pts).T.ravel()  # time-major, like pi/mi
        rng = np.random.default_rng([self.seed % 2**32, day.toordinal(), 2])
        day_start_ms = int((datetime.combine(day, datetime.min.time()) - timedelta(hours=8) - EPOCH)
                           .total_seconds() * 1000)
        ts = day_start_ms + self.mi * 60_000
        keep = np.ones(values.size, dtype=bool)
        if self.stop is not None:  # one point stops reporting from a given minute on
            stop_day, stop_point = self.stop
            if day > stop_day:
                keep &= self.pi != stop_point
            elif day == stop_day:
                keep &= ~((self.pi == stop_point) & (self.mi >= 10 * 60 + 17))
        pick = rng.random(values.size)
        late = keep & (pick < 0.002)  # only in the next day's file
        again = keep & (pick >= 0.002) & (pick < 0.012)  # in this file and again in the next
        now = keep & ~late
        cols = {"p": self.pi[now], "ts": ts[now], "v": values[now]}
        if self.carried is not None:
            cols = {k: np.concatenate([self.carried[k], cols[k]]) for k in cols}
        nxt = late | again
        self.carried = {"p": self.pi[nxt], "ts": ts[nxt], "v": values[nxt]}
        v = np.round(cols["v"], 4)
        holes = rng.choice(v.size, size=4, replace=False)
        null = np.zeros(v.size, dtype=bool)
        null[holes[:3]] = True
        v[holes[3]] = np.nan
        point_id = pa.DictionaryArray.from_arrays(pa.array(cols["p"], pa.int32()), self.id_dict)
        return pa.table({
            "point_id": point_id.cast(pa.string()),
            "ts": pa.array(cols["ts"], pa.timestamp("ms", tz="UTC")),
            "value": pa.array(v, pa.float64(), mask=null),
        })


def _write_aside(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # a hidden name never matches a feed glob while half written; scratch data: not synced
    with atomic_path(path, sync=False) as part:
        write(part)


def reading_name(day: date) -> str:
    return EMB_SENSOR_READINGS.file_glob.replace("*", f"{day:%Y%m%d}")


def snapshot_name(day: date) -> str:
    return EMB_HAZARD_SOURCES.file_glob.replace("*", f"{day:%Y%m%d}")


def _fmt_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m{seconds % 60:02d}s" if seconds >= 3600 \
        else f"{seconds // 60}m{seconds % 60:02d}s"


def write_sensor_set(seed: int, n_points: int, days: list[date], target_of, snapshot_dir: Path,
                     stop_day: date | None = None, progress_every: float = 5.0) -> dict:
    """Write the snapshot into snapshot_dir and day d's file into target_of(d); return counts."""
    pts = point_set(seed, n_points)
    snap = snapshot_dir / snapshot_name(days[0] - timedelta(1))
    data = snapshot_csv(pts)
    _write_aside(snap, lambda p: p.write_bytes(data))
    stop = (stop_day, len(pts.ids) - 1) if stop_day else None
    writer = DayWriter(seed, pts, stop)
    rows = size = 0
    started = last = time.perf_counter()
    for k, day in enumerate(days, start=1):
        table = writer.day_table(day)
        path = Path(target_of(day)) / reading_name(day)
        _write_aside(path, lambda p: pq.write_table(table, p, compression="zstd"))
        rows += table.num_rows
        size += path.stat().st_size
        now = time.perf_counter()
        if now - last >= progress_every or k == len(days):
            last = now
            rate = rows / (now - started)
            eta = (len(days) - k) * (now - started) / k
            print(f"  generate: {k}/{len(days)} files, {rows / 1e6:.1f}M rows, {size / 2**20:.0f} MiB, "
                  f"{rate / 1e6:.2f}M rows/s, ETA {_fmt_duration(eta)}", flush=True, file=sys.stderr)
    return {"points": len(pts.ids), "hazard_sources": len({r[0] for r in pts.rows}), "files": len(days),
            "rows": rows, "bytes": size, "seconds": round(time.perf_counter() - started, 2),
            "snapshot": snap.name}
