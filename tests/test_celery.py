"""The celery profile on its real components: the machine's PostgreSQL (a database of this run,
dropped after) and Redis (a dedicated db number, queues named for this run so that another
checkout's run on the same server never takes our tasks), the Airflow API server, scheduler,
dag-processor and triggerer, and two Celery workers: one serving the DuckDB build copy's queue
with a single slot (and ingests, still one at a time), one serving ingests only.

Small deliveries are landed, the department ingests run, build_mart builds and publishes; one
worker is killed (SIGKILL, its whole process group) while it runs a task, and the run still ends
in a publish: the scheduler fails the lost task when its heartbeat stops and the retry runs on
the other worker.

Without PostgreSQL or Redis the test is skipped locally and fails under CI=true.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import duckdb
import psutil
import pytest
import requests

import deliveries
from dashboard_harness import free_port
from citysafety import config, sources
from citysafety.orchestrate import runner

pytestmark = pytest.mark.pipeline

PG = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
# The Redis db number of these tests (CITYSAFETY_TEST_REDIS_DB): not the default 0 a real
# deployment on this machine would use.
REDIS_DB = int(os.environ.get("CITYSAFETY_TEST_REDIS_DB", "11"))
SPINE_INGESTS = ["ingest_emb", "ingest_fire", "ingest_traffic", "ingest_stats"]
# The build runs a task per dbt node on the single slot: ~5 s each on a quiet 2-core machine.
PUBLISH_TIMEOUT = int(os.environ.get("CITYSAFETY_TEST_PUBLISH_TIMEOUT", "1200"))


def _require(address: tuple[str, int], what: str) -> None:
    try:
        socket.create_connection(address, timeout=3).close()
    except OSError as exc:
        reason = f"{what} not reachable on {address[0]}:{address[1]} ({exc})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@{PG[0]}:{PG[1]}/postgres", autocommit=True) as con:
        con.execute(sql)


class Cluster:
    def __init__(self, root: Path, run: str):
        self.root, self.run = root, run
        self.home = root / "home"
        self.logs = root / "logs"
        self.logs.mkdir(parents=True)
        self.database = f"citysafety_celery_{run}"
        self.port = free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "CITYSAFETY_HOME": str(self.home),
            "CITYSAFETY_PROFILE": "celery",
            "CITYSAFETY_METADATA_DB": f"postgresql+psycopg://postgres@{PG[0]}:{PG[1]}/{self.database}",
            "CITYSAFETY_CELERY_BROKER": f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}",
            "CITYSAFETY_DUCKDB_QUEUE": f"duckdb_{run}",
            "CITYSAFETY_DEFAULT_QUEUE": f"default_{run}",
            "CITYSAFETY_AIRFLOW_PORT": str(self.port),
            "CITYSAFETY_WORKER_CONCURRENCY": "2",
            # A lost worker's task is failed after 20 s without a heartbeat, retried 3 s later.
            "CITYSAFETY_TASK_HEARTBEAT_TIMEOUT": "20",
            "CITYSAFETY_RETRY_DELAY_SECONDS": "3",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "3",
            # Log servers on ports of this run (another checkout may run Airflow's defaults).
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            # Only the DAGs of the delivered feeds run (unpaused below); the others would only skip.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        }
        self.base = f"http://127.0.0.1:{self.port}"
        self.token: str | None = None

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        out = (self.logs / f"{name}.log").open("w")
        proc = subprocess.Popen(argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=config.PROJECT_ROOT)
        self.procs[name] = proc
        return proc

    def role(self, name: str, role: str, *extra: str) -> subprocess.Popen:
        return self.start(name, [sys.executable, "-m", "citysafety.orchestrate", "celery", role, *extra])

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def log_tails(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-4000:]
                         for p in sorted(self.logs.glob("*.log")))

    # --- the Airflow REST API, as a person's script would use it ---------------------------
    def api(self, method: str, path: str, **kw) -> dict:
        if self.token is None:
            password = json.loads((self.home / "airflow" / runner.AIRFLOW_PASSWORDS_FILE)
                                  .read_text())["admin"]
            answer = requests.post(f"{self.base}/auth/token", timeout=30,
                                   json={"username": "admin", "password": password})
            answer.raise_for_status()
            self.token = answer.json()["access_token"]
        answer = requests.request(method, f"{self.base}/api/v2{path}", timeout=30,
                                  headers={"Authorization": f"Bearer {self.token}"}, **kw)
        answer.raise_for_status()
        return answer.json()

    def runs(self, dag_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]

    def task_instances(self, dag_id: str) -> list[dict]:
        # Page by page: the API returns at most [api] maximum_page_limit (100) whatever the limit,
        # and build_mart alone has ~140 tasks.
        out: list[dict] = []
        while True:
            page = self.api("GET", f"/dags/{dag_id}/dagRuns/~/taskInstances",
                            params={"limit": 100, "offset": len(out), "order_by": "id"})
            out += page["task_instances"]
            if not page["task_instances"] or len(out) >= page["total_entries"]:
                return out


def _wait(what: str, check, timeout: float, cluster: Cluster, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in cluster.procs.items():
            if proc.poll() is not None and name != "worker_ingest":
                raise AssertionError(f"{name} exited ({proc.returncode}) while waiting for {what}\n"
                                     + cluster.log_tails())
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n" + cluster.log_tails())


def _tree(proc: subprocess.Popen) -> set[int]:
    """The worker's processes: its pool and the task processes under it."""
    try:
        return {proc.pid} | {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    _require(PG, "PostgreSQL")
    _require(REDIS, "Redis")
    run = uuid.uuid4().hex[:10]
    c = Cluster(tmp_path_factory.mktemp("celery"), run)
    deliveries.write_spine(c.home / "landing")
    try:
        init = subprocess.run([sys.executable, "-m", "citysafety.orchestrate", "init"], env=c.env,
                              capture_output=True, text=True, cwd=config.PROJECT_ROOT)
        assert init.returncode == 0, init.stdout[-5000:] + init.stderr[-5000:]
        for role in ("api-server", "scheduler", "dag-processor", "triggerer"):
            c.role(role, role)
        # The build copy's worker, single slot, taking ingests too; an ingest-only worker.
        c.role("worker_duckdb", "worker-duckdb", "--queues", f"default_{run}",
               "--name", f"duckdb_{run}@%h")
        c.role("worker_ingest", "worker", "--name", f"ingest_{run}@%h", "--skip-serve-logs")
        yield c
    finally:
        c.stop()
        _psql(f'drop database if exists "{c.database}" with (force)')
        import redis

        broker = redis.Redis(host=REDIS[0], port=REDIS[1], db=REDIS_DB)
        for key in broker.scan_iter(match=f"*{run}*"):
            broker.delete(key)
        # The killed worker's message, never acknowledged, waits in kombu's shared `unacked` hash.
        for tag, message in broker.hgetall("unacked").items():
            if run.encode() in message:
                broker.hdel("unacked", tag)
                broker.zrem("unacked_index", tag)


def _published(home: Path) -> bool:
    db = home / "warehouse" / "citysafety.duckdb"
    if not db.exists():
        return False
    con = duckdb.connect(str(db), read_only=True)
    try:
        files = con.execute("select count(*) from audit.reconciliation").fetchone()[0]
        deaths = dict(con.execute("select year, deaths_total from marts.kpi_safety_targets").fetchall())
    finally:
        con.close()
    return files == deliveries.EXPECTED_FILES and deaths.get(2020) == deliveries.EXPECTED_KPI[2020][3]


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def test_deliveries_published_by_two_celery_workers_one_killed_midway(cluster):
    c = cluster
    _wait("the API server", lambda: _healthy(c), 120, c)
    dag_ids = set(SPINE_INGESTS) | {"build_mart"}
    _wait("the DAGs parsed", lambda: dag_ids <= {d["dag_id"] for d in c.api(
        "GET", "/dags", params={"limit": 100})["dags"]}, 180, c, every=2)
    for dag_id in SPINE_INGESTS:
        c.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
    # Unpaused, a scheduled DAG gets its run from the scheduler; one that waits for an event
    # instead is triggered, as a person would from the UI (one run each: no run is doubled).
    deadline = time.monotonic() + 20
    waiting = set(SPINE_INGESTS)
    while waiting and time.monotonic() < deadline:
        waiting = {d for d in waiting if not c.runs(d)}
        time.sleep(1)
    for dag_id in sorted(waiting):
        c.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None})

    # Kill the ingest-only worker, process group and all, while it runs a task (the task instance
    # is running and its process is under that worker). A task that ended between that read and
    # the kill (an ingest with nothing new takes well under a second) was not lost: then a new
    # ingest worker is started and the next task it runs is the one.
    victim = c.procs["worker_ingest"]

    def running_on_victim() -> list[tuple[str, str, str]]:
        pids = _tree(victim)
        return [(ti["dag_id"], ti["task_id"], ti["dag_run_id"])
                for d in SPINE_INGESTS for ti in c.task_instances(d)
                if ti["state"] == "running" and ti["pid"] in pids]

    lost_tasks: list[tuple[str, str, str]] = []
    for _ in range(3):
        running = _wait("the ingest worker to run a task", running_on_victim, 240, c, every=0.3)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        time.sleep(1)  # a state already on its way to the API server lands
        states = {(ti["dag_id"], ti["task_id"], ti["dag_run_id"]): ti["state"]
                  for d in SPINE_INGESTS for ti in c.task_instances(d)}
        lost_tasks = [key for key in running if states.get(key) == "running"]
        if lost_tasks:
            break
        victim = c.role("worker_ingest", "worker", "--name", f"ingest_{c.run}@%h", "--skip-serve-logs")
    assert lost_tasks, "every task the ingest worker ran ended before it was killed"

    def ended(dags) -> bool:
        runs = [r for d in dags for r in c.runs(d)]
        return all(r["state"] in ("success", "failed") for r in runs)

    # build_mart stays paused until the ingests have ended, then builds once: unpaused from the
    # start, each department's asset event would start a build of its own, one after the other
    # on the single slot (a build per model is ~60 tasks), for the same published result.
    _wait("the ingests to end", lambda: ended(SPINE_INGESTS), PUBLISH_TIMEOUT, c, every=2)
    c.api("PATCH", "/dags/build_mart", json={"is_paused": False})
    c.api("POST", "/dags/build_mart/dagRuns", json={"logical_date": None})
    _wait("the deliveries published", lambda: _published(c.home), PUBLISH_TIMEOUT, c, every=3)
    _wait("every DAG run to end", lambda: ended(dag_ids), 120, c, every=2)
    for dag_id in dag_ids:
        states = {r["dag_run_id"]: r["state"] for r in c.runs(dag_id)}
        assert states and set(states.values()) == {"success"}, (dag_id, states)

    # The killed worker's task was failed by its missing heartbeat and succeeded on a retry.
    final = {(ti["dag_id"], ti["task_id"], ti["dag_run_id"]): ti
             for d in SPINE_INGESTS for ti in c.task_instances(d)}
    for key in lost_tasks:
        assert final[key]["try_number"] >= 2 and final[key]["state"] in ("success", "skipped"), final[key]

    # Queues: every task that opens the build copy went to the single-slot queue, ingests not.
    build = [ti for ti in c.task_instances("build_mart") if ti["state"] == "success"]
    # The dbt group's node tasks start and end in the triggerer (orchestrate/node_trigger.py):
    # they read the producer's XComs beside it and open no DuckDB file. One that ran on a worker
    # (a retry running its model alone) has a hostname and counts as a writer like the others.
    writers = [ti for ti in build if not ti["task_id"].startswith("dbt.")
               or ti["task_id"] == "dbt.dbt_producer_watcher" or ti.get("hostname")]
    assert len(writers) >= 6  # plan, prepare (with the freshness check), the producer, gate, publish, export
    assert writers and {ti["queue"] for ti in writers} == {f"duckdb_{c.run}"}
    ingests = [ti for d in SPINE_INGESTS for ti in c.task_instances(d)]
    assert {ti["queue"] for ti in ingests} == {f"default_{c.run}"}
    # ... and never two at once (one worker, one slot).
    spans = sorted((_when(ti["start_date"]), _when(ti["end_date"])) for ti in writers)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start, "two build-copy tasks overlapped"
    # The dbt node tasks ended in the triggerer without a request each to the DAG processor, which
    # parsed build_mart.py for it only to ignore it (orchestrate/launch.py).
    parses = list((c.home / "airflow" / "logs" / "dag_processor").rglob("build_mart.py.log"))
    assert parses and "is not a failure callback" not in "".join(p.read_text(errors="replace") for p in parses)


