"""How the platform runs under Airflow: its environment, the `airflow` subprocess, the one-shot
pipeline.

`run_pipeline` runs every DAG once, in order, with real DAG runs (`airflow dags test`): each
department's ingest DAG, then `build_mart`. It generates nothing: it processes whatever is in
`$CITYSAFETY_HOME/landing/`. `services(cfg, env)`, when given, is a context manager around the
run yielding more environment (the demo's department sources: demo.run).
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, ContextManager

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


def dag_ids() -> list[str]:
    return [f"ingest_{s.name}" for s in sources.SOURCES] + ["build_mart"]


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
    if airflow(["db", "migrate"], env, stdout=subprocess.DEVNULL).returncode:
        raise SystemExit("airflow db migrate failed")


def run_pipeline(cfg: config.Settings | None = None, dags: list[str] | None = None,
                 services: Services = no_services) -> int:
    """Run each DAG once (real DAG runs): every department's ingest DAG, then the build.

    Departments are independent: a failed ingest DAG does not stop the others, nor the build of
    what did load (the raw layer holds only whole file loads). The build runs after all ingests
    whatever they did. Returns 0 when every DAG succeeded, else the first failure's exit code,
    after naming every DAG that failed.
    """
    cfg = cfg or config.settings()
    init_airflow(cfg)
    env = airflow_env(cfg)
    failed: dict[str, int] = {}
    with services(cfg, env) as extra:
        env.update(extra)
        for dag_id in dags or dag_ids():
            print(f"== airflow dags test {dag_id}", flush=True)
            # One task at a time in this process: build_mart's node tasks then follow its dbt
            # producer (cosmos_settings.finish_group).
            done = airflow(["dags", "test", dag_id], {**env, "CITYSAFETY_IN_PROCESS_RUN": "1"})
            if done.returncode:
                failed[dag_id] = done.returncode
                print(f"!! {dag_id} failed (exit {done.returncode}); see the log above; "
                      "going on with the others", flush=True)
    if failed:
        print(f"pipeline finished with failures: {', '.join(failed)} failed "
              f"(warehouse at {cfg.warehouse_db} holds the last good publish)", flush=True)
        return next(iter(failed.values()))
    print(f"pipeline done: warehouse at {cfg.warehouse_db}", flush=True)
    return 0
