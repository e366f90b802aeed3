"""The phases of `make bench`, each run in a process of its own by bench/run.py.

`python -m bench.steps <phase> --work DIR --scale NAME --out FILE` runs one phase and writes
its result (JSON) to FILE. A process per phase keeps the figures apart: each phase's memory is
its own (run.py samples the RSS of the phase's process tree), and no import or cache of one
phase warms another. Times are taken inside the phase around the work (time.perf_counter),
so interpreter start-up is not counted; dbt runs as a subprocess (citysafety.mart.dbt_runner.run_dbt)
and its start-up, parse and run are counted, as they are in the pipeline.

Homes under the bench work folder (default bench/work/<scale>/):
- year/  : the delivery set at scale (spine demo feeds + the sensor history), built and published;
- empty/ : the same non-sensor raw layer, the sensor feed starting from one day (no history);
- kpi/   : the four spine feeds only (our path for the headline KPI, against pandas);
- gen/   : the sensor days delivered after the history (incremental runs);
- alarms/: the alarm replay's own home (bench/alarms.py), the same at every scale.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from citysafety.mart import build, dbt_runner
from citysafety.raw import ingest, store
from citysafety import config
from citysafety import sources as S
from citysafety.config import PROJECT_ROOT, Settings, duckdb_memory_limit
from citysafety.files import atomic_path, sha256_file
from citysafety.sql import literal

from bench.measure import _dbt, _elapsed, _median, _p95, say

BENCH_DIR = Path(__file__).resolve().parent
SEED = 20180101
HISTORY_END = date(2025, 12, 31)  # the last day of the sensor history
EXTRA_DAYS = 3  # days delivered after the history, one incremental run each
END = HISTORY_END + timedelta(EXTRA_DAYS + 1)  # the demo set's end: last delivery, "as of"

SCALES = {  # days of history, monitoring points (one reading a minute each)
    "full": (365, 500),
    "medium": (90, 200),
    "small": (14, 50),
}

SENSOR_MARTS = ["fct_sensor_alarm_episodes", "agg_sensor_alarms_daily", "agg_monitoring_coverage"]
KPI_MART = "kpi_safety_targets"
# The compared build: the sensor marts and the headline KPI with every parent (seeds, staging,
# intermediate), their unit tests and the data tests whose parents are all selected.
SELECTION = [f"+{m}" for m in [*SENSOR_MARTS, KPI_MART]]
DBT_SELECTED = ["build", "--select", *SELECTION, "--indirect-selection", "cautious"]
SPINE = [S.EMB_ACCIDENTS, S.FIRE_FIRES, S.TRAFFIC_ROAD_ACCIDENTS, S.STATS_ECONOMY]


def days_of(scale: str) -> tuple[list[date], list[date]]:
    n, _ = SCALES[scale]
    history = [HISTORY_END - timedelta(n - 1 - k) for k in range(n)]
    extras = [HISTORY_END + timedelta(k + 1) for k in range(EXTRA_DAYS)]
    return history, extras


class Homes:
    def __init__(self, work: Path):
        self.work = work
        self.year = Settings(home=work / "year")
        self.empty = Settings(home=work / "empty")
        self.kpi = Settings(home=work / "kpi")
        self.gen = work / "gen"

    @staticmethod
    def sensor_landing(cfg: Settings) -> Path:
        return cfg.landing / S.EMB_SENSOR_READINGS.source / S.EMB_SENSOR_READINGS.feed


def _copy_aside(src: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / src.name
    with atomic_path(target, sync=False) as part:
        shutil.copyfile(src, part)
    return target


# ------------------------------------------------------------------------------- phases

def phase_generate(homes: Homes, scale: str) -> dict:
    from demo.generate import generate as demo_generate

    from bench.generate import write_sensor_set

    if homes.work.exists():
        shutil.rmtree(homes.work)
    homes.work.mkdir(parents=True)
    history, extras = days_of(scale)
    _, points = SCALES[scale]
    t0 = time.perf_counter()
    spine = demo_generate(homes.year.home, SEED, END)
    # the demo's own sensor feed (14 days, ~80 points) makes way for the bench's
    for feed in (S.EMB_SENSOR_READINGS, S.EMB_HAZARD_SOURCES):
        for old in (homes.year.landing / feed.source / feed.feed).glob(feed.file_glob):
            old.unlink()
    spine_s = _elapsed(t0)
    say(f"demo spine and feeds written in {spine_s:.1f} s; sensor readings "
        f"{len(history)} days x {points} points (+{len(extras)} days for the incremental runs)")
    landing = Homes.sensor_landing(homes.year)
    history_set = set(history)
    sensors = write_sensor_set(
        SEED, points, history + extras,
        target_of=lambda d: landing if d in history_set else homes.gen,
        snapshot_dir=homes.year.landing / S.EMB_HAZARD_SOURCES.source / S.EMB_HAZARD_SOURCES.feed,
        stop_day=history[-3])
    return {"demo_files": spine, "demo_seconds": spine_s, "sensors": sensors,
            "history": [history[0].isoformat(), history[-1].isoformat()],
            "extra_days": [d.isoformat() for d in extras], "end": END.isoformat()}


def phase_ingest_other(homes: Homes, scale: str) -> dict:
    """Every feed but the sensor readings into the year home (pulled feeds from the demo sources)."""
    from citysafety.land import pull
    from demo import emb_api, grid_db
    from citysafety.land import http_api

    cfg = homes.year
    out = {}
    t0 = time.perf_counter()
    with emb_api.demo_connection_env(cfg) as env:
        if env:
            base, token = http_api._from_uri(env["AIRFLOW_CONN_EMB_API"], "emb_api")
            pull.pull_feed(S.EMB_INSPECTIONS, cfg, base_url=base, token=token)
    grid = grid_db.demo_connection_env(cfg)
    if grid:
        pull.pull_feed(S.GRID_HAZARD_REPORTS, cfg, url=grid["AIRFLOW_CONN_GRID_DB"])
    for feed in S.all_feeds():
        if feed is S.EMB_SENSOR_READINGS:
            continue
        t = time.perf_counter()
        summary = ingest.summarise(ingest.ingest_feed(feed, cfg))
        out[feed.id] = {**summary, "seconds": _elapsed(t)}
    return {"feeds": out, "seconds": _elapsed(t0)}


def _sensor_files(cfg: Settings) -> list[Path]:
    return store.delivered_files(S.EMB_SENSOR_READINGS, cfg)


def phase_limit(homes: Homes, scale: str) -> dict:
    """DuckDB's own read_parquet into a table over the same files: the limit on this machine."""
    files = _sensor_files(homes.year)
    db = homes.work / "limit.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    try:
        listing = "[" + ", ".join(literal(p) for p in files) + "]"
        t0 = time.perf_counter()
        con.execute(f"create table t as select * from read_parquet({listing})")
        con.execute("checkpoint")
        seconds = _elapsed(t0)
        rows = con.execute("select count(*) from t").fetchone()[0]
        threads = con.execute("select current_setting('threads')").fetchone()[0]
    finally:
        con.close()
    size = db.stat().st_size
    db.unlink()
    return {"files": len(files), "rows": rows, "seconds": seconds, "rows_per_s": rows / seconds,
            "duckdb_threads": threads, "db_bytes": size,
            "statement": "create table t as select * from read_parquet([...files...]); checkpoint"}


