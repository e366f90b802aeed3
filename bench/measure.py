"""What the bench's phases share: progress lines, elapsed seconds, a timed dbt run summarised from
its run_results.json, the median and the nearest-rank p95 (bench/steps.py, bench/alarms.py)."""

from __future__ import annotations

import json
import sys
import time

from citysafety.config import Settings
from citysafety.mart import dbt_runner


def say(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def _elapsed(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)


def _dbt(args: list[str], cfg: Settings) -> dict:
    """Run dbt through citysafety.mart.dbt_runner.run_dbt; time it, summarise run_results.json."""
    t0 = time.perf_counter()
    error = None
    try:
        dbt_runner.run_dbt(args, cfg)
    except RuntimeError as exc:  # a failed test or model: recorded, the bench goes on
        error = str(exc)[-3000:]
    seconds = _elapsed(t0)
    out = {"seconds": seconds, "args": " ".join(args), "error": error}
    results = cfg.build_dir / "dbt_target" / "run_results.json"
    if results.exists():
        data = json.loads(results.read_text())
        by_type: dict[str, dict] = {}
        slowest = []
        for r in data.get("results", []):
            kind = r["unique_id"].split(".")[0]
            t = by_type.setdefault(kind, {"nodes": 0, "seconds": 0.0, "not_passed": 0})
            t["nodes"] += 1
            t["seconds"] = round(t["seconds"] + (r.get("execution_time") or 0.0), 3)
            if r.get("status") not in ("success", "pass"):
                t["not_passed"] += 1
            slowest.append((round(r.get("execution_time") or 0.0, 3), r["unique_id"], r.get("status")))
        out["by_type"] = by_type
        out["slowest"] = sorted(slowest, reverse=True)[:8]
        out["dbt_elapsed"] = round(data.get("elapsed_time", 0.0), 3)
        out["failures"] = [u for _, u, s in slowest if s in ("error", "fail")]
    return out


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(-(-0.95 * len(ordered) // 1)) - 1))  # nearest rank
    return ordered[k]


def _median(values: list[float]) -> float:
    v = sorted(values)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
