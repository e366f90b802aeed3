"""Airflow's own services as `make serve` starts them (API server, scheduler, DAG processor,
triggerer: what `airflow standalone` runs, in an order that starts no task before the API server
answers), and a small client of its REST API: trigger a DAG, wait for its run, read its task
instances.

`make serve` (citysafety.orchestrate.cli) runs them for people; the benchmark and the tests run
DAGs under them (a real scheduler, not `airflow dags test`) through `Scheduler`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Callable

from citysafety import config
from citysafety.orchestrate import launch
from citysafety.orchestrate.runner import VENV_BIN, airflow_passwords_file, init_airflow

TERMINAL = {"success", "failed"}


# What `airflow standalone` runs, started here in order: the API server first, then the
# components whose tasks call it. Started all at once (standalone), the scheduler hands the runs
# that were waiting (an asset-triggered build_mart, a first scheduled ingest) to workers before
# the API server listens, and they fail with "Connection refused": a fresh `make serve` began with
# failed runs.
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# On one machine the API server reads task and trigger logs from their files; the log servers the
# scheduler and the triggerer would start (8793, 8794) bind every interface, with no setting to
# bind one, so they are not started. (The celery profile, whose workers are on other machines,
# serves its logs: orchestrate/distributed.py.)
NO_LOG_SERVER = {"scheduler": ["--skip-serve-logs"], "triggerer": ["--skip-serve-logs"]}
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


def service_env(env: dict[str, str]) -> dict[str, str]:
    """What standalone sets for its components: the LocalExecutor (unless another is configured)
    and the simple auth manager (user admin, password file of runner.airflow_passwords_file)."""
    return {"AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            **env}


def _start(component: str, env: dict[str, str], log: Path | None) -> subprocess.Popen:
    # Each in a session of its own, stopped with its process group (`stop`): an Airflow
    # component leaves workers behind when only its leader gets SIGTERM (stack notes).
    out = open(log, "ab") if log else None  # noqa: SIM115 - closed with the process (stop)
    proc = subprocess.Popen(launch.command([component, *NO_LOG_SERVER.get(component, [])], VENV_BIN),
                            env=env, start_new_session=True,
                            stdout=out, stderr=subprocess.STDOUT if out else None)
    proc.log_handle, proc.log_path = out, log  # type: ignore[attr-defined]
    return proc


def api_healthy(base: str) -> dict | None:
    try:
        with urllib.request.urlopen(base + "/api/v2/monitor/health", timeout=10) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError, OSError):
        return None


def start_services(env: dict[str, str], log_dir: Path | None = None, timeout: float = 180.0,
                   alive: Callable[[], bool] = lambda: True) -> list[subprocess.Popen]:
    """Start Airflow's components, the API server first and the others once it answers.

    Logs go to `log_dir/<component>.log` when given (else to this process's output). Returns
    the processes (stop each with `stop`); on failure stops those it started.
    """
    env = service_env(env)
    host = env.get("AIRFLOW__API__HOST", "127.0.0.1")
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{env.get('AIRFLOW__API__PORT', '8080')}"
    procs = [_start("api-server", env, log_dir / "api-server.log" if log_dir else None)]
    try:
        deadline = time.monotonic() + timeout
        while api_healthy(base) is None:
            if procs[0].poll() is not None or not alive():
                raise RuntimeError(f"the Airflow API server exited ({procs[0].returncode})"
                                   + (f"; see {log_dir / 'api-server.log'}" if log_dir else ""))
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Airflow API server did not answer on {base} in {timeout:.0f} s")
            time.sleep(1)
        for component in COMPONENTS[1:]:
            procs.append(_start(component, env, log_dir / f"{component}.log" if log_dir else None))
    except BaseException:
        stop_all(procs)
        raise
    return procs


def stop(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Stop a process started in a session of its own, and every process of that group."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    try:  # children that outlived the leader (standalone's own workers)
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    handle = getattr(proc, "log_handle", None)
    if handle:
        handle.close()


def stop_all(procs: list[subprocess.Popen], timeout: float = 30.0) -> None:
    """Stop several process groups at once: SIGTERM to all, then wait (and SIGKILL) each."""
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for proc in procs:
        stop(proc, timeout)


def _ts(text: str | None) -> float | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


class Scheduler:
    """Airflow's services on `cfg`'s AIRFLOW_HOME for the life of a `with` block.

    `port` is the API server's; the log servers take `port + 1` and `port + 2` (the defaults,
    8793/8794, would clash with another Airflow on the same machine). `paused` DAGs are paused
    as soon as they are known (a scheduled first run of an ingest DAG would otherwise start).
    """

    def __init__(self, cfg: config.Settings, env: dict[str, str], port: int,
                 paused_at_creation: bool = False, extra_env: dict[str, str] | None = None):
        self.cfg, self.port = cfg, port
        self.env = {**env, **(extra_env or {}),
                    "AIRFLOW__API__PORT": str(port),
                    "AIRFLOW__API__HOST": "127.0.0.1",
                    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(port + 1),
                    "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(port + 2),
                    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
                    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(paused_at_creation)}
        self.base = f"http://127.0.0.1:{port}"
        self.procs: list[subprocess.Popen] = []
        self._token: str | None = None

    # -- life ---------------------------------------------------------------------------------
    def __enter__(self) -> "Scheduler":
        init_airflow(self.cfg)
        self.procs = start_services(self.env, self.cfg.airflow_home)
        try:
            self.wait_healthy()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        stop_all(self.procs)
        self.procs = []

    def process(self, component: str) -> subprocess.Popen:
        """The running process of `component` (one of COMPONENTS)."""
        return next(p for p in self.procs if p.args[1] == component)

    def restart(self, component: str) -> subprocess.Popen:
        """Start `component` again after it died (or was killed): what a service manager does.
        Whatever of its process group is left is stopped first."""
        old = self.process(component)
        stop(old, timeout=10)
        new = _start(component, service_env(self.env), self.cfg.airflow_home / f"{component}.log")
        self.procs[self.procs.index(old)] = new
        return new

    def wait_healthy(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [p.args[1] for p in self.procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"airflow {', '.join(dead)} exited; see its log in {self.cfg.airflow_home}")
            health = api_healthy(self.base) or {}
            parts = [(health.get(k) or {}).get("status") for k in ("metadatabase", "scheduler", "triggerer",
                                                                   "dag_processor")]
            if all(p == "healthy" for p in parts):
                return
            time.sleep(1)
        raise TimeoutError(f"Airflow not healthy on {self.base} after {timeout:.0f} s")

    # -- REST ---------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: dict | None = None, auth: bool = True) -> dict:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        req = urllib.request.Request(self.base + path, method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")

    def token(self) -> str:
        if self._token is None:
            password = json.loads(airflow_passwords_file(self.cfg).read_text(encoding="utf-8"))["admin"]
            self._token = self._request("POST", "/auth/token", {"username": "admin", "password": password},
                                        auth=False)["access_token"]
        return self._token

    def wait_dag(self, dag_id: str, timeout: float = 300.0) -> None:
        """Until the DAG processor has parsed `dag_id` (a trigger before that is refused)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._request("GET", f"/api/v2/dags/{dag_id}")
                return
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
            time.sleep(1)
        raise TimeoutError(f"DAG {dag_id} not parsed after {timeout:.0f} s")

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": paused})

    def reparse(self, dag_id: str) -> None:
        """Have the DAG processor parse the DAG's file now. Airflow starts an Asset's watchers
        (event-driven scheduling) when it parses a DAG that is not paused: after unpausing, the
        next parse would come only after the files' re-parse interval (runner.airflow_env)."""
        token = self._request("GET", f"/api/v2/dags/{dag_id}/details")["file_token"]
        try:
            self._request("PUT", f"/api/v2/parseDagFile/{token}")
        except urllib.error.HTTPError as exc:
            if exc.code != 409:  # 409: a parse of that file (another DAG of it) is already asked
                raise

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        run = self._request("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                            {"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=-run_after")["dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.request.quote(run_id, safe='')}")

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 3600.0, poll: float = 0.5) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(dag_id, run_id)
            if run["state"] in TERMINAL:
                return run
            time.sleep(poll)
        raise TimeoutError(f"{dag_id} {run_id} not finished after {timeout:.0f} s")

    def wait_new_run(self, dag_id: str, seen: set[str], run_type: str | None = None,
                     timeout: float = 600.0, poll: float = 0.5) -> str:
        """The id of the first run of `dag_id` not in `seen` (of `run_type`, e.g.
        "asset_triggered"), once the scheduler has created it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for run in self.runs(dag_id):
                if run["dag_run_id"] not in seen and run_type in (None, run["run_type"]):
                    return run["dag_run_id"]
            time.sleep(poll)
        raise TimeoutError(f"no new {run_type or ''} run of {dag_id} after {timeout:.0f} s")

    def wait_idle(self, dag_ids: list[str], settle: float = 10.0, timeout: float = 900.0) -> None:
        """Until no run of these DAGs is queued or running, and none started for `settle`
        seconds (an unpaused DAG's schedule runs its latest interval at once)."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            busy = any(r["state"] not in TERMINAL for d in dag_ids for r in self.runs(d))
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= settle:
                return
            time.sleep(1)
        raise TimeoutError(f"runs of {', '.join(dag_ids)} still going after {timeout:.0f} s")

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value"):
        rid = urllib.request.quote(run_id, safe="")
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{rid}/taskInstances/{task_id}"
                                    f"/xcomEntries/{key}?deserialize=true")["value"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        out, offset = [], 0
        rid = urllib.request.quote(run_id, safe="")
        while True:
            page = self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{rid}/taskInstances"
                                        f"?limit=100&offset={offset}")
            out += page["task_instances"]
            offset += len(page["task_instances"])
            if not page["task_instances"] or offset >= page["total_entries"]:
                return out


def span(task_instances: list[dict], prefix: str = "") -> float:
    """Seconds from the first start to the last end of the task instances whose id starts with
    `prefix` (their wall time in the run)."""
    chosen = [t for t in task_instances if t["task_id"].startswith(prefix) and t.get("start_date")]
    starts = [_ts(t["start_date"]) for t in chosen]
    ends = [_ts(t["end_date"]) for t in chosen if t.get("end_date")]
    return max(ends) - min(starts) if starts and ends else 0.0


def run_span(run: dict) -> float:
    """Seconds from a DAG run's start to its end."""
    return (_ts(run["end_date"]) or 0.0) - (_ts(run["start_date"]) or 0.0)
