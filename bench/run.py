"""`make bench`: performance and resilience, measured, every figure in the same run.

    make bench                # full: a year of sensor readings at 500 points, one a minute (~263M rows)
    make bench SCALE=medium   # 90 days x 200 points (~26M rows)
    make bench SCALE=small    # 14 days x 50 points (~1M rows), a quick run

Generates a delivery set at scale under the bench home (BENCH_HOME, default bench/work/<scale>/),
runs each phase in a process of its own (bench/steps.py), shows progress while it runs, and
writes bench/results/latest.json and bench/results/latest.md (also printed):

- ingest_vs_limit: sensor ingest rows/s (citysafety.raw.ingest.ingest_feed) divided by DuckDB's own
  `create table ... as select * from read_parquet([...])` over the same files. Target >= 0.5.
- build_vs_hand_sql: prepare_build + `dbt build` of the sensor marts and kpi_safety_targets with
  their parents (full refresh), divided by bench/hand_sql.sql (the same transformations as one
  hand-written DuckDB script over the raw Parquet). Target <= 1.5. The two must agree.
- incremental_day_ratio: one new day (ingest + prepare_build + dbt build of the same selection)
  at the whole history divided by the same day at empty history (median of 3 days). Target <= 1.2.
- page_p95_s: dashboard page render time (Streamlit AppTest, every page of the navigation,
  query cache cleared before each render), 95th percentile. Target < 1 s.
- peak_rss_gb: peak memory of the pipeline on the year (ingest, build, gate, publish, the
  incremental days): the RSS of the phase's process tree (dbt included), sampled. Target < 8.
- dag_vs_dbt_cli: build_mart triggered through Airflow's API and run by its scheduler (API
  server, scheduler, DAG processor, triggerer as `make serve` starts them; cosmos watcher mode:
  one `dbt build`, a task per dbt node) over the year home: the wall time of its dbt task group
  divided by `dbt build` (CLI, same project, same build copy), measured CLI, DAG, CLI, DAG, CLI
  and compared best with best (the first build of each in a new home parses the whole project;
  the later ones keep dbt's partial parse, as the day's builds do). Target <= 1.3. The tables
  of the five builds must agree.
- delivery_to_publish_vs_steps: six single-file deliveries of six departments' feeds, one at a
  time, landing -> the file's rows readable in the published warehouse under the scheduler
  (event-driven: LandingTrigger -> ingest_<source> -> build_mart rebuilding what is downstream
  of the feed), p50 and p95, divided by the same steps run back to back by hand on a copy of the
  same home (ingest, plan, prepare_build, freshness, dbt build of the same selection, gate,
  publish; p50 over p50). Target <= 1.5.
- kpi_vs_pandas: our path to the headline KPI (ingest of the four spine feeds + dbt build of
  kpi_safety_targets and its parents) divided by bench/pandas_baseline.py over the same files,
  after checking that both give the same numbers. No target: the price of the platform's
  guarantees (every row loaded or quarantined, lineage, tests) over an analyst's script.
- alarm_replay_lost, alarm_replay_duplicated, alarm_notify_p95_s: the alarm replay
  (bench/alarms.py; the same at every scale): 1,000 alarm episodes in ten waves, readings over
  MQTT through the real subscriber, ingest, dbt build, publish, record and route
  (citysafety.act.respond), the outbox dispatching to the demo receiver (demo/receiver.py),
  which fails one request in five. Lost: messages of the outbox the receiver never accepted or
  not `sent`; duplicated: messages it accepted more than once. Targets 0 and 0. Notify p95:
  reading landed (the subscriber's file renamed into landing) -> the alarm's last first notice
  sent, 95th percentile over the 1,000 alarms (p50 in the detail). No target: a wave waits for
  its dbt build, whose time is the build's (build_vs_hand_sql), not the response's. Every alarm
  then goes 签收 → 到场 → 处置完毕 → 归档 in the operations store, checked in the detail.

`python -m bench.run --only alarm_replay` runs the named phases alone (comma-separated) and
writes their results under the work folder (only-results/), not bench/results/. With `--merge`
they are folded into bench/results/latest.json instead: the whole run's other phases and metrics
are kept, the phases run replace theirs, and `partial_runs` records the partial run's command,
scale and times (latest.md says which metrics it measured).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
if str(PROJECT_ROOT) not in sys.path:  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(PROJECT_ROOT))

from bench import measure, steps  # noqa: E402

RESULTS = BENCH_DIR / "results"
PIPELINE_PHASES = ("ingest_other", "ingest_sensors", "build_year", "publish", "incremental_year")
PHASES = [
    ("generate", "generate the delivery set"),
    ("ingest_other", "ingest the other feeds (spine, registry, pulled)"),
    ("limit", "the limit: DuckDB read_parquet into a table"),
    ("ingest_sensors", "ingest the sensor readings"),
    ("build_year", "build: prepare_build + dbt build (sensor marts, KPI; full refresh)"),
    ("hand_sql", "the same transformations as one hand-written SQL script"),
    ("publish", "dbt build of the whole mart, quality gate, publish"),
    ("dag_vs_dbt_cli", "build_mart under the scheduler vs the dbt build CLI"),
    ("delivery_to_publish_vs_steps", "a landed file to published, under the scheduler vs by hand"),
    ("pages", "dashboard pages (AppTest)"),
    ("incremental_year", "one new day at the whole history"),
    ("incremental_empty", "the same days at empty history"),
    ("kpi_ours", "headline KPI, our path"),
    ("kpi_pandas", "headline KPI, pandas baseline"),
    ("alarm_replay", "1,000 alarms: MQTT to the robots through a failing receiver, then to 归档"),
]
# Compared pairs measured again, interleaved (limit, ingest, limit, ingest, ...), best kept:
# other processes may share the machine, and a pair measured close together is compared.
PAIRS = (("limit", "ingest_sensors"), ("build_year", "hand_sql"))
DEFAULT_REPEATS = {"full": 1, "medium": 2, "small": 2}


def plan(repeats: int) -> list[tuple[str, str]]:
    titles = dict(PHASES)
    out = []
    for name, title in PHASES:
        pair = next((p for p in PAIRS if name in p), None)
        if pair is None:
            out.append((name, title))
        elif name == pair[0]:
            for r in range(repeats):
                suffix = "" if r == 0 else f"#{r + 1}"
                out += [(f"{n}{suffix}", titles[n] + (f" (repeat {r + 1})" if r else "")) for n in pair]
    return out


def base(name: str) -> str:
    return name.split("#")[0]


def samples(p: dict, name: str) -> list[dict]:
    return [v for k, v in p.items() if base(k) == name and isinstance(v, dict) and "failed" not in v]


def _fmt(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m{seconds % 60:02d}s" if seconds >= 3600 \
        else f"{seconds // 60}m{seconds % 60:02d}s"


class TreeSampler:
    """Peak RSS of a process and its descendants (sum), sampled; prints a heartbeat."""

    def __init__(self, pid: int, label: str, progress=None, interval: float = 0.2, heartbeat: float = 15.0):
        self.pid, self.label, self.progress = pid, label, progress
        self.interval, self.heartbeat = interval, heartbeat
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _rss(self) -> int:
        try:
            import psutil
        except ImportError:
            return 0
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        started = last = time.monotonic()
        while not self._stop.wait(self.interval):
            rss = self._rss()
            self.peak = max(self.peak, rss)
            now = time.monotonic()
            if now - last >= self.heartbeat:
                last = now
                extra = ""
                if self.progress:
                    try:
                        extra = ", " + self.progress(now - started)
                    except Exception:  # progress is a courtesy
                        extra = ""
                print(f"    … {self.label}: {_fmt(now - started)} elapsed, RSS {rss / 2**30:.2f} GB{extra}",
                      flush=True)


def _ingest_progress(work: Path, scale: str):
    total = steps.SCALES[scale][0]
    folder = work / "year" / "raw" / "emb" / "sensor_readings"
    rows_per_file = steps.SCALES[scale][1] * 1440

    def progress(elapsed: float) -> str:
        done = sum(1 for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else 0
        if not done:
            return f"0/{total} files"
        eta = (total - done) * elapsed / done
        return (f"{done}/{total} files, ~{done * rows_per_file / elapsed / 1e6:.2f}M rows/s, "
                f"ETA {_fmt(eta)}")
    return progress


def _cpu_busy() -> float:
    """CPU seconds the whole machine has been busy (0 without psutil)."""
    try:
        import psutil
    except ImportError:
        return 0.0
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def _own_cpu() -> float:
    """CPU seconds of this process and its reaped descendants (the phases, dbt)."""
    import resource

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def run_phase(name: str, title: str, index: int, total: int, work: Path, scale: str, env: dict) -> dict:
    print(f"[{index}/{total}] {title} ({name})", flush=True)
    load_start = os.getloadavg()[0]
    cpu_start = _cpu_busy(), _own_cpu()
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    cmd = [sys.executable, "-m", "bench.steps", base(name), "--work", str(work), "--scale", scale, "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env)
    progress = _ingest_progress(work, scale) if base(name) == "ingest_sensors" else None
    with TreeSampler(proc.pid, name, progress) as sampler:
        code = proc.wait()
    wall = time.perf_counter() - t0
    try:
        result = json.loads(out.read_text()) if code == 0 else {}
    finally:
        out.unlink(missing_ok=True)
    result["wall_s"] = round(wall, 2)
    result["rss_peak_gb"] = round(sampler.peak / 2**30, 3)
    result["loadavg_1m"] = [round(load_start, 2), round(os.getloadavg()[0], 2)]
    busy, own = _cpu_busy() - cpu_start[0], _own_cpu() - cpu_start[1]
    if busy > 0 and wall > 0:  # CPU time the rest of the machine used meanwhile, share of all CPUs
        result["other_cpu_share"] = round(max(0.0, busy - own) / (wall * (os.cpu_count() or 1)), 3)
    if code:
        result["failed"] = f"exit {code}"
    print(f"    done in {_fmt(wall)} ({wall:.1f} s), peak RSS {sampler.peak / 2**30:.2f} GB"
          + (f" — FAILED (exit {code})" if code else ""), flush=True)
    return result


def _machine() -> dict:
    import duckdb

    info = {"cpus": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__,
            "platform": platform.platform()}
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    try:
        from importlib.metadata import version

        info["dbt_core"] = version("dbt-core")
        info["dbt_duckdb"] = version("dbt-duckdb")
        info["streamlit"] = version("streamlit")
        info["pandas"] = version("pandas")
    except Exception:
        pass
    return info


def _metric(value, target, op, unit="", detail="") -> dict:
    if value is None:
        met = None
    else:
        met = {">=": value >= target, "<=": value <= target, "<": value < target}[op] if op else None
    return {"value": None if value is None else round(value, 3), "target": target, "op": op, "unit": unit,
            "met": met, "detail": detail}


def metrics(p: dict) -> dict:
    def get(phase, *keys):
        v = p.get(phase)
        for k in keys:
            if not isinstance(v, dict) or k not in v:
                return None
            v = v[k]
        return v

    def best(phase, key, pick=min):
        values = [x[key] for x in samples(p, phase) if x.get(key)]
        return pick(values) if values else None

    def all_of(phase, key, fmt):
        values = [x[key] for x in samples(p, phase) if x.get(key)]
        return "/".join(fmt(v) for v in values)

    out = {}
    ing, lim = best("ingest_sensors", "rows_per_s", max), best("limit", "rows_per_s", max)
    out["ingest_vs_limit"] = _metric(
        ing / lim if ing and lim else None, 0.5, ">=",
        detail=(f"ingest {ing / 1e6:.2f}M rows/s vs DuckDB read_parquet {lim / 1e6:.2f}M rows/s "
                f"(best of {all_of('ingest_sensors', 'rows_per_s', lambda v: f'{v / 1e6:.2f}')} and "
                f"{all_of('limit', 'rows_per_s', lambda v: f'{v / 1e6:.2f}')})") if ing and lim else "")
    b, h = best("build_year", "seconds"), best("hand_sql", "seconds")
    out["build_vs_hand_sql"] = _metric(
        b / h if b and h else None, 1.5, "<=",
        detail=(f"prepare_build + dbt build {b:.1f} s vs hand SQL {h:.1f} s (best of "
                f"{all_of('build_year', 'seconds', lambda v: f'{v:.1f}')} and "
                f"{all_of('hand_sql', 'seconds', lambda v: f'{v:.1f}')})") if b and h else "")
    y, e = get("incremental_year", "median_s"), get("incremental_empty", "median_s")
    out["incremental_day_ratio"] = _metric(
        y / e if y and e else None, 1.2, "<=",
        detail=f"one day at the history {y:.1f} s vs at empty history {e:.1f} s (medians of 3 days)" if y and e else "")
    pg = get("pages", "cold_p95_s")
    out["page_p95_s"] = _metric(pg, 1.0, "<", "s", detail=(
        f"{get('pages', 'renders') // 2} renders over {len(get('pages', 'pages'))} pages, query cache cleared "
        f"each time (its ttl is 60 s); cached: p95 {get('pages', 'warm_p95_s'):.2f} s") if pg is not None else "")
    peaks = {k: v["rss_peak_gb"] for k, v in p.items()
             if base(k) in PIPELINE_PHASES and isinstance(v, dict) and "rss_peak_gb" in v}
    peak = max(peaks.values()) if peaks else None
    worst = max(peaks, key=peaks.get) if peaks else ""
    out["peak_rss_gb"] = _metric(peak, 8.0, "<", "GB", detail=f"in {worst} (process tree, sampled)" if worst else "")
    dg, cl = get("dag_vs_dbt_cli", "dag_dbt_s"), get("dag_vs_dbt_cli", "cli_best_s")
    out["dag_vs_dbt_cli"] = _metric(
        dg / cl if dg and cl and get("dag_vs_dbt_cli", "state") == "success" else None, 1.3, "<=",
        detail=(f"build_mart's dbt group under the scheduler {dg:.1f} s ({get('dag_vs_dbt_cli', 'dbt_tasks')} "
                f"tasks; whole run {get('dag_vs_dbt_cli', 'dag_run_s'):.1f} s) vs `dbt build` {cl:.1f} s "
                f"(best of {'/'.join(str(c['seconds']) for c in get('dag_vs_dbt_cli', 'cli'))}; DAG runs "
                f"{'/'.join(str(d['dag_dbt_s']) for d in get('dag_vs_dbt_cli', 'dag_runs') or [])})")
        if dg and cl else "")
    d50, s50 = get("delivery_to_publish_vs_steps", "scheduler_p50_s"), get("delivery_to_publish_vs_steps", "steps_p50_s")
    out["delivery_to_publish_vs_steps"] = _metric(
        d50 / s50 if d50 and s50 else None, 1.5, "<=",
        detail=(f"{get('delivery_to_publish_vs_steps', 'deliveries')} deliveries: landing to readable under "
                f"the scheduler p50 {d50:.1f} s, p95 {get('delivery_to_publish_vs_steps', 'scheduler_p95_s'):.1f} s; "
                f"the same steps by hand p50 {s50:.1f} s, p95 {get('delivery_to_publish_vs_steps', 'steps_p95_s'):.1f} s")
        if d50 and s50 else "")
    ours, pandas = get("kpi_ours", "seconds"), get("kpi_pandas", "seconds")
    out["kpi_vs_pandas"] = _metric(
        ours / pandas if ours and pandas else None, None, None,
        detail=f"ours {ours:.1f} s vs pandas {pandas:.1f} s" if ours and pandas else "")
    out.update(_alarm_metrics(p.get("alarm_replay")))
    return out


def _alarm_metrics(ar: dict | None) -> dict:
    """The alarm replay's three metrics (bench/alarms.py); None values when it did not run."""
    if not isinstance(ar, dict) or "failed" in ar or "lost" not in ar:
        return {"alarm_replay_lost": _metric(None, 0, "<="), "alarm_replay_duplicated": _metric(None, 0, "<="),
                "alarm_notify_p95_s": _metric(None, None, None, "s")}
    rx, resp = ar["receiver"], ar["response"]
    trail = (f"{ar['alarms']} alarms (expected {ar['alarms_expected']}; grades "
             + ", ".join(f"{g} {n}" for g, n in ar["grades"].items())
             + f"), {resp['archived']} 已归档 with the four audit rows 签收/到场/处置完毕/归档 in order: "
             f"{resp['complete_trails']}")
    lost = (f"{ar['messages']} messages ({', '.join(f'{k} {v}' for k, v in ar['messages_by_kind'].items())}) "
            f"over {rx['requests']} requests, {rx['answers'].get('503', 0)} answered 503 (one in "
            f"{rx['fail_every']}); not accepted {ar['not_accepted']}, not sent {ar['not_sent']}; {trail}")
    dup = (f"keys accepted more than once: {ar['duplicated']}; accepted but never enqueued: "
           f"{ar['unexpected_accepted']}; tries per message {ar['attempts']}")
    p50 = ar.get("notify_p50_s")
    notify = (f"reading landed -> last first notice sent, over {ar['notify_latencies']} alarms in "
              f"{len(ar['waves'])} waves: p50 {p50:.1f} s, max {ar['notify_max_s']:.1f} s; a wave waits "
              f"for its dbt build (median {sorted(w['dbt_s'] for w in ar['waves'])[len(ar['waves']) // 2]:.1f} s)"
              if p50 is not None else "")
    # Messages can only be counted for the alarms that were recorded: an alarm missing from the
    # store, or one not taken to 归档 with its four audit rows, fails the replay as a loss does.
    whole = ar["alarms"] == ar["alarms_expected"] == resp["archived"] == resp["complete_trails"]
    lost_metric = _metric(ar["lost"], 0, "<=", detail=lost if whole else f"CHECK FAILED: {lost}")
    if not whole:
        lost_metric["met"] = False
    return {
        "alarm_replay_lost": lost_metric,
        "alarm_replay_duplicated": _metric(ar["duplicated"], 0, "<=", detail=dup),
        "alarm_notify_p95_s": _metric(ar.get("notify_p95_s"), None, None, "s", detail=notify),
    }