def phase_ingest_sensors(homes: Homes, scale: str) -> dict:
    cfg = homes.year
    files = _sensor_files(cfg)
    loaded = store.feed_dir(S.EMB_SENSOR_READINGS, cfg)
    if loaded.exists():  # a repeat: the same files ingested again from scratch
        shutil.rmtree(loaded)
    t0 = time.perf_counter()
    results = ingest.ingest_feed(S.EMB_SENSOR_READINGS, cfg)
    seconds = _elapsed(t0)
    summary = ingest.summarise(results)
    t = time.perf_counter()  # diagnostic, after the timing: the ingest's sha256 of every file
    for path in files:
        sha256_file(path)
    return {**summary, "files_delivered": len(files), "seconds": seconds,
            "rows_per_s": summary["rows_loaded"] / seconds, "sha256_all_files_s": _elapsed(t)}


def phase_build_year(homes: Homes, scale: str) -> dict:
    cfg = homes.year
    t0 = time.perf_counter()
    counts = build.prepare_build(cfg)
    prepare_s = _elapsed(t0)
    say(f"prepare_build {prepare_s:.1f} s; dbt {' '.join(DBT_SELECTED)} --full-refresh ...")
    dbt = _dbt([*DBT_SELECTED, "--full-refresh"], cfg)
    return {"prepare_build_s": prepare_s, "dbt": dbt, "seconds": round(prepare_s + dbt["seconds"], 3),
            "raw_counts": counts}


def _hand_statements(cfg: Settings) -> list[str]:
    text = (BENCH_DIR / "hand_sql.sql").read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    sensors = build.raw_select(S.EMB_SENSOR_READINGS, store.loads(S.EMB_SENSOR_READINGS, cfg))
    text = text.replace("{RAW}", str(cfg.raw)).replace("{SEEDS}", str(PROJECT_ROOT / "dbt_project" / "seeds"))
    text = text.replace("{SENSOR_READINGS}", sensors)
    return [s.strip() for s in re.split(r";\s*\n", text) if s.strip()]