def _healthy(c: Cluster) -> bool:
    try:
        return requests.get(f"{c.base}/api/v2/monitor/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


# --- The profile's settings, without servers -----------------------------------------------------

QUEUE_PROBE = r"""
import json
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=__import__("citysafety.config").config.DAGS_DIR)
print("JSON" + json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()},
                           "tasks": {d: {t.task_id: [t.queue, t.retries] for t in dag.tasks}
                                     for d, dag in bag.dags.items()}}))
"""


def _parse(env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", QUEUE_PROBE], env=env, capture_output=True,
                          text=True, timeout=300, cwd=config.PROJECT_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parsed = json.loads(next(l for l in proc.stdout.splitlines() if l.startswith("JSON"))[4:])
    assert parsed["errors"] == {}
    return parsed["tasks"]


def test_build_copy_tasks_go_to_the_single_slot_queue_and_ingests_to_the_others(tmp_path):
    env = {**os.environ, "CITYSAFETY_HOME": str(tmp_path), "CITYSAFETY_PROFILE": "celery",
           "CITYSAFETY_DUCKDB_QUEUE": "buildq", "CITYSAFETY_DEFAULT_QUEUE": "anyq",
           "CITYSAFETY_TASK_RETRIES": "2"}
    tasks = _parse(env)
    build = tasks.pop("build_mart")
    dbt_nodes = [t for t in build if t.startswith("dbt.")]
    assert len(dbt_nodes) > 20
    for task_id in [*dbt_nodes, "plan_build", "prepare_build", "validate_quality", "publish_warehouse",
                    "export_departments"]:
        assert build[task_id][0] == "buildq", task_id
    # The response loop (respond_to_alarms) opens no DuckDB file for writing: any worker.
    assert {f"ingest_{s.name}" for s in sources.SOURCES} | {"respond_to_alarms"} == set(tasks)
    for dag_id, dag_tasks in tasks.items():
        for task_id, (queue, retries) in dag_tasks.items():
            assert queue == "anyq", (dag_id, task_id)
            # A lost worker's task runs again: every task retries (pulls keep their own 3).
            assert retries >= 2, (dag_id, task_id)
    # The embedded profile adds no retries (a failing gate fails at once there).
    embedded = _parse({**env, "CITYSAFETY_PROFILE": "embedded"})
    assert embedded["ingest_fire"]["load_fires"][1] == 0


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "citysafety.orchestrate", *args], env=env,
                          capture_output=True, text=True, timeout=120, cwd=config.PROJECT_ROOT)