def _merged(path: Path, partial: dict, scale: str) -> dict:
    """The whole run's results at `path` with the phases of a partial run in place of
    theirs: its metrics replace those they give, its notes are added, and `partial_runs` says
    which run measured what, when."""
    whole = json.loads(path.read_text(encoding="utf-8"))
    ran = {name for name in partial["phases"]}
    fresh = {k: v for k, v in partial["metrics"].items() if v.get("value") is not None}
    whole["phases"] = {**{k: v for k, v in whole["phases"].items() if k not in ran}, **partial["phases"]}
    whole["metrics"] = {**whole["metrics"], **fresh}
    record = {"command": partial["command"], "scale": scale, "started_at": partial["started_at"],
              "finished_at": partial["finished_at"], "wall_s": partial["wall_s"], "phases": sorted(ran),
              "metrics": sorted(fresh), "failed_phase": partial["failed_phase"]}
    whole["partial_runs"] = [r for r in whole.get("partial_runs", []) if set(r["phases"]) - ran] + [record]
    tag = f"[{', '.join(sorted(ran))}] "  # the notes of a partial run: replaced by the next one's
    whole["notes"] = [n for n in whole["notes"] if not n.startswith(tag)] + [tag + n for n in (
        f"{', '.join(sorted(fresh))}: measured by `{partial['command']}` ({partial['started_at']} – "
        f"{partial['finished_at']}), apart from the whole run",
        *[n for n in partial["notes"] if not n.startswith("peak RSS")])]
    return whole


