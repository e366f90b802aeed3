"""How the platform runs under Airflow: its environment, the `airflow` subprocess, the one-shot
pipeline.

`run_pipeline` runs every DAG once, in order, with real DAG runs (what `airflow dags test` runs,
all of them in one process: citysafety.orchestrate.dag_runs): each department's ingest DAG, then
`build_mart`. It generates nothing: it processes whatever is in `$CITYSAFETY_HOME/landing/`.
`services(cfg, env)`, when given, is a context manager around the run yielding more environment
(the demo's department sources: demo.run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Callable, ContextManager, Iterator

from citysafety import config, sources

VENV_BIN = Path(sys.executable).parent

Services = Callable[[config.Settings, dict], ContextManager[dict]]


def no_services(cfg: config.Settings, env: dict[str, str]) -> ContextManager[dict]:
    """No extra services: the connections are configured in Airflow (production)."""
    return nullcontext({})


def airflow_env(cfg: config.Settings | None = None) -> dict[str, str]:
    cfg = cfg or config.settings()
    env = dict(os.environ)
    env.update({
        "CITYSAFETY_HOME": str(cfg.home),
        "CITYSAFETY_DUCKDB_MEMORY_LIMIT": config.duckdb_memory_limit(),
        "AIRFLOW_HOME": str(cfg.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # New DAGs run at once unless the caller asks otherwise (a test unpauses only its own).
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION":
            env.get("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False"),
        "AIRFLOW__CORE__PARALLELISM": "4",
        # A build is a chain of tasks and each waits for a scheduler loop to start: an idle loop
        # sleeps 1 s by default, ~0.5 s added to every link of the chain (nine from a landed
        # file to the published mart). Half a second: a quarter took ~14 % of a core (an idle
        # loop's queries) from the build running beside it on two cores, 1 s ~4 %.
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME":
            env.get("AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME", "0.5"),
        # The DAG files change when the platform is deployed, not while it runs: re-parsing them
        # every 30 s (Airflow's default; build_mart renders ~140 cosmos tasks, seconds of CPU)
        # took a core's share from the build on two cores. New files are still found at once.
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL":
            env.get("AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL", "300"),
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(cfg.airflow_home / "cosmos"),
        # The watcher producer (build_mart) would otherwise rewrite an Airflow Variable with every
        # node's XCom as it goes (a backup for its retry): one more API call per node, measured
        # as a third of the producer's time. The backup is still written when the producer fails.
        "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY": "False",
        "AIRFLOW__API__PORT": str(config.airflow_port()),
        # Where tasks reach the API server: its port, not Airflow's default 8080 when another is set.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": env.get(
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", f"http://{_loopback(config.bind_address())}:"
                                                       f"{config.airflow_port()}/execution/"),
        # The UI/API server listens on this machine only unless CITYSAFETY_BIND_ADDRESS says otherwise.
        "AIRFLOW__API__HOST": config.bind_address(),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": env.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    })
    if config.profile() == "celery":
        # PostgreSQL, Redis and Celery workers instead of SQLite and one process tree.
        from citysafety.orchestrate.distributed import airflow_settings

        env.update(airflow_settings(cfg))
    return env


def _loopback(host: str) -> str:
    """The address this machine's tasks use for a server bound to `host`."""
    if host in ("0.0.0.0", "::", "localhost"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


BUILD_DAG = "build_mart"


def dag_ids() -> list[str]:
    return [f"ingest_{s.name}" for s in sources.SOURCES] + [BUILD_DAG]


def airflow(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "airflow"), *args], env=env, **kw)


AIRFLOW_PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"


def airflow_passwords_file(cfg: config.Settings) -> Path:
    """Airflow's simple auth manager password file: written here first, random and 0600.

    Airflow 3.3 opens it with "a+" (its mode is kept) and only adds users missing from it, so a
    file made beforehand with the admin's password is the one it uses; an existing one is kept
    and made 0600 (Airflow itself would create it world-readable under the default umask).
    """
    import json
    import secrets

    from citysafety.secretfiles import private_file, write_secret

    path = cfg.airflow_home / AIRFLOW_PASSWORDS_FILE
    if path.exists() and path.read_text(encoding="utf-8").strip():
        return private_file(path)
    write_secret(path, json.dumps({"admin": secrets.token_urlsafe(12)}) + "\n", private_parent=False)
    return path


def init_airflow(cfg: config.Settings | None = None) -> None:
    cfg = cfg or config.settings()
    cfg.airflow_home.mkdir(parents=True, exist_ok=True)
    airflow_passwords_file(cfg)
    env = airflow_env(cfg)
    if config.profile() == "celery":
        from citysafety.orchestrate.distributed import check_services, ensure_database

        check_services()
        ensure_database()
    # Its output goes to a file (hundreds of lines of migrations); a failure says where.
    log = cfg.logs / "airflow-db-migrate.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        done = airflow(["db", "migrate"], env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        raise SystemExit(f"airflow db migrate failed (exit {done.returncode}); log: {log}")
    # The operations database (alarms, their audit, the outbox) is migrated with Airflow's, so
    # that the response loop's first run finds its tables (citysafety.act.store).
    from citysafety.act import store

    store.upgrade()


def pipeline_log_dir(cfg: config.Settings) -> Path:
    """A folder per run under $CITYSAFETY_HOME/logs/pipeline/ (UTC start time), one log per DAG."""
    from datetime import datetime, timezone

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder = cfg.logs / "pipeline" / stamp
    n = 1
    while folder.exists():  # two runs started within the same second
        n += 1
        folder = cfg.logs / "pipeline" / f"{stamp}-{n}"
    folder.mkdir(parents=True)
    return folder


