"""The DAGs are operable: owners from the registry, zone-aware start dates, retries with back-off
and timeouts where the network or a subprocess is touched, and the as-of date resolved when a
run starts (not frozen into the DAG when the scheduler parses it).

The DAG files are parsed by Airflow itself (DagBag, in a subprocess with the platform's Airflow
environment); what the parse gives is read back as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from citysafety import config, sources
from citysafety.orchestrate import runner
from citysafety.orchestrate.cosmos_settings import AS_OF_TEMPLATE, PLAN_TASK, SELECT_TEMPLATE

PROBE = r"""
import json
from airflow.dag_processing.dagbag import DagBag

def watchers(dag):
    cond = getattr(dag.timetable, "asset_condition", None)
    assets = cond.iter_assets().values() if hasattr(cond, "iter_assets") else [cond] if cond else []
    return sorted(f"{a.name}:{w.name}:{type(w.trigger).__module__}.{type(w.trigger).__name__}"
                  f":{w.trigger.serialize()[1]}" for a in assets for w in getattr(a, "watchers", []))

bag = DagBag(dag_folder=__import__("citysafety.config").config.DAGS_DIR)
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        "tz": str(dag.timezone.name if hasattr(dag.timezone, "name") else dag.timezone),
        "timetable": type(dag.timetable).__name__,
        "watchers": watchers(dag),
        "tasks": {t.task_id: {
            "owner": t.owner, "retries": t.retries,
            "backoff": bool(t.retry_exponential_backoff),
            "timeout": t.execution_timeout.total_seconds() if t.execution_timeout else None,
            "vars": getattr(t, "vars", None),
            "env": getattr(t, "env", None),
            "select": getattr(t, "select", None),
            "start_from_trigger": t.start_from_trigger,
            "start_trigger": t.start_trigger_args.trigger_cls if t.start_trigger_args else None,
            "trigger_waits_for": (t.start_trigger_args.trigger_kwargs or {}).get("upstream_task_ids")
                                 if t.start_trigger_args else None,
            "trigger_rule": str(t.trigger_rule),
            "upstream": sorted(t.upstream_task_ids),
            "class": type(t).__name__,
            "deferrable": getattr(t, "deferrable", None),
        } for t in dag.tasks},
    }
from cosmos.operators._watcher import base
out["cosmos_event_allowlist"] = sorted(base._DBT_EVENT_ALLOWLIST)
from cosmos.operators import watcher
import cosmos.dbt.runner as dbt_runner
out["producer_tuned"] = [getattr(watcher.DbtProducerWatcherOperator, "_citysafety_tuned", False),
                         base.safe_xcom_push.__module__, base._process_dbt_log_event.__module__,
                         watcher.DbtProducerWatcherOperator.execute.__module__,
                         dbt_runner.run_command.__module__]
from cosmos.operators._watcher import xcom
out["cosmos_backup"] = [callable(getattr(xcom, n, None))
                        for n in ("_get_task_group_id", "_xcom_backup_variable_key")]
print("JSON" + json.dumps(out, default=str))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    home = tmp_path_factory.mktemp("dags_home")
    cfg = config.Settings(home=home)
    env = runner.airflow_env(cfg)
    env["CITYSAFETY_AS_OF_DATE"] = "2020-06-30"  # set at parse time: must not be frozen in
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                          timeout=300, cwd=config.PROJECT_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(l for l in proc.stdout.splitlines() if l.startswith("JSON"))
    return json.loads(line[4:])


def test_dags_parse_without_errors(parsed):
    assert parsed["errors"] == {}
    assert set(parsed["dags"]) == {f"ingest_{s.name}" for s in sources.SOURCES} | {"build_mart", "respond_to_alarms"}


def test_owners_come_from_the_registry_and_times_have_a_zone(parsed):
    for source in sources.SOURCES:
        dag = parsed["dags"][f"ingest_{source.name}"]
        assert {t["owner"] for t in dag["tasks"].values()} == {source.department}, source.name
        assert dag["tz"] == "Asia/Shanghai"
    build = parsed["dags"]["build_mart"]
    assert {t["owner"] for t in build["tasks"].values()} == {sources.PLATFORM_OWNER}
    assert build["tz"] == "Asia/Shanghai"