def _value(m: dict) -> str:
    if m["value"] is None:
        return "—"
    v = m["value"]
    text = str(v) if isinstance(v, int) else f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"  # counts as counts
    return f"{text} {m['unit']}".strip()


def _target(m: dict) -> str:
    if m["op"] is None:
        return "—"
    return f"{ {'>=': '≥', '<=': '≤', '<': '<'}[m['op']]} {m['target']:g}{(' ' + m['unit']) if m['unit'] else ''}"


def _met(m: dict) -> str:
    return {True: "yes", False: "**no**", None: "—"}[m["met"]]


def markdown(res: dict) -> str:
    sc, mc = res["scale"], res["machine"]
    lines = [
        "# `make bench`: latest results",
        "",
        f"`{res['command']}` on {res['finished_at'][:10]}, wall time {_fmt(res['wall_s'])}: "
        f"{sc['days']} days x {sc['points']} points, one reading a minute "
        f"({sc['sensor_rows_delivered'] / 1e6:.1f}M sensor rows delivered); "
        f"{mc['cpus']} CPUs, {mc.get('memory_gb', '?')} GB RAM, Python {mc['python']}, DuckDB {mc['duckdb']}, "
        f"dbt-core {mc.get('dbt_core', '?')}.",
        "",
        "| metric | value | target | met? | measured |",
        "|---|---|---|---|---|",
    ]
    for name, m in res["metrics"].items():
        lines.append(f"| {name} | {_value(m)} | {_target(m)} | {_met(m)} | {m['detail']} |")
    lines += ["", "Checks and notes:", ""]
    lines += [f"- {n}" for n in res["notes"]]
    return "\n".join(lines) + "\n"