# What a failed DAG's log shows in the terminal: the error records and the exception lines, not
# the thousands of lines of a run (its whole log is named beside them).
_ERROR_MARKERS = ("ERROR", "Error:", "Exception:", "Failed:", "failed")
ERROR_EXCERPT_LINES = 30


def error_excerpt(log: Path, limit: int = ERROR_EXCERPT_LINES) -> list[str]:
    """The last `limit` lines of `log` that report an error (the log's last lines if none does)."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    errors = [line for line in lines if any(m in line for m in _ERROR_MARKERS)]
    return (errors or lines)[-limit:]


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{seconds:.1f} s"


def _loads(cfg: config.Settings) -> dict[str, set[str]]:
    """feed id -> the names of its load folders in the raw store."""
    from citysafety.raw import store

    return {feed.id: {p.name for p in store.loads(feed, cfg)} for feed in sources.all_feeds()}


@contextmanager
def dag_process(env: dict[str, str]) -> Iterator[Callable[[str, dict | None, Path], int]]:
    """The process that runs a pipeline's DAGs one after the other (citysafety.orchestrate.dag_runs):
    yields `run(dag_id, conf, log)`, which runs the DAG once with that conf, its output into
    `log`, and returns its exit code (0 or 1). One task at a time in that process: build_mart's
    node tasks then follow its dbt producer (cosmos_settings.finish_group). A process that dies
    (killed, out of memory) fails the DAG it was running; the next DAG gets a new one."""
    env = {**env, "CITYSAFETY_IN_PROCESS_RUN": "1"}
    proc: subprocess.Popen | None = None

    def run(dag_id: str, conf: dict | None, log: Path) -> int:
        nonlocal proc
        if proc is None or proc.poll() is not None:
            proc = subprocess.Popen([str(VENV_BIN / "python"), "-m", "citysafety.orchestrate.dag_runs"],
                                    env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    text=True, encoding="utf-8")
        try:
            proc.stdin.write(json.dumps({"dag_id": dag_id, "conf": conf, "log": str(log)}) + "\n")
            proc.stdin.flush()
            answer = proc.stdout.readline()
        except BrokenPipeError:
            answer = ""
        if not answer:
            with log.open("a", encoding="utf-8") as out:
                out.write(f"\nthe process running {dag_id} ended (exit {proc.wait()})\n")
            return 1
        return int(json.loads(answer)["returncode"])

    try:
        yield run
    finally:
        if proc is not None and proc.poll() is None:
            proc.stdin.close()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_pipeline(cfg: config.Settings | None = None, dags: list[str] | None = None,
                 services: Services = no_services) -> int:
    """Run each DAG once (real DAG runs): every department's ingest DAG, then the build.

    Departments are independent: a failed ingest DAG does not stop the others, nor the build of
    what did load (the raw layer holds only whole file loads). The build runs after all ingests
    whatever they did. Returns 0 when every DAG succeeded, else the first failure's exit code,
    after naming every DAG that failed.

    Prints one line as each DAG starts and one as it ends (outcome, duration); each DAG's own
    output (Airflow, dbt, Great Expectations: thousands of lines) goes to
    `$CITYSAFETY_HOME/logs/pipeline/<UTC start>/<dag_id>.log`. A failed DAG prints its name, its
    log's path and the log's error lines, and the run ends non-zero.
    """
    import time

    cfg = cfg or config.settings()
    init_airflow(cfg)
    env = airflow_env(cfg)
    failed: dict[str, int] = {}
    log_dir = pipeline_log_dir(cfg)
    chosen = dags or dag_ids()
    print(f"运行 {len(chosen)} 个 DAG（airflow dags test，同一进程），日志 logs: {log_dir}", flush=True)
    loads_before = _loads(cfg)
    with services(cfg, env) as extra, dag_process({**env, **extra}) as run_dag:
        for i, dag_id in enumerate(chosen, start=1):
            log = log_dir / f"{dag_id}.log"
            print(f"[{i}/{len(chosen)}] {dag_id} 开始 started", flush=True)
            began = time.monotonic()
            conf = None
            if dag_id == BUILD_DAG and any(d != BUILD_DAG for d in chosen[:i]):
                # The feeds this run's ingests loaded: the build rebuilds what is downstream of
                # them (citysafety.mart.plan), as when deliveries start it under the scheduler.
                after = _loads(cfg)
                conf = {"changed_feeds": sorted(
                    f for f, names in after.items() if names - loads_before.get(f, set()))}
            log.write_bytes(b"")  # the DAG's log exists from its start, whatever becomes of it
            code = run_dag(dag_id, conf, log)
            took = _duration(time.monotonic() - began)
            if code:
                failed[dag_id] = code
                print(f"[{i}/{len(chosen)}] {dag_id} 失败 FAILED (exit {code}, {took}); "
                      f"log: {log}; going on with the others", flush=True)
                for line in error_excerpt(log):
                    print(f"    {line}", file=sys.stderr, flush=True)
            else:
                print(f"[{i}/{len(chosen)}] {dag_id} 成功 success ({took})", flush=True)
    if failed:
        print(f"pipeline finished with failures: {', '.join(failed)} failed; logs in {log_dir} "
              f"(warehouse at {cfg.warehouse_db} holds the last good publish)", flush=True)
        return next(iter(failed.values()))
    print(f"pipeline done: warehouse at {cfg.warehouse_db}; logs in {log_dir}", flush=True)
    return 0