CHECKS = {
    # name: (dbt query, hand query); each returns rows compared as sets
    # values summed as decimals: a double sum of 263M values depends on the order of addition
    "readings_deduplicated": (
        "select count(*), sum(deliveries), sum(value::decimal(38, 6)) from dbt.intermediate.int_sensor_readings_deduplicated",
        "select count(*), sum(deliveries), sum(value::decimal(38, 6)) from readings"),
    "point_days": (
        "select count(*), sum(readings), sum(alarm_readings) from dbt.intermediate.int_sensor_point_days_summarised",
        "select count(*), sum(readings), sum(alarm_readings) from point_days"),
    "episodes_count": (
        "select count(*), count(*) filter (where reached_high_high), count(cleared_at) from dbt.marts.fct_sensor_alarm_episodes",
        "select count(*), count(*) filter (where reached_high_high), count(cleared_at) from episodes"),
    "episodes_rows_differing": (
        "select count(*) from (select episode_id, started_at, ended_at, cleared_at, readings, peak_value, reached_high_high "
        "from dbt.marts.fct_sensor_alarm_episodes except all select episode_id, started_at, ended_at, cleared_at, readings, "
        "peak_value, reached_high_high from episodes)",
        "select count(*) from (select episode_id, started_at, ended_at, cleared_at, readings, peak_value, reached_high_high "
        "from episodes except all select episode_id, started_at, ended_at, cleared_at, readings, peak_value, "
        "reached_high_high from dbt.marts.fct_sensor_alarm_episodes)"),
    "alarms_daily": (
        "select count(*), sum(readings), sum(alarm_readings), sum(episodes), sum(high_high_episodes) from dbt.marts.agg_sensor_alarms_daily",
        "select count(*), sum(readings), sum(alarm_readings), sum(episodes), sum(high_high_episodes) from alarms_daily"),
    "coverage": (
        "select hazard_source_id, points, points_reporting_24h, last_reading_at, as_of_time from dbt.marts.agg_monitoring_coverage order by 1",
        "select hazard_source_id, points, points_reporting_24h, last_reading_at, as_of_time from coverage order by 1"),
    "sensor_streets": (
        "select 'coverage', hazard_source_id, street_code, count(*) from dbt.marts.agg_monitoring_coverage group by all "
        "union all select 'daily', hazard_source_id, street_code, count(*) from dbt.marts.agg_sensor_alarms_daily group by all "
        "union all select 'episodes', hazard_source_id, street_code, count(*) from dbt.marts.fct_sensor_alarm_episodes group by all "
        "order by all",
        "select 'coverage', hazard_source_id, street_code, count(*) from coverage group by all "
        "union all select 'daily', hazard_source_id, street_code, count(*) from alarms_daily group by all "
        "union all select 'episodes', hazard_source_id, street_code, count(*) from episodes group by all "
        "order by all"),
    "casualty_events": (
        "select department, street_code, count(*), sum(deaths), sum(injuries) from dbt.marts.fct_casualty_events group by all order by all",
        "select department, street_code, count(*), sum(deaths), sum(injuries) from casualty_events group by all order by all"),
    "kpi_safety_targets": (
        "select year, deaths_workplace, deaths_fire, deaths_road, deaths_total, events, gdp_100m_yuan, gdp_status, "
        "round(deaths_per_100m_gdp, 9), round(rate_change_vs_2016, 9), deaths_target_met, rate_target_met "
        "from dbt.marts.kpi_safety_targets order by year",
        "select year, deaths_workplace, deaths_fire, deaths_road, deaths_total, events, gdp_100m_yuan, gdp_status, "
        "round(deaths_per_100m_gdp, 9), round(rate_change_vs_2016, 9), deaths_target_met, rate_target_met "
        "from kpi_safety_targets order by year"),
}


def phase_hand_sql(homes: Homes, scale: str) -> dict:
    cfg = homes.year
    db = homes.work / "hand.duckdb"
    db.unlink(missing_ok=True)
    statements = _hand_statements(cfg)
    # the memory the dbt build's DuckDB gets (dbt_project/profiles.yml), spilling alike
    con = duckdb.connect(str(db), config={"memory_limit": duckdb_memory_limit(),
                                          "temp_directory": str(homes.work / "hand_tmp")})
    steps = []
    try:
        t0 = time.perf_counter()
        for sql in statements:
            t = time.perf_counter()
            con.execute(sql)
            name = re.search(r"create table (\w+)", sql)
            steps.append((name.group(1) if name else sql[:40], _elapsed(t)))
        con.execute("checkpoint")
        seconds = _elapsed(t0)
        say(f"hand SQL {seconds:.1f} s: " + ", ".join(f"{n} {s:.1f}s" for n, s in steps))
        # the same numbers as dbt? (after the timing)
        con.execute(f"attach {literal(cfg.build_db)} as dbt (read_only)")
        checks = {}
        for name, (dbt_sql, hand_sql) in CHECKS.items():
            a = con.execute(dbt_sql).fetchall()
            b = con.execute(hand_sql).fetchall()
            if name == "episodes_rows_differing":
                equal = a[0][0] == 0 and b[0][0] == 0
                checks[name] = {"equal": equal, "dbt_only": a[0][0], "hand_only": b[0][0]}
            else:
                equal = a == b
                checks[name] = {"equal": equal, "rows": len(a),
                                **({} if equal else {"dbt": str(a[:5])[:600], "hand": str(b[:5])[:600]})}
        episodes = con.execute("select count(*) from episodes").fetchone()[0]
        con.execute("detach dbt")
    finally:
        con.close()
    db.unlink(missing_ok=True)
    return {"seconds": seconds, "statements": steps, "checks": checks, "episodes": episodes,
            "all_equal": all(c["equal"] for c in checks.values())}