def notes(p: dict, scale: str) -> list[str]:
    out = []
    hs = p.get("hand_sql", {})
    if hs.get("checks"):
        bad = sorted({k for h in samples(p, "hand_sql") for k, c in h.get("checks", {}).items() if not c["equal"]})
        out.append("hand SQL and dbt agree on every check (readings, point-days, episodes row by row, daily alarms, "
                   f"coverage, casualty events, kpi_safety_targets; {hs.get('episodes')} episodes)" if not bad
                   else f"WARNING: hand SQL and dbt differ on {bad}")
    kp = p.get("kpi_pandas", {})
    if "equal" in kp:
        out.append(f"pandas baseline and marts.kpi_safety_targets agree on {kp['years']} years" if kp["equal"]
                   else "WARNING: pandas baseline differs from marts.kpi_safety_targets")
    builds = sorted(samples(p, "build_year"), key=lambda x: x.get("seconds") or 1e9)
    hands = sorted(samples(p, "hand_sql"), key=lambda x: x.get("seconds") or 1e9)
    by = builds[0].get("dbt", {}).get("by_type", {}) if builds else {}
    if by:
        bld, dbt = builds[0], builds[0]["dbt"]
        models = by.get("model", {}).get("seconds", 0.0)
        counted = sum(v["seconds"] for v in by.values())
        rel = f" ({models / hands[0]['seconds']:.2f} x the hand SQL)" if hands and hands[0].get("seconds") else ""
        parts = ", ".join(f"{k} {v['nodes']} in {v['seconds']:.1f} s" for k, v in sorted(by.items()) if k != "model")
        out.append(f"where the build time goes (best build, dbt's own node times): models {by['model']['nodes']} in "
                   f"{models:.1f} s{rel}; {parts}; prepare_build {bld['prepare_build_s']:.1f} s; dbt start-up, "
                   f"parse and hooks {max(0.0, dbt['seconds'] - counted):.1f} s")
    for ph, d in p.items():
        if base(ph) not in ("build_year", "publish", "incremental_year", "incremental_empty", "kpi_ours"):
            continue
        errs = [d.get("dbt", {}).get("error")] + [x.get("dbt_error") for x in d.get("days", [])] \
            + [d.get("first_build_error")]
        if any(errs):
            out.append(f"WARNING: dbt reported failures in {ph} (see latest.json)")
    ing = sorted(samples(p, "ingest_sensors"), key=lambda x: -(x.get("rows_per_s") or 0))
    if ing and ing[0].get("sha256_all_files_s") is not None:
        x = ing[0]
        out.append(f"sensor ingest: {x['files']} files, {x['rows_loaded'] / 1e6:.1f}M rows loaded + "
                   f"{x['rows_quarantined']} quarantined in {x['seconds']:.1f} s; hashing the files (sha256, "
                   f"measured apart) takes {x['sha256_all_files_s']:.1f} s of it; the rest is the per-file "
                   "DuckDB pass (typing, checks, raw record of bad rows) and the Parquet writes")
    dv = p.get("dag_vs_dbt_cli", {})
    if dv.get("state"):
        out.append(f"build_mart under the scheduler: run {dv['state']}, task states {dv['task_states']}; "
                   + ("its tables and both CLI builds' agree on every table "
                      f"({dv['tables']} tables and views, rows and per-column hash sums)" if not dv["tables_differ"]
                      else f"WARNING: the builds differ on {dv['tables_differ']}"))
    pub = p.get("publish", {})
    if pub.get("quality_gate") == "failed":
        out.append("the quality gate FAILED on the bench data; the bench published directly with "
                   "citysafety.mart.publish.publish so that the pages could be measured (reasons in latest.json)")
    elif pub.get("quality_gate") == "passed":
        out.append("the quality gate passed; the pages read the warehouse published by citysafety.mart.publish")
    pg = p.get("pages", {})
    if pg.get("pages"):
        worst = max(pg["pages"].items(), key=lambda kv: kv[1]["cold_p95_s"])
        out.append(f"pages: {len(pg['pages'])} pages x {pg['runs_per_page']} renders after a warm-up; slowest "
                   f"{worst[0]} (p95 {worst[1]['cold_p95_s']:.2f} s); AppTest runs the script server-side, "
                   f"no browser: rendering in the browser and the websocket are not counted"
                   + (f"; {pg['errors']} page(s) raised errors" if pg.get("errors") else ""))
    iy, ie = p.get("incremental_year", {}), p.get("incremental_empty", {})
    if iy.get("days") and ie.get("days"):
        def split(d):
            return "/".join(f"{x:.1f}" for x in (d["ingest_s"], d["prepare_build_s"], d["dbt_s"]))
        out.append("incremental days, ingest/prepare_build/dbt seconds: at the history "
                   + ", ".join(split(d) for d in iy["days"]) + "; at empty history "
                   + ", ".join(split(d) for d in ie["days"]))
    ar = p.get("alarm_replay", {})
    if ar.get("waves"):
        def med(key):
            return measure._median([w[key] for w in ar["waves"]])
        out.append(f"alarm replay: {ar['seconds']:.0f} s in all; a wave of 100 alarms (medians, s): landed "
                   f"over MQTT {med('land_s'):.1f}, ingest {med('ingest_s'):.1f}, prepare_build "
                   f"{med('prepare_build_s'):.1f}, dbt {med('dbt_s'):.1f}, publish {med('publish_s'):.1f}, record "
                   f"{med('record_s'):.1f}, dispatch {med('dispatch_s'):.1f}; the dispatch's clock was moved "
                   f"{sum(w['dispatch']['clock_moved_s'] for w in ar['waves']):.0f} s past the outbox's back-off "
                   "instead of sleeping it (sent_at as the wait makes it); the response: "
                   f"{ar['response']['actions']} actions in {ar['response']['seconds']:.1f} s, "
                   f"{ar['response']['refused']} refused"
                   + (f"; WARNING: {ar['dbt_errors']} of its dbt builds reported failures"
                      if ar.get("dbt_errors") else ""))
    peaks = {ph: p[ph].get("rss_peak_gb") for ph in p if isinstance(p[ph], dict) and "rss_peak_gb" in p[ph]}
    out.append("peak RSS per phase (GB, process tree, sampled every 0.2 s): "
               + ", ".join(f"{k} {v:.2f}" for k, v in peaks.items()))
    other = {k: v["other_cpu_share"] for k, v in p.items() if isinstance(v, dict) and "other_cpu_share" in v}
    if other:
        busiest = max(other, key=other.get)
        out.append(f"other processes on this machine used {min(other.values()):.0%} to {max(other.values()):.0%} "
                   f"of its {os.cpu_count()} CPUs during the phases (most during {busiest}): the figures carry that "
                   "noise; compared pairs are measured close together and the best of the repeats is kept")
    out.append("dbt runs with DBT_SEND_ANONYMOUS_USAGE_STATS=False (no internet here); the bench never "
               "touches var/ (its homes are under the bench work folder)")
    if scale != "full":
        out.append(f"SCALE={scale}: not the year at 500 points the targets are set for; what grows with the "
                   "data (peak RSS, build time, a day's cost at the history) does not carry over to it")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default=os.environ.get("SCALE") or "full", choices=list(steps.SCALES))
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("BENCH_HOME") or BENCH_DIR / "work"))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS") or 0) or None,
                        help="measure the compared pairs this many times (default: 1 full, 2 otherwise)")
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY") or None,
                        help="run these phases alone (comma-separated, e.g. alarm_replay); results go to "
                             "<work>/<scale>/only-results/ unless --results is given")
    parser.add_argument("--merge", action="store_true",
                        help="with --only: fold the phases run into bench/results/latest.json (the other "
                             "phases' figures kept, the partial run recorded in partial_runs)")
    args = parser.parse_args(argv)
    if args.merge and not args.only:
        parser.error("--merge needs --only")
    only = [n.strip() for n in (args.only or "").split(",") if n.strip()]
    unknown = sorted(set(only) - {name for name, _ in PHASES})
    if unknown:
        parser.error(f"unknown phase(s) {unknown}; phases: {', '.join(name for name, _ in PHASES)}")

    days, points = steps.SCALES[args.scale]
    work = (args.work / args.scale).resolve()
    env = {**os.environ,
           "CITYSAFETY_AS_OF_DATE": steps.END.isoformat(),
           "CITYSAFETY_HOME": str(work / "year"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
           "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("CITYSAFETY_DEMO_END", None)
    command = (f"python -m bench.run --scale {args.scale} --only {','.join(only)}" + (" --merge" if args.merge else "")
               if only else f"make bench SCALE={args.scale}")
    if only and args.results == RESULTS and not args.merge:  # never replaces the whole run's results
        args.results = work / "only-results"
    print(f"{command}: {days} days x {points} points x 1440 readings a day = "
          f"{days * points * 1440 / 1e6:.1f}M sensor readings; work folder {work}", flush=True)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    phases: dict[str, dict] = {}
    failed = None
    repeats = args.repeats or DEFAULT_REPEATS[args.scale]
    todo = plan(repeats)
    if only:
        todo = [(name, title) for name, title in todo if base(name) in only]
    for i, (name, title) in enumerate(todo, start=1):
        phases[name] = run_phase(name, title, i, len(todo), work, args.scale, env)
        if "failed" in phases[name]:
            failed = name
            break
    wall = time.perf_counter() - t0
    sensors = phases.get("generate", {}).get("sensors", {})
    res = {
        "command": command,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_s": round(wall, 1),
        "scale": {"name": args.scale, "days": days, "points": points, "readings_per_point_day": 1440,
                  "sensor_rows_delivered": sensors.get("rows", 0), "sensor_files": sensors.get("files"),
                  "sensor_bytes": sensors.get("bytes"), "extra_days": steps.EXTRA_DAYS,
                  "dbt_selection": " ".join(steps.SELECTION), "repeats": repeats},
        "machine": _machine(),
        "metrics": metrics(phases),
        "failed_phase": failed,
        "phases": phases,
    }
    res["notes"] = notes(phases, args.scale) + ([f"the run stopped: phase {failed} failed"] if failed else [])
    if args.merge:
        res = _merged(args.results / "latest.json", res, args.scale)
    res["targets_met"] = all(m["met"] for m in res["metrics"].values() if m["op"])
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "latest.json").write_text(json.dumps(res, ensure_ascii=False, indent=1, default=str) + "\n")
    md = markdown(res)
    (args.results / "latest.md").write_text(md)
    print()
    print(md)
    print(f"written {args.results / 'latest.json'} and {args.results / 'latest.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
