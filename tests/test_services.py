"""Stopping the platform's services as a service manager does (SIGTERM) stops every process they
started: the dashboard runs Streamlit in a session of its own (so that its whole process group
can be stopped), and that group must not outlive the command, whether the command itself or
`make dashboard` (which passes the signal on) receives the signal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from dashboard_harness import free_port, wait_healthy
from citysafety.config import PROJECT_ROOT


def _started(env: dict[str, str], argv: list[str], port: int) -> tuple[subprocess.Popen, list[psutil.Process]]:
    proc = subprocess.Popen(argv, env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc, timeout=90)
    started = psutil.Process(proc.pid).children(recursive=True)
    assert any("streamlit" in " ".join(p.cmdline()) for p in started), [p.cmdline() for p in started]
    return proc, started


def _gone(processes: list[psutil.Process], timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    alive = processes
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.2)
    return [" ".join(p.cmdline()[:3]) for p in alive]


@pytest.fixture
def env(tmp_path):
    port = free_port()
    env = {**os.environ, "CITYSAFETY_HOME": str(tmp_path / "home"), "CITYSAFETY_AUTH": "off",
           "CITYSAFETY_DASHBOARD_PORT": str(port)}
    return env, port


def test_sigterm_to_the_dashboard_command_stops_streamlit(env):
    env, port = env
    proc, started = _started(env, [sys.executable, "-m", "citysafety.orchestrate", "dashboard"], port)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert _gone(started) == []


def test_sigterm_to_make_dashboard_stops_every_process(env):
    env, port = env
    proc, started = _started(env, ["make", "--no-print-directory", "dashboard"], port)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert _gone(started) == []


def test_airflow_services_listen_on_this_machine_only(tmp_path, monkeypatch):
    """`make serve`'s Airflow components (API server, scheduler, DAG processor, triggerer, as
    orchestrate.scheduler starts them) listen on the loopback interface only: the API server on
    CITYSAFETY_BIND_ADDRESS (default 127.0.0.1), and no log server, which Airflow binds to every
    interface (the API server reads the logs from their files on this machine)."""
    from citysafety import config
    from citysafety.orchestrate import runner, scheduler

    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CITYSAFETY_AIRFLOW_PORT", str(free_port()))
    monkeypatch.delenv("CITYSAFETY_BIND_ADDRESS", raising=False)
    cfg = config.settings()
    runner.init_airflow(cfg)
    (tmp_path / "logs").mkdir()
    procs = scheduler.start_services(runner.airflow_env(cfg), tmp_path / "logs")
    try:
        base = f"http://127.0.0.1:{config.airflow_port()}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # every component up and reporting to the API server
            health = scheduler.api_healthy(base) or {}
            if all((health.get(k) or {}).get("status") == "healthy"
                   for k in ("metadatabase", "scheduler", "triggerer", "dag_processor")):
                break
            time.sleep(1)
        else:
            pytest.fail(f"the services did not all report healthy: {health}")
        listening = []
        for proc in procs:
            for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]:
                try:
                    conns = p.net_connections(kind="inet")
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                listening += [(" ".join(p.cmdline()[:3]), c.laddr.ip, c.laddr.port)
                              for c in conns if c.status == psutil.CONN_LISTEN]
        assert any(port == config.airflow_port() for _, _, port in listening), listening
        assert [entry for entry in listening if entry[1] not in ("127.0.0.1", "::1")] == []
    finally:
        scheduler.stop_all(procs)