def test_the_profile_refuses_to_start_without_its_servers_or_secrets(tmp_path):
    closed = free_port()  # nothing listens there
    env = {**os.environ, "CITYSAFETY_HOME": str(tmp_path), "CITYSAFETY_PROFILE": "celery",
           "CITYSAFETY_METADATA_DB": f"postgresql+psycopg://postgres@127.0.0.1:{closed}/x"}
    init = _cli(env, "init")
    assert init.returncode == 2
    assert f"PostgreSQL 元数据库 (CITYSAFETY_METADATA_DB) 无法连接 127.0.0.1:{closed}" in init.stderr

    # A worker never makes its own secrets (the API server would not accept its tokens).
    worker = _cli({**env, "CITYSAFETY_HOME": str(tmp_path / "fresh")}, "celery", "worker")
    assert worker.returncode == 2 and "缺少共享密钥 jwt_secret, api_secret_key, fernet_key" in worker.stderr

    for name, value in (("CITYSAFETY_PROFILE", "celerey"), ("CITYSAFETY_METADATA_DB", "sqlite:///x.db"),
                        ("CITYSAFETY_CELERY_BROKER", "amqp://127.0.0.1"), ("CITYSAFETY_DEFAULT_QUEUE", "a,b")):
        bad = _cli({**env, name: value}, "env")
        assert bad.returncode == 2 and name in bad.stderr and "Traceback" not in bad.stderr, (name, bad.stderr)


def test_shared_secrets_are_private_files_never_in_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_PROFILE", "celery")
    env = runner.airflow_env(config.settings())
    folder = tmp_path / "secrets" / "airflow"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    values = []
    for name in ("jwt_secret", "api_secret_key", "fernet_key"):
        path = folder / name
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        values.append(path.read_text().strip())
        assert len(values[-1]) >= 40
    assert not [k for k, v in env.items() if any(secret in v for secret in values)]
    assert env["AIRFLOW__API_AUTH__JWT_SECRET_CMD"] == f"cat {folder / 'jwt_secret'}"
    # Stable: a second start (or another machine sharing the folder) reads the same secrets.
    assert runner.airflow_env(config.settings())["AIRFLOW__CORE__FERNET_KEY_CMD"] == env["AIRFLOW__CORE__FERNET_KEY_CMD"]
    assert (folder / "fernet_key").read_text().strip() == values[2]