def phase_publish(homes: Homes, scale: str) -> dict:
    """The rest of the mart (every model), the quality gate, publish: what the dashboard reads."""
    from citysafety.mart import publish, quality

    cfg = homes.year
    t0 = time.perf_counter()
    dbt = _dbt(["build"], cfg)
    gate, gate_error = "passed", None
    t = time.perf_counter()
    try:
        quality.validate(cfg)
    except quality.QualityGateFailed as exc:
        gate, gate_error = "failed", str(exc)[-3000:]
    gate_s = _elapsed(t)
    t = time.perf_counter()
    counts = publish.publish(cfg)  # the bench publishes either way (the pages need a warehouse)
    publish_s = _elapsed(t)
    return {"dbt": dbt, "quality_gate": gate, "quality_gate_error": gate_error,
            "quality_gate_s": gate_s, "publish_s": publish_s, "tables_published": len(counts),
            "seconds": _elapsed(t0)}


def _port(work: Path) -> int:
    """A port for the bench's Airflow API server (and the two log servers above it) derived from
    the work folder, so that two benches, or a bench and `make serve`, do not collide."""
    import zlib

    return 20000 + zlib.crc32(str(work).encode()) % 15000 // 3 * 3


def _fingerprint(cfg: Settings) -> dict[str, list]:
    """Rows and a per-column hash sum of every table and view the build made (schemas other than
    raw and audit): what `dbt build` produced, to check that two builds agree."""
    con = duckdb.connect(str(cfg.build_db), read_only=True)
    try:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_schema not in ('raw', 'audit', 'information_schema', 'main') "
                             # the incremental models' bookkeeping: when each run processed what
                             # (its timestamps differ from one build to the next by design)
                             "and table_name != 'sensor_watermarks' "
                             "order by 1, 2").fetchall()
        out = {}
        for schema, name in tables:
            rel = f'"{schema}"."{name}"'
            cols = [r[0] for r in con.execute(f"describe {rel}").fetchall()]
            sums = ", ".join(f'sum(hash("{c}"))::varchar' for c in cols)
            out[f"{schema}.{name}"] = list(con.execute(f"select count(*), {sums} from {rel}").fetchone())
        return out
    finally:
        con.close()


def _group_span(tis: list[dict]) -> float:
    """Seconds from the end of prepare_build (the dbt group's upstream) to the end of the
    group's last task."""
    from citysafety.orchestrate.scheduler import _ts

    ready = next(_ts(t["end_date"]) for t in tis if t["task_id"] == "prepare_build")
    return max(_ts(t["end_date"]) for t in tis if t["task_id"].startswith("dbt.") and t.get("end_date")) - ready


def phase_dag_vs_dbt_cli(homes: Homes, scale: str) -> dict:
    """build_mart triggered and run under Airflow's scheduler (API server, scheduler, DAG
    processor, triggerer as `make serve` starts them; cosmos watcher mode, a task per dbt node)
    against `dbt build` (the CLI, the whole project, as the DAG builds it) on the same build copy,
    measured close together: CLI, DAG, CLI, DAG, CLI. Compared: the DAG's faster dbt task group
    (first start to last end of its tasks) with the fastest CLI build, each with dbt's partial
    parse as a second build of the day finds it; the tables all five builds leave must agree."""
    from citysafety.mart import freshness as fresh
    from citysafety.orchestrate import runner
    from citysafety.orchestrate.scheduler import Scheduler, run_span, span

    cfg = homes.year
    # The DAG's prepare_build (the refresh, then the freshness check), so that the CLI builds read
    # the copy the DAG's do: its audit.source_freshness is published (rpt_data_health_source_freshness).
    build.prepare_build(cfg)
    fresh.check(cfg)
    cli = [_dbt(["build"], cfg)]
    prints = [_fingerprint(cfg)]
    env = runner.airflow_env(cfg)
    t0 = time.perf_counter()
    dags = []
    with Scheduler(cfg, env, _port(homes.work), paused_at_creation=True) as sched:
        up_s = _elapsed(t0)
        sched.wait_dag("build_mart")
        sched.set_paused("build_mart", False)
        # Twice, each followed by the CLI: the first run of a home parses the whole project (as
        # the first CLI build does); later runs keep dbt's partial parse, as a daily build does.
        for _ in range(2):
            t = time.perf_counter()
            run_id = sched.trigger("build_mart")
            run = sched.wait_run("build_mart", run_id, timeout=7200, poll=2)
            trigger_to_end_s = _elapsed(t)
            tis = sched.task_instances("build_mart", run_id)
            prints.append(_fingerprint(cfg))
            cli.append(_dbt(["build"], cfg))
            prints.append(_fingerprint(cfg))
            states: dict[str, int] = {}
            for ti in tis:
                states[ti["state"]] = states.get(ti["state"], 0) + 1
            dags.append({
                "state": run["state"], "run_id": run_id, "tasks": len(tis), "task_states": states,
                "dbt_tasks": sum(1 for ti in tis if ti["task_id"].startswith("dbt.")),
                # From when the group may start (its upstream, prepare_build, ended) to
                # its last task's end: the node tasks wait from the run's start (trigger rule
                # always), so their first start is not the build's.
                "dag_dbt_s": round(_group_span(tis), 3),
                "producer_s": round(span(tis, "dbt.dbt_producer_watcher"), 3),
                "dag_run_s": round(run_span(run), 3), "trigger_to_end_s": trigger_to_end_s,
                "before_dbt_s": {ti["task_id"]: ti.get("duration") for ti in tis
                                 if not ti["task_id"].startswith("dbt.")},
            })
    differ = sorted({k for p in prints for k in p
                     if len({json.dumps(q.get(k), default=str) for q in prints}) > 1})
    best = min((d for d in dags if d["state"] == "success"), key=lambda d: d["dag_dbt_s"], default=dags[-1])
    say(f"DAG {' / '.join(d['state'] for d in dags)}: dbt group "
        f"{' / '.join(str(d['dag_dbt_s']) for d in dags)} s, run {best['dag_run_s']:.1f} s; "
        f"CLI {' / '.join(str(c['seconds']) for c in cli)} s; tables differing: {differ}")
    return {
        **best, "state": "success" if all(d["state"] == "success" for d in dags) else "failed",
        "dag_runs": dags, "services_up_s": up_s,
        "cli": cli, "cli_best_s": min(c["seconds"] for c in cli),
        "tables": len(prints[0]), "tables_differ": differ,
        "command": "dbt build (CITYSAFETY_HOME=<bench>/year, citysafety.mart.dbt_runner.run_dbt) vs "
                   "POST /api/v2/dags/build_mart/dagRuns under scheduler.start_services; "
                   "CLI, DAG, CLI, DAG, CLI: the best of each",
    }


