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
from pathlib import Path
from typing import Callable

from citysafety import config
from citysafety.orchestrate.distributed import ROLES
from citysafety.orchestrate.runner import (
    VENV_BIN, Services, airflow_env, airflow_passwords_file, init_airflow, no_services, run_pipeline,
)
from citysafety.orchestrate.scheduler import start_services

Banner = Callable[[config.Settings], str | None]
# Long-running services a caller adds to `serve` (the demo's webhook receiver and monitoring
# gateways): (name of its log, argv), started after the platform's own, stopped with them.
Extra = Callable[[config.Settings, dict], list[tuple[str, list[str]]]]


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


def serve(with_airflow: bool = True, services: Services = no_services, banner: Banner | None = None,
          extra: Extra | None = None) -> int:
    """Serve the dashboard (and the Airflow UI with its scheduler, and the MQTT subscriber) until
    interrupted."""
    cfg = config.settings()
    env = airflow_env(cfg)
    with services(cfg, env) as added:  # the scheduler's ingest runs reach these sources
        env.update(added)
        return _serve(cfg, env, with_airflow, banner, extra)


def mqtt_broker_unreachable() -> str | None:
    """Why the MQTT broker (config.mqtt_host/port) does not answer; None when it does."""
    import socket

    host, port = config.mqtt_host(), config.mqtt_port()
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        return f"{host}:{port} ({exc})"
    return None


def mqtt_subscriber() -> list[tuple[str, list[str]]]:
    """The MQTT subscriber landing the gateways' readings (citysafety.land.mqtt), when its broker
    answers; otherwise a line says live readings are off (the daily file still carries them)."""
    why = mqtt_broker_unreachable()
    if why:
        print(f"MQTT 服务 {why} 无法连接：实时读数未接入，监测数据按每日文件更新 "
              "(no MQTT broker: live readings off; CITYSAFETY_MQTT_HOST/PORT)", flush=True)
        return []
    return [("mqtt-subscriber", [str(VENV_BIN / "python"), "-m", "citysafety.land.mqtt", "subscribe"])]


def _serve(cfg: config.Settings, env: dict[str, str], with_airflow: bool, banner: Banner | None,
           extra: Extra | None = None) -> int:
    import signal
    import time

    procs: list[subprocess.Popen] = []
    # Every service writes to a file of its own under $CITYSAFETY_HOME/logs/serve/ (the
    # scheduler alone writes thousands of lines): the terminal keeps the addresses and sign-ins.
    log_dir = serve_log_dir(cfg)
    # Own process groups: an Airflow component leaves its children running on SIGTERM alone.
    # The API server first: a task started before it answers fails (scheduler.start_services).
    if with_airflow:
        print("启动 Airflow（API server 先启动，随后 scheduler、dag-processor、triggerer）…", flush=True)
        init_airflow(cfg)
        if config.profile() == "celery":
            # Every component of the celery profile on this machine (README "Across machines").
            procs.extend(_logged(argv, env, log_dir / f"{role}.log")
                         for role, argv in zip(CELERY_ROLES, celery_commands()))
        else:
            procs += start_services(env, log_dir)
        # Readings within seconds (the sensor feed's live files) and what the caller adds.
        added = mqtt_subscriber() + (extra(cfg, env) if extra else [])
        procs.extend(_logged(argv, env, log_dir / f"{name}.log") for name, argv in added)
    procs.append(_logged(dashboard_command(), env, log_dir / "dashboard.log"))
    where = config.bind_address()
    print(f"dashboard:  {service_url(config.dashboard_port())}  (listening on {where}; "
          f"CITYSAFETY_BIND_ADDRESS changes it)", flush=True)
    shown = banner(cfg) if banner else None
    if shown:
        print(shown, flush=True)
    if with_airflow:
        print(f"Airflow UI: {service_url(config.airflow_port())}  (user admin, password in "
              f"{airflow_passwords_file(cfg)}, mode 0600)", flush=True)
    print(f"logs: {log_dir}/ (dashboard.log" + (", api-server.log, scheduler.log, …" if with_airflow else "")
          + f"); pipeline runs: {cfg.logs / 'pipeline'}/", flush=True)
    print("Ctrl-C stops " + ("both." if with_airflow else "it."), flush=True)

    # A service manager stops with SIGTERM (systemd, `make` passing it on): treat it as Ctrl-C, so
    # that the process groups started above (each in a session of its own) are stopped too.
    def _terminate(signum, frame):  # noqa: ARG001 - signal handler signature
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    died: list[subprocess.Popen] = []
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        died = [p for p in procs if p.poll() is not None]  # ended by itself, not stopped by us
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
        for p in procs:
            handle = getattr(p, "log_handle", None)
            if handle:
                handle.close()
    # A service that stopped by itself stops the others and is named, with its log.
    for p in died:
        print(f"!! {' '.join(Path(str(a)).name for a in p.args[:2])} exited ({p.returncode}); "
              f"log: {getattr(p, 'log_path', log_dir)}", flush=True)
    return 1 if died else 0


