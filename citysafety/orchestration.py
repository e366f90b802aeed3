"""How the platform runs under Airflow: its environment, cosmos settings, the one-shot pipeline.

`python -m citysafety.orchestration pipeline` runs every DAG once, in order, with real DAG runs
(`airflow dags test`): each department's ingest DAG, then `build_mart`. It generates nothing:
it processes whatever is in `$CITYSAFETY_HOME/landing/`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path

from citysafety import config, sources

VENV_BIN = Path(sys.executable).parent


def airflow_env(cfg: config.Settings | None = None) -> dict[str, str]:
    cfg = cfg or config.settings()
    env = dict(os.environ)
    env.update({
        "CITYSAFETY_HOME": str(cfg.home),
        "CITYSAFETY_DUCKDB_MEMORY_LIMIT": config.duckdb_memory_limit(),
        "AIRFLOW_HOME": str(cfg.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(cfg.airflow_home / "cosmos"),
        "AIRFLOW__API__PORT": str(config.airflow_port()),
        # The UI/API server listens on this machine only unless CITYSAFETY_BIND_ADDRESS says otherwise.
        "AIRFLOW__API__HOST": config.bind_address(),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": env.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    })
    return env


def feed_asset(feed: sources.Feed):
    """The Airflow Asset of a landed feed (ingest DAGs update it, build_mart waits on it)."""
    from airflow.sdk import Asset

    return Asset(name=feed.id, uri=feed.asset_uri)


def warehouse_asset():
    from airflow.sdk import Asset

    return Asset(name="warehouse", uri="citysafety://warehouse/citysafety.duckdb")


def dbt_task_group_args() -> dict:
    """Cosmos configuration for the mart build: one task per dbt node, tests after each."""
    from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import (
        ExecutionMode, InvocationMode, LoadMode, TestBehavior, TestIndirectSelection,
    )

    project = config.DBT_PROJECT_DIR
    return {
        "project_config": ProjectConfig(
            dbt_project_path=project,
            manifest_path=project / "target" / "manifest.json",
            install_dbt_deps=False,
        ),
        "profile_config": ProfileConfig(
            profile_name="citysafety",
            target_name="build",
            profiles_yml_filepath=project / "profiles.yml",
        ),
        "execution_config": ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=VENV_BIN / "dbt",
            # A test runs after the last of its parents, not after the first (a relationships
            # test on a model would otherwise run with the seed it references, too early).
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        ),
        "render_config": RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            # One task per node running `dbt build` on it: the model, then its tests.
            test_behavior=TestBehavior.BUILD,
            emit_datasets=False,
        ),
        "operator_args": {"install_deps": False, **dbt_vars()},
    }


def dbt_vars() -> dict:
    as_of = config.as_of_date()
    return {"vars": {"as_of_date": as_of}} if as_of else {}


def dag_ids() -> list[str]:
    return [f"ingest_{s.name}" for s in sources.SOURCES] + ["build_mart"]


def _airflow(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
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
    if _airflow(["db", "migrate"], env, stdout=subprocess.DEVNULL).returncode:
        raise SystemExit("airflow db migrate failed")


@contextmanager
def demo_sources(cfg: config.Settings, env: dict[str, str]):
    """Serve the demo department sources that `make demo-data` prepared, for one pipeline run.

    Yields the Airflow connections (as AIRFLOW_CONN_* variables) that reach them; a connection
    already configured in the environment (production) is left alone.
    """
    from citysafety.demo import emb_api, grid_db

    extra: dict[str, str] = {}
    with ExitStack() as stack:
        if "AIRFLOW_CONN_EMB_API" not in env:
            extra.update(stack.enter_context(emb_api.demo_connection_env(cfg)))
        if "AIRFLOW_CONN_GRID_DB" not in env:
            extra.update(grid_db.demo_connection_env(cfg))
        yield extra


def run_pipeline(cfg: config.Settings | None = None, dags: list[str] | None = None) -> int:
    """Run each DAG once (real DAG runs), in dependency order; stop at the first failure."""
    cfg = cfg or config.settings()
    init_airflow(cfg)
    env = airflow_env(cfg)
    with demo_sources(cfg, env) as extra:
        env.update(extra)
        for dag_id in dags or dag_ids():
            print(f"== airflow dags test {dag_id}", flush=True)
            done = _airflow(["dags", "test", dag_id], env)
            if done.returncode:
                print(f"!! {dag_id} failed (exit {done.returncode}); see the log above", flush=True)
                return done.returncode
    print(f"pipeline done: warehouse at {cfg.warehouse_db}", flush=True)
    return 0


def dashboard_command(port: int | None = None) -> list[str]:
    return [str(VENV_BIN / "streamlit"), "run", str(config.PROJECT_ROOT / "dashboards" / "app.py"),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--browser.serverAddress", "localhost",
            "--server.address", config.bind_address(),
            "--server.port", str(port or config.dashboard_port()),
            "--client.toolbarMode", "viewer"]


def service_url(port: int) -> str:
    """How to open a service on this machine (the bound address, or localhost for loopback/any)."""
    host = config.bind_address()
    if host in ("127.0.0.1", "0.0.0.0", "::", "localhost"):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def serve(with_airflow: bool = True) -> int:
    """Serve the dashboard (and the Airflow UI with its scheduler) until interrupted."""
    cfg = config.settings()
    env = airflow_env(cfg)
    with demo_sources(cfg, env) as extra:  # the scheduler's ingest runs reach the demo sources
        env.update(extra)
        return _serve(cfg, env, with_airflow)


def _serve(cfg: config.Settings, env: dict[str, str], with_airflow: bool) -> int:
    import signal
    import time

    procs: list[subprocess.Popen] = []
    # Own process groups: airflow standalone leaves its children running on SIGTERM alone.
    if with_airflow:
        init_airflow(cfg)
        procs.append(subprocess.Popen([str(VENV_BIN / "airflow"), "standalone"], env=env,
                                      start_new_session=True))
    procs.append(subprocess.Popen(dashboard_command(), env=env, start_new_session=True))
    from citysafety.demo import accounts

    where = config.bind_address()
    print(f"dashboard:  {service_url(config.dashboard_port())}  (listening on {where}; "
          f"CITYSAFETY_BIND_ADDRESS changes it)", flush=True)
    print(accounts.show_passwords(cfg.home), flush=True)
    if with_airflow:
        print(f"Airflow UI: {service_url(config.airflow_port())}  (user admin, password in "
              f"{airflow_passwords_file(cfg)}, mode 0600)", flush=True)
    print("Ctrl-C stops " + ("both." if with_airflow else "it."), flush=True)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m citysafety.orchestration")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pipeline", help="run every DAG once over landing/")
    p.add_argument("dag_ids", nargs="*")
    sub.add_parser("init", help="create the Airflow metadata database")
    sub.add_parser("env", help="print the Airflow environment as shell exports")
    sub.add_parser("serve", help="serve the dashboard and the Airflow UI (scheduler included)")
    sub.add_parser("dashboard", help="serve the dashboard only")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve()
    if args.command == "dashboard":
        return serve(with_airflow=False)
    if args.command == "pipeline":
        return run_pipeline(dags=args.dag_ids or None)
    if args.command == "init":
        init_airflow()
        return 0
    env = airflow_env()
    for key in sorted(k for k in env if k.startswith(("AIRFLOW", "CITYSAFETY"))):
        print(f"export {key}={env[key]!r}".replace("'", '"'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