# One feed per department for delivery_to_publish_vs_steps: its last file is held back and
# delivered under the scheduler (and by hand), one at a time.
DELIVERED = [S.EMB_ACCIDENTS, S.FIRE_FIRES, S.TRAFFIC_ROAD_ACCIDENTS, S.STATS_ECONOMY,
             S.feed("grid", "hazard_reports"), S.feed("emergency", "drills")]


def _held_back(cfg: Settings) -> list[tuple[S.Feed, Path]]:
    """The last delivered file of each DELIVERED feed (by name: the agreements date them)."""
    out = []
    for feed in DELIVERED:
        files = sorted((cfg.landing / feed.source / feed.feed).glob(feed.file_glob))
        if files:
            out.append((feed, files[-1]))
    return out


def _readable(cfg: Settings, file_name: str) -> bool | None:
    """Whether the published warehouse holds the file's load (its reconciliation row); None
    when it could not be opened (being replaced this instant)."""
    if not cfg.warehouse_db.exists():
        return False
    try:
        con = duckdb.connect(str(cfg.warehouse_db), read_only=True)
    except duckdb.Error:
        return None
    try:
        return con.execute("select count(*) from audit.reconciliation where file_name = ?",
                           [file_name]).fetchone()[0] > 0
    finally:
        con.close()


