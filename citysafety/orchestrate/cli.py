"""The platform's commands: `python -m citysafety.orchestrate pipeline | serve | dashboard | init | env`.

`pipeline` runs every DAG once over landing/ (citysafety.orchestrate.runner); `serve` serves the
dashboard and the Airflow UI with its scheduler until interrupted; `dashboard` the dashboard only.
`main(services=..., banner=...)` lets a caller add services around a run (the demo's department
sources) and text shown once the dashboard is up (the demo accounts): see demo.run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from typing import Callable

from citysafety import config
from citysafety.orchestrate.runner import (
    VENV_BIN, Services, airflow_env, airflow_passwords_file, init_airflow, no_services, run_pipeline,
)
from citysafety.orchestrate.scheduler import start_services

Banner = Callable[[config.Settings], str | None]


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


def serve(with_airflow: bool = True, services: Services = no_services, banner: Banner | None = None) -> int:
    """Serve the dashboard (and the Airflow UI with its scheduler) until interrupted."""
    cfg = config.settings()
    env = airflow_env(cfg)
    with services(cfg, env) as extra:  # the scheduler's ingest runs reach these sources
        env.update(extra)
        return _serve(cfg, env, with_airflow, banner)


def _serve(cfg: config.Settings, env: dict[str, str], with_airflow: bool, banner: Banner | None) -> int:
    import signal
    import time

    procs: list[subprocess.Popen] = []
    # Own process groups: an Airflow component leaves its children running on SIGTERM alone.
    # The API server first: a task started before it answers fails (scheduler.start_services).
    if with_airflow:
        init_airflow(cfg)
        procs += start_services(env)
    procs.append(subprocess.Popen(dashboard_command(), env=env, start_new_session=True))
    where = config.bind_address()
    print(f"dashboard:  {service_url(config.dashboard_port())}  (listening on {where}; "
          f"CITYSAFETY_BIND_ADDRESS changes it)", flush=True)
    shown = banner(cfg) if banner else None
    if shown:
        print(shown, flush=True)
    if with_airflow:
        print(f"Airflow UI: {service_url(config.airflow_port())}  (user admin, password in "
              f"{airflow_passwords_file(cfg)}, mode 0600)", flush=True)
    print("Ctrl-C stops " + ("both." if with_airflow else "it."), flush=True)

    # A service manager stops with SIGTERM (systemd, `make` passing it on): treat it as Ctrl-C, so
    # that the process groups started above (each in a session of its own) are stopped too.
    def _terminate(signum, frame):  # noqa: ARG001 - signal handler signature
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
    return 0


def main(argv: list[str] | None = None, *, services: Services = no_services,
         banner: Banner | None = None, prog: str = "python -m citysafety.orchestrate") -> int:
    parser = argparse.ArgumentParser(prog=prog)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pipeline", help="run every DAG once over landing/")
    p.add_argument("dag_ids", nargs="*")
    sub.add_parser("init", help="create the Airflow metadata database")
    sub.add_parser("env", help="print the Airflow environment as shell exports")
    sub.add_parser("serve", help="serve the dashboard and the Airflow UI (scheduler included)")
    sub.add_parser("dashboard", help="serve the dashboard only")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(services=services, banner=banner)
    if args.command == "dashboard":
        return serve(with_airflow=False, services=services, banner=banner)
    if args.command == "pipeline":
        return run_pipeline(dags=args.dag_ids or None, services=services)
    if args.command == "init":
        init_airflow()
        return 0
    env = airflow_env()
    for key in sorted(k for k in env if k.startswith(("AIRFLOW", "CITYSAFETY"))):
        print(f"export {key}={env[key]!r}".replace("'", '"'))
    return 0