def test_network_and_subprocess_tasks_retry_with_backoff_and_time_out(parsed):
    pulls = [(d, t) for d, dag in parsed["dags"].items() for t in dag["tasks"] if t.startswith("pull_")]
    assert {t for _, t in pulls} == {f"pull_{f.feed}" for f in sources.all_feeds() if f.pull}
    for dag_id, task_id in pulls:
        task = parsed["dags"][dag_id]["tasks"][task_id]
        assert task["retries"] >= 3 and task["backoff"] and task["timeout"], (dag_id, task_id)
    build = parsed["dags"]["build_mart"]["tasks"]
    dbt_tasks = {k: v for k, v in build.items() if k.startswith("dbt.")}
    assert len(dbt_tasks) > 20
    for task_id, task in dbt_tasks.items():
        assert task["retries"] >= 1 and task["backoff"] and task["timeout"], task_id
    # Every task of every DAG has a timeout: none can hang a run for ever.
    for dag_id, dag in parsed["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["timeout"], (dag_id, task_id)


def test_the_as_of_date_is_resolved_when_the_run_starts(parsed):
    """The parse happened with CITYSAFETY_AS_OF_DATE set: no dbt node carries that date; each
    reads it from the run's plan_build task, which runs first."""
    build = parsed["dags"]["build_mart"]["tasks"]
    text = json.dumps(build)
    assert "2020-06-30" not in text
    assert build[PLAN_TASK]["upstream"] == []
    assert build["prepare_build"]["upstream"] == [PLAN_TASK]
    for task_id, task in build.items():
        # Every task of the group that can run dbt (cosmos's empty producer_done gate runs nothing).
        if task_id.startswith("dbt.") and task["class"] != "EmptyOperator":
            # In the environment, not dbt's --vars (which would cost a full parse of the project);
            # beside it, what every build of the mart leaves out (dbt's unit tests: make test).
            assert task["env"] == {"CITYSAFETY_AS_OF_DATE": AS_OF_TEMPLATE, **config.DBT_BUILD_ENV}, task_id
            assert not task["vars"], task_id


def test_the_build_is_one_dbt_build_watched_by_a_task_per_node(parsed):
    """cosmos's watcher mode: one producer task runs `dbt build`; every model keeps a task of its
    own (status, log, retry in the UI) that waits for its node, deferred, beside the producer."""
    build = parsed["dags"]["build_mart"]["tasks"]
    producers = [k for k, t in build.items() if t["class"] == "DbtProducerWatcherOperator"]
    assert producers == ["dbt.dbt_producer_watcher"]
    assert build["dbt.dbt_producer_watcher"]["upstream"] == ["prepare_build"]
    manifest = json.loads((config.DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    # cosmos names a versioned model's task <name>_v<version>
    models = {n["name"] + (f"_v{n['version']}" if n.get("version") else "")
              for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for name in models:
        task = build.get(f"dbt.{name}.run") or build.get(f"dbt.{name}_run")
        assert task and task["class"] == "DbtRunWatcherOperator" and task["deferrable"], name
    # Under the scheduler every node task starts in the triggerer, no worker process of its own
    # (citysafety.orchestrate.node_trigger); the producer and cosmos's empty gate do not.
    for task_id, task in build.items():
        node = task_id.startswith("dbt.") and task["class"] not in (
            "DbtProducerWatcherOperator", "EmptyOperator")
        assert task["start_from_trigger"] is node, task_id
        assert task["start_trigger"] == ("citysafety.orchestrate.node_trigger.NodeTrigger"
                                         if node else None), task_id
        if node:
            # ... when the run starts (their lineage edges kept for the graph and for clearing
            # downstream); a retried node's trigger waits for its upstream node tasks instead.
            assert task["trigger_rule"] == "always", task_id
            assert task["trigger_waits_for"] == sorted(
                u for u in task["upstream"] if u.startswith("dbt.")), task_id
    assert any(t["trigger_waits_for"] for t in build.values())
    # Under the scheduler no node task waits for the producer to finish: they run beside it.
    assert not any("dbt.dbt_producer_watcher" in t["upstream"] for k, t in build.items()
                   if k != "dbt.dbt_producer_watcher_done")
    # The producer pushes only the dbt events a node task reads (citysafety.orchestrate.producer).
    assert "NodeFinished" in parsed["cosmos_event_allowlist"]
    assert not {"NodeStart", "NodeCompiling", "NodeExecuting"} & set(parsed["cosmos_event_allowlist"])
    # ... for nodes with a task, from a thread of their own (the private globals it replaces exist).
    assert parsed["producer_tuned"] == [True, "citysafety.orchestrate.producer",
                                        "citysafety.orchestrate.producer",
                                        "citysafety.orchestrate.producer",
                                        "citysafety.orchestrate.producer"]
    # ... and its retry builds again after a kill: it finds cosmos's backup key as cosmos does.
    assert parsed["cosmos_backup"] == [True, True]


def test_in_airflow_dags_test_the_node_tasks_follow_the_producer(tmp_path):
    """One task at a time in one process (`airflow dags test`, `make pipeline`): a node task
    run before the producer would wait for a build that cannot start; there they follow it."""
    cfg = config.Settings(home=tmp_path)
    env = {**runner.airflow_env(cfg), "CITYSAFETY_IN_PROCESS_RUN": "1"}
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                          timeout=300, cwd=config.PROJECT_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    build = json.loads(next(l for l in proc.stdout.splitlines() if l.startswith("JSON"))[4:])["dags"]["build_mart"]
    roots = [k for k, t in build["tasks"].items() if k.startswith("dbt.")
             and k not in ("dbt.dbt_producer_watcher", "dbt.dbt_producer_watcher_done")
             and not any(u.startswith("dbt.") and u != "dbt.dbt_producer_watcher" for u in t["upstream"])]
    assert roots
    for task_id in roots:
        assert "dbt.dbt_producer_watcher" in build["tasks"][task_id]["upstream"], task_id


def test_deliveries_start_their_department_and_the_build_takes_the_plan(parsed):
    """Each ingest DAG runs when its department's landing folders get a delivery (an Asset
    watched by a LandingTrigger in the triggerer) or once a day (pulled feeds); the build's one
    `dbt build` selects what the run's plan says (citysafety.mart.plan)."""
    for source in sources.SOURCES:
        dag = parsed["dags"][f"ingest_{source.name}"]
        assert dag["timetable"] == "AssetOrTimeSchedule", source.name
        assert dag["watchers"] == [
            f"landing_{source.name}:landing_{source.name}:citysafety.orchestrate.landing.LandingTrigger"
            f":{{'source': '{source.name}', 'poke_interval': 2.0}}"], source.name
    build = parsed["dags"]["build_mart"]["tasks"]
    assert build["dbt.dbt_producer_watcher"]["select"] == SELECT_TEMPLATE


def test_the_response_runs_after_each_publish_and_every_minute(parsed):
    """respond_to_alarms: on the warehouse Asset (a publish) or the minute's tick, whichever comes
    first; record → escalate → dispatch, each retried and bounded in time; the platform owns it."""
    dag = parsed["dags"]["respond_to_alarms"]
    assert dag["timetable"] == "AssetOrTimeSchedule" and dag["tz"] == "Asia/Shanghai"
    tasks = dag["tasks"]
    assert {k: v["upstream"] for k, v in tasks.items()} == {
        "record_alarms": [], "escalate_alarms": ["record_alarms"], "dispatch_notifications": ["escalate_alarms"]}
    for task_id, task in tasks.items():
        assert task["retries"] >= 1 and task["timeout"] and task["owner"] == sources.PLATFORM_OWNER, task_id


def test_a_pipelines_dags_run_in_one_process_and_a_failure_does_not_stop_the_next(tmp_path, monkeypatch, capsys):
    """`make pipeline` runs its DAGs in one process (citysafety.orchestrate.dag_runs): a DAG that
    cannot run fails with its reason in its own log, and the next DAG still runs, for real, in
    the same process, its output in its own log."""
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path / "home"))
    cfg = config.settings()
    assert runner.run_pipeline(cfg, ["no_such_dag", "ingest_stats"]) == 1
    out = capsys.readouterr().out
    assert "[1/2] no_such_dag 失败 FAILED (exit 1" in out and "[2/2] ingest_stats 成功 success" in out
    logs = sorted(cfg.home.glob("logs/pipeline/*/*.log"))
    assert [p.name for p in logs] == ["ingest_stats.log", "no_such_dag.log"]
    assert "'no_such_dag' could not be found" in logs[1].read_text()
    assert "DagRun Finished: dag_id=ingest_stats" in logs[0].read_text()
    assert "no_such_dag" not in logs[0].read_text()
