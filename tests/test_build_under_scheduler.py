"""build_mart under Airflow's real scheduler (API server, scheduler, DAG processor and triggerer
as `make serve` starts them), triggered through the REST API as the UI does: cosmos's watcher
mode runs one `dbt build` and keeps a task per dbt node, each ending with its node's status; the
gate passes and the warehouse is published with the marts the in-process build makes; clearing
one model's task reruns that model alone and it succeeds again.
"""

from __future__ import annotations

import json
import zlib

import duckdb
import pytest

import deliveries
from citysafety import config
from citysafety import sources as S
from citysafety.mart import build
from citysafety.orchestrate import runner
from citysafety.orchestrate.scheduler import Scheduler
from citysafety.raw import ingest

pytestmark = [pytest.mark.pipeline, pytest.mark.scheduler]
MODEL = "fct_casualty_events"


def marts(db) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1").fetchall()]
        return {t: con.execute(f"select md5(coalesce(string_agg(t::varchar, '|' order by t::varchar), '')) "
                               f"from marts.{t} t").fetchone()[0] for t in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("scheduled")
    mp = pytest.MonkeyPatch()
    mp.setenv("CITYSAFETY_HOME", str(root))
    mp.setenv("CITYSAFETY_AS_OF_DATE", "2020-06-30")
    cfg = config.settings()
    deliveries.write_spine(cfg.landing)
    for feed in S.all_feeds():
        ingest.ingest_feed(feed, cfg)
    # The reference: the same build in this process (prepare_build, dbt build, gate, publish).
    ref = config.Settings(home=tmp_path_factory.mktemp("reference"))
    deliveries.write_spine(ref.landing)
    for feed in S.all_feeds():
        ingest.ingest_feed(feed, ref)
    build.build_and_publish(ref)
    port = 30000 + zlib.crc32(str(root).encode()) % 9000 // 3 * 3
    with Scheduler(cfg, runner.airflow_env(cfg), port, paused_at_creation=True) as sched:
        sched.wait_dag("build_mart")
        sched.set_paused("build_mart", False)
        run_id = sched.trigger("build_mart")
        run = sched.wait_run("build_mart", run_id, timeout=1800, poll=2)
        first = {t["task_id"]: t for t in sched.task_instances("build_mart", run_id)}
        yield {"cfg": cfg, "ref": ref, "sched": sched, "run_id": run_id, "run": run, "tis": first,
               "published": marts(cfg.warehouse_db)}
    mp.undo()


def test_the_scheduled_build_succeeds_with_a_task_per_dbt_node(served):
    assert served["run"]["state"] == "success", {k: t["state"] for k, t in served["tis"].items()}
    tis = served["tis"]
    manifest = json.loads((config.DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    # cosmos names a versioned model's task <name>_v<version>
    models = {n["name"] + (f"_v{n['version']}" if n.get("version") else "")
              for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for name in models:
        task = tis.get(f"dbt.{name}.run") or tis.get(f"dbt.{name}_run")
        assert task is not None, name
        assert task["state"] == "success", (name, task["state"])
    # One dbt build for the whole run: one producer task, every node task only watched it.
    producers = [t for t in tis if t.endswith("dbt_producer_watcher")]
    assert producers == ["dbt.dbt_producer_watcher"]
    assert tis["dbt.dbt_producer_watcher"]["state"] == "success"
    assert tis["dbt.dbt_producer_watcher"]["try_number"] == 1
    assert {tis[t]["state"] for t in ("validate_quality", "publish_warehouse", "export_departments")} == {"success"}


def test_the_scheduled_build_publishes_what_the_in_process_build_does(served):
    assert served["published"] == marts(served["ref"].warehouse_db)
    assert len(served["published"]) > 10


def test_clearing_a_model_task_reruns_that_model_alone(served):
    sched, run_id = served["sched"], served["run_id"]
    task_id = f"dbt.{MODEL}.run"
    sched._request("POST", "/api/v2/dags/build_mart/clearTaskInstances", {
        "dry_run": False, "task_ids": [task_id], "dag_run_id": run_id, "only_failed": False,
        "include_downstream": False, "include_upstream": False, "reset_dag_runs": True,
    })
    sched.wait_run("build_mart", run_id, timeout=900, poll=2)
    tis = {t["task_id"]: t for t in sched.task_instances("build_mart", run_id)}
    assert tis[task_id]["state"] == "success"
    assert tis[task_id]["try_number"] == served["tis"][task_id]["try_number"] + 1
    # The rerun ran dbt for that model only (cosmos's fallback), not a second whole build.
    assert tis["dbt.dbt_producer_watcher"]["try_number"] == 1
    log = next((served["cfg"].airflow_home / "logs" / "dag_id=build_mart").glob(
        f"run_id=*/task_id={task_id}/attempt={tis[task_id]['try_number']}.log")).read_text()
    assert f"'--select', '{MODEL}'" in log or f"--select {MODEL}" in log, log[-3000:]
    assert marts(served["cfg"].build_db) == marts(served["ref"].warehouse_db)