def _stat_key(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _deliver(src: Path, folder: Path) -> float:
    """Land a file as the agreements ask (written aside under a hidden name, then renamed);
    returns the moment it landed (time.time)."""
    folder.mkdir(parents=True, exist_ok=True)
    aside = folder / f".{src.name}.part"
    shutil.copyfile(src, aside)
    os.utime(aside)  # landed now, not when the generator wrote it
    aside.rename(folder / src.name)
    return time.time()


def phase_delivery_to_publish_vs_steps(homes: Homes, scale: str) -> dict:
    """Landing to published under Airflow's scheduler (event-driven: the triggerer notices the
    file, its department's ingest DAG runs, the loaded feed starts build_mart, which rebuilds
    what is downstream of that feed, validates and publishes), one file at a time for six feeds
    of six departments, against the same steps run back to back by hand on a copy of the same
    home (ingest the feed, prepare_build, source freshness, dbt build of the same plan, gate,
    publish, exports). Latency = landing -> the file's rows readable in the published warehouse."""
    from citysafety.mart import freshness as fresh, plan, publish, quality
    from citysafety.orchestrate import runner
    from citysafety.orchestrate.scheduler import Scheduler, run_span
    from citysafety.share.exports import export_all

    dag_home, hand_home = Settings(home=homes.work / "deliver_dag"), Settings(home=homes.work / "deliver_hand")
    for home in (dag_home, hand_home):
        shutil.rmtree(home.home, ignore_errors=True)
    # One home with everything but the held-back files loaded, built (full) and published.
    base = Settings(home=homes.work / "deliver_base")
    shutil.rmtree(base.home, ignore_errors=True)
    shutil.copytree(homes.year.landing, base.landing)
    held = []
    for feed, path in _held_back(base):
        keep = base.home / "held_back" / feed.source / feed.feed / path.name
        keep.parent.mkdir(parents=True, exist_ok=True)
        path.rename(keep)
        held.append((feed, keep))
    time.sleep(config.landing_quiet_seconds() + 0.5)  # copied files are settled (their ctime is now)
    t = time.perf_counter()
    for feed in S.all_feeds():
        ingest.ingest_feed(feed, base)
    build.build_and_publish(base)
    setup_s = _elapsed(t)
    for home in (dag_home, hand_home):
        shutil.copytree(base.home, home.home, symlinks=True)

    hand = []
    for feed, src in held:
        landed = _deliver(src, hand_home.landing / feed.source / feed.feed)
        t0 = time.perf_counter()
        steps = {}
        # The agreements' settle time (config.landing_quiet_seconds) holds for both paths: a file
        # is not read while it may still be written.
        time.sleep(config.landing_quiet_seconds())
        t = time.perf_counter()
        loaded = ingest.ingest_feed(feed, hand_home)
        steps["ingest_s"] = _elapsed(t)
        if [r.file_name for r in loaded] != [src.name]:
            raise RuntimeError(f"by hand: {src.name} did not load: {loaded}")
        t = time.perf_counter()
        planned = plan.plan([feed.id], os.environ["CITYSAFETY_AS_OF_DATE"], hand_home)
        build.prepare_build(hand_home)
        fresh.check(hand_home)
        steps["prepare_s"] = _elapsed(t)
        dbt = _dbt(["build", "--select", planned["select"]], hand_home)
        steps["dbt_s"] = dbt["seconds"]
        t = time.perf_counter()
        quality.validate(hand_home)
        steps["gate_s"] = _elapsed(t)
        t = time.perf_counter()
        publish.publish(hand_home)
        plan.published(planned, hand_home)
        readable_s = time.time() - landed
        steps["publish_s"] = _elapsed(t)
        t = time.perf_counter()
        export_all(hand_home)
        steps["export_s"] = _elapsed(t)
        hand.append({"feed": feed.id, "file": src.name, "landing_to_readable_s": round(readable_s, 3),
                     "steps_s": _elapsed(t0), "selected": planned["select"], "dbt_error": dbt["error"],
                     **steps})
        say(f"by hand: {feed.id} readable after {readable_s:.1f} s {steps}")

    env = runner.airflow_env(dag_home)
    runs = []
    with Scheduler(dag_home, env, _port(homes.work), paused_at_creation=True) as sched:
        for dag_id in ["build_mart", *(f"ingest_{s.name}" for s in S.SOURCES)]:
            sched.wait_dag(dag_id)
        seen = {d: {r["dag_run_id"] for r in sched.runs(d)} for d in
                ["build_mart", *(f"ingest_{s.name}" for s in S.SOURCES)]}
        for dag_id in seen:
            sched.set_paused(dag_id, False)
            sched.reparse(dag_id)  # the landing watchers start when an unpaused DAG is parsed
        # unpaused, each ingest's daily schedule runs its latest interval at once (nothing new)
        sched.wait_idle(list(seen), settle=20)
        for feed, src in held:
            ingest_dag = f"ingest_{feed.source}"
            seen = {d: {r["dag_run_id"] for r in sched.runs(d)} for d in ("build_mart", ingest_dag)}
            landed = _deliver(src, dag_home.landing / feed.source / feed.feed)
            # The warehouse is opened only when publish has replaced it (a new inode): opening
            # it four times a second took a tenth of a core from the build being measured.
            last = None
            while True:
                now = _stat_key(dag_home.warehouse_db)
                if now != last:
                    readable = _readable(dag_home, src.name)
                    if readable:
                        break
                    if readable is not None:
                        last = now
                if time.time() - landed > 1800:
                    raise TimeoutError(f"{src.name} not published after 30 min")
                time.sleep(0.1)
            readable_s = time.time() - landed
            ingest_run = sched.wait_new_run(ingest_dag, seen[ingest_dag], "asset_triggered", timeout=60)
            build_run = sched.wait_new_run("build_mart", seen["build_mart"], "asset_triggered", timeout=60)
            finished = sched.wait_run("build_mart", build_run, timeout=1800, poll=1)  # exports too
            planned = sched.xcom("build_mart", build_run, "plan_build")
            runs.append({"feed": feed.id, "file": src.name, "landing_to_readable_s": round(readable_s, 3),
                         "ingest_run_s": round(run_span(sched.run(ingest_dag, ingest_run)), 3),
                         "build_run_s": round(run_span(finished), 3), "build_state": finished["state"],
                         "selected": planned["select"], "full": planned["full"]})
            say(f"scheduler: {feed.id} readable after {readable_s:.1f} s (build {finished['state']}, "
                f"{'full' if planned['full'] else 'partial'})")
    dag_s = [r["landing_to_readable_s"] for r in runs]
    hand_s = [h["landing_to_readable_s"] for h in hand]
    return {
        "deliveries": len(runs), "setup_s": setup_s,
        "scheduler_p50_s": round(_median(dag_s), 3), "scheduler_p95_s": round(_p95(dag_s), 3),
        "steps_p50_s": round(_median(hand_s), 3), "steps_p95_s": round(_p95(hand_s), 3),
        "ratio_p50": round(_median(dag_s) / _median(hand_s), 3),
        "same_selection": [r["selected"] for r in runs] == [h["selected"] for h in hand],
        "scheduler": runs, "by_hand": hand,
        "command": "files landed (written aside, renamed) one at a time into landing/<source>/<feed>/ "
                   "under scheduler.start_services with every DAG unpaused (LandingTrigger -> "
                   "ingest_<source> -> build_mart); by hand: ingest_feed, plan, prepare_build, "
                   "freshness, dbt build --select <plan>, gate, publish, exports on a copy of the home",
    }


def _pages() -> list[str]:
    """The pages of dashboards/app.py's navigation (views/<name>.py), in their order."""
    app = (PROJECT_ROOT / "dashboards" / "app.py").read_text(encoding="utf-8")
    names = re.findall(r'"views"\s*/\s*"(\w+)\.py"', app)
    if not names:
        names = sorted(p.stem for p in (PROJECT_ROOT / "dashboards" / "views").glob("*.py")
                       if p.stem != "__init__")
    return names


def phase_pages(homes: Homes, scale: str) -> dict:
    import logging

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    # Streamlit warns "No runtime found" at every cache clear outside a server and "missing
    # ScriptRunContext" per app; page exceptions are collected from at.exception below.
    logging.disable(logging.WARNING)

    runs = int(os.environ.get("BENCH_PAGE_RUNS", "10"))
    os.environ["CITYSAFETY_HOME"] = str(homes.year.home)
    os.environ["CITYSAFETY_AUTH"] = "off"
    app = str(PROJECT_ROOT / "dashboards" / "app.py")
    pages: dict[str, dict] = {}
    cold_all, warm_all = [], []
    for name in _pages():
        at = AppTest.from_file(app, default_timeout=300)
        at.run()  # the default page first: switch_page needs the registered pages
        at.switch_page(f"views/{name}.py")
        at.run()  # warm-up (imports, first queries)
        errors = [e.message for e in at.exception]
        cold, warm = [], []
        for _ in range(runs):
            st.cache_data.clear()  # every query runs again: a first visit after a publish
            t = time.perf_counter()
            at.run()
            cold.append(time.perf_counter() - t)
            errors += [e.message for e in at.exception]
        for _ in range(runs):
            t = time.perf_counter()  # query results cached (st.cache_data, ttl 60 s)
            at.run()
            warm.append(time.perf_counter() - t)
        pages[name] = {"cold_p95_s": round(_p95(cold), 3), "cold_median_s": round(sorted(cold)[len(cold) // 2], 3),
                       "warm_p95_s": round(_p95(warm), 3), "errors": sorted(set(errors))[:3],
                       "elements": len(list(at.main))}
        cold_all += cold
        warm_all += warm
        say(f"page {name}: cold p95 {pages[name]['cold_p95_s']:.2f} s, warm p95 "
            f"{pages[name]['warm_p95_s']:.2f} s{' ERRORS ' + str(errors[:1]) if errors else ''}")
    return {"runs_per_page": runs, "pages": pages, "cold_p95_s": round(_p95(cold_all), 3),
            "warm_p95_s": round(_p95(warm_all), 3), "renders": len(cold_all) + len(warm_all),
            "errors": sum(bool(p["errors"]) for p in pages.values())}


def _one_day(cfg: Settings, src: Path) -> dict:
    """Deliver one day's file, then ingest + prepare_build + dbt build of the selection (timed)."""
    _copy_aside(src, Homes.sensor_landing(cfg))
    t0 = time.perf_counter()
    loaded = ingest.summarise(ingest.ingest_feed(S.EMB_SENSOR_READINGS, cfg))
    ingest_s = _elapsed(t0)
    t = time.perf_counter()
    build.prepare_build(cfg)
    prepare_s = _elapsed(t)
    dbt = _dbt(DBT_SELECTED, cfg)
    total = _elapsed(t0)
    return {"file": src.name, "rows_loaded": loaded["rows_loaded"], "ingest_s": ingest_s,
            "prepare_build_s": prepare_s, "dbt_s": dbt["seconds"], "dbt_by_type": dbt.get("by_type"),
            "dbt_error": dbt["error"], "seconds": total}


def _incremental(cfg: Settings, homes: Homes, label: str) -> dict:
    days = []
    for src in sorted(homes.gen.glob(S.EMB_SENSOR_READINGS.file_glob)):
        day = _one_day(cfg, src)
        say(f"{label}: {day['file']} in {day['seconds']:.1f} s (ingest {day['ingest_s']:.1f}, "
            f"prepare {day['prepare_build_s']:.1f}, dbt {day['dbt_s']:.1f})")
        days.append(day)
    return {"days": days, "median_s": round(_median([d["seconds"] for d in days]), 3)}


def phase_incremental_year(homes: Homes, scale: str) -> dict:
    return _incremental(homes.year, homes, "new day at a year of history")


def phase_incremental_empty(homes: Homes, scale: str) -> dict:
    """The same new days over no sensor history: the same non-sensor raw layer, one prior day."""
    cfg = homes.empty
    if cfg.home.exists():
        shutil.rmtree(cfg.home)
    for feed in S.all_feeds():
        if feed is S.EMB_SENSOR_READINGS:
            continue
        src = store.feed_dir(feed, homes.year)
        if src.is_dir():
            shutil.copytree(src, store.feed_dir(feed, cfg))
    # the year home has the extra days in landing by now: take the last day before them
    extras = {p.name for p in homes.gen.glob(S.EMB_SENSOR_READINGS.file_glob)}
    history = [p for p in _sensor_files(homes.year) if p.name not in extras]
    last_history_day = history[-1]
    _copy_aside(last_history_day, Homes.sensor_landing(cfg))
    t0 = time.perf_counter()
    ingest.ingest_feed(S.EMB_SENSOR_READINGS, cfg)
    build.prepare_build(cfg)
    first = _dbt(DBT_SELECTED, cfg)
    say(f"empty history: first build over {last_history_day.name} in {_elapsed(t0):.1f} s")
    out = _incremental(cfg, homes, "new day at empty history")
    return {**out, "first_day": last_history_day.name, "first_build_s": first["seconds"],
            "first_build_error": first["error"]}


def phase_kpi_ours(homes: Homes, scale: str) -> dict:
    """Our path to the headline KPI: ingest the four spine feeds, prepare_build, dbt build +kpi."""
    cfg = homes.kpi
    if cfg.home.exists():
        shutil.rmtree(cfg.home)
    for feed in SPINE:
        shutil.copytree(homes.year.landing / feed.source / feed.feed, cfg.landing / feed.source / feed.feed)
    # Copied files are settled, but their ctime is now: read before the quiet time, none would
    # load (and the KPI would be built from nothing; kpi_pandas then differed in its years).
    time.sleep(config.landing_quiet_seconds() + 0.5)
    t0 = time.perf_counter()
    for feed in SPINE:
        ingest.ingest_feed(feed, cfg)
    ingest_s = _elapsed(t0)
    t = time.perf_counter()
    build.prepare_build(cfg)
    prepare_s = _elapsed(t)
    dbt = _dbt(["build", "--select", f"+{KPI_MART}", "--indirect-selection", "cautious"], cfg)
    return {"ingest_s": ingest_s, "prepare_build_s": prepare_s, "dbt": dbt, "seconds": _elapsed(t0)}


def phase_kpi_pandas(homes: Homes, scale: str) -> dict:
    import pandas as pd

    from bench import pandas_baseline

    cfg = homes.kpi
    t0 = time.perf_counter()
    ours_df = pandas_baseline.kpi(cfg.landing)
    seconds = _elapsed(t0)
    con = duckdb.connect(str(cfg.build_db), read_only=True)
    try:
        mart = con.execute("select year, deaths_workplace, deaths_fire, deaths_road, deaths_total, gdp_100m_yuan, "
                           "deaths_per_100m_gdp from marts.kpi_safety_targets order by year").df().set_index("year")
    finally:
        con.close()
    cols = ["deaths_workplace", "deaths_fire", "deaths_road", "deaths_total", "gdp_100m_yuan", "deaths_per_100m_gdp"]
    a = ours_df[cols].astype(float)
    b = mart[cols].astype(float)
    same_years = list(a.index) == list(b.index)
    equal = same_years and bool(((a - b).abs().fillna(0) < 1e-9).all().all()
                                and (a.isna() == b.isna()).all().all())
    table = {int(y): {c: (None if pd.isna(v) else (round(float(v), 6))) for c, v in row.items()}
             for y, row in mart[cols].iterrows()}
    return {"seconds": seconds, "equal": equal, "years": len(b), "mart": table,
            "pandas_differs": None if equal else (
                a.compare(b).to_string()[:2000] if same_years
                else f"years: pandas {list(a.index)}, mart {list(b.index)}")}


def phase_alarm_replay(homes: Homes, scale: str) -> dict:
    """1,000 alarms from MQTT to the robots through a receiver failing one request in five, then
    handled to 归档 (bench/alarms.py). The same at every scale: it does not read the year."""
    from bench import alarms

    return alarms.replay(homes.work / "alarms")


PHASES = {
    "generate": phase_generate,
    "ingest_other": phase_ingest_other,
    "limit": phase_limit,
    "ingest_sensors": phase_ingest_sensors,
    "build_year": phase_build_year,
    "hand_sql": phase_hand_sql,
    "publish": phase_publish,
    "dag_vs_dbt_cli": phase_dag_vs_dbt_cli,
    "delivery_to_publish_vs_steps": phase_delivery_to_publish_vs_steps,
    "pages": phase_pages,
    "incremental_year": phase_incremental_year,
    "incremental_empty": phase_incremental_empty,
    "kpi_ours": phase_kpi_ours,
    "kpi_pandas": phase_kpi_pandas,
    "alarm_replay": phase_alarm_replay,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.steps")
    parser.add_argument("phase", choices=list(PHASES))
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--scale", choices=list(SCALES), required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = PHASES[args.phase](Homes(args.work.resolve()), args.scale)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