def serve_log_dir(cfg: config.Settings) -> Path:
    folder = cfg.logs / "serve"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _logged(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start `argv` in a session of its own, its output appended to `log`."""
    out = open(log, "ab")  # noqa: SIM115 - closed when the services stop (_serve)
    proc = subprocess.Popen(argv, env=env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
    proc.log_handle, proc.log_path = out, log  # type: ignore[attr-defined]
    return proc


CELERY_ROLES = ("api-server", "scheduler", "dag-processor", "triggerer", "worker-duckdb", "worker")


def celery_commands() -> list[list[str]]:
    """The celery profile on one machine: the API server, scheduler, dag-processor, triggerer,
    the build copy's single-slot worker and an ingest worker (which leaves the machine's log
    server to the first worker: both write to the same log folder)."""
    from citysafety.orchestrate.distributed import role_command

    return [role_command(role, venv_bin=VENV_BIN, serve_logs=(role != "worker"))
            for role in CELERY_ROLES]


def run_role(role: str, queues: list[str] | None, concurrency: int | None, name: str | None,
             serve_logs: bool) -> int:
    """One component of the celery profile in the foreground (a service manager starts one per
    component on each machine). The shared secrets must be there already: a component that
    made its own would not be understood by the others."""
    from citysafety.orchestrate.distributed import SECRET_NAMES, check_services, role_command

    cfg = config.settings()
    if config.profile() != "celery":
        raise config.ConfigError("`celery` 子命令需要 CITYSAFETY_PROFILE=celery "
                                 "(run the components of the celery profile only)")
    missing = [n for n in SECRET_NAMES if not (cfg.secrets_dir / "airflow" / n).is_file()]
    if missing:
        raise config.ConfigError(
            f"缺少共享密钥 {', '.join(missing)}（{cfg.secrets_dir / 'airflow'}）：先在调度机上运行 "
            "`python -m citysafety.orchestrate init`，再把该目录（0700，文件 0600）放到每台机器的同一位置 "
            "(the shared Airflow secrets are missing: run init once, then share or copy the folder)")
    check_services()
    argv = role_command(role, venv_bin=VENV_BIN, queues=queues, concurrency=concurrency, name=name,
                        serve_logs=serve_logs)
    print("starting: " + " ".join(argv), flush=True)
    os.execve(argv[0], argv, airflow_env(cfg))
    return 0  # not reached


def main(argv: list[str] | None = None, *, services: Services = no_services,
         banner: Banner | None = None, extra: Extra | None = None,
         prog: str = "python -m citysafety.orchestrate") -> int:
    """Run one command; a missing or broken setting stops it with the reason (exit 2)."""
    import sys

    try:
        return _main(argv, services=services, banner=banner, extra=extra, prog=prog)
    except config.ConfigError as exc:
        print(f"配置错误 (configuration error): {exc}", file=sys.stderr, flush=True)
        return 2


def _main(argv: list[str] | None, *, services: Services, banner: Banner | None, extra: Extra | None,
          prog: str) -> int:
    parser = argparse.ArgumentParser(prog=prog)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pipeline", help="run every DAG once over landing/")
    p.add_argument("dag_ids", nargs="*")
    sub.add_parser("init", help="create the Airflow metadata database")
    sub.add_parser("env", help="print the Airflow environment as shell exports")
    sub.add_parser("serve", help="serve the dashboard and the Airflow UI (scheduler included)")
    sub.add_parser("dashboard", help="serve the dashboard only")
    r = sub.add_parser("celery", help="run one component of the celery profile (CITYSAFETY_PROFILE=celery)")
    r.add_argument("role", choices=ROLES)
    r.add_argument("--queues", help="worker: queues to serve, comma-separated (worker-duckdb: more "
                                    "queues besides the build copy's, still one slot)")
    r.add_argument("--concurrency", type=int, help="worker: tasks at once (worker-duckdb: always 1)")
    r.add_argument("--name", help="worker: Celery node name (unique per worker), e.g. ingest1@%%h")
    r.add_argument("--skip-serve-logs", action="store_true",
                   help="worker: no log server (another worker of this machine serves its logs)")
    args = parser.parse_args(argv)
    if args.command == "celery":
        queues = [q for q in (args.queues or "").split(",") if q.strip()] or None
        return run_role(args.role, queues, args.concurrency, args.name, not args.skip_serve_logs)
    if args.command == "serve":
        return serve(services=services, banner=banner, extra=extra)
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
