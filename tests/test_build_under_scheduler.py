"""build_mart under Airflow's real scheduler (API server, scheduler, DAG processor and triggerer
as `make serve` starts them), triggered through the REST API as the UI does: cosmos's watcher
mode runs one `dbt build` and keeps a task per dbt node, each ending with its node's status; the
gate passes and the warehouse is published with the marts the in-process build makes; clearing
one model's task reruns that model alone and it succeeds again; a killed producer builds again.
"""

from __future__ import annotations

import json
import os
import signal
import time
import zlib

import duckdb
import pytest

import deliveries
from marts import mart_checksums  # load times left out
from citysafety import config
from citysafety import sources as S
from citysafety.mart import build
from citysafety.orchestrate import runner
from citysafety.orchestrate.scheduler import Scheduler
from citysafety.raw import ingest

pytestmark = [pytest.mark.pipeline, pytest.mark.scheduler]
MODEL = "fct_casualty_events"


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
               "published": mart_checksums(cfg.warehouse_db)}
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
    # load times left out: the two homes loaded the same files seconds apart
    assert served["published"] == mart_checksums(served["ref"].warehouse_db)
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
    assert mart_checksums(served["cfg"].build_db) == mart_checksums(served["ref"].warehouse_db)


def test_a_landed_file_starts_its_department_and_a_build_of_what_it_changed(served):
    """Event-driven: a fire report that lands starts ingest_fire by itself (the triggerer watches
    landing/fire/), its loaded feed starts build_mart, which rebuilds only what is downstream of
    fire/fires (the plan), and the published warehouse then equals a full in-process build of
    the same deliveries."""
    sched, cfg, ref = served["sched"], served["cfg"], served["ref"]
    seen_ingest = {r["dag_run_id"] for r in sched.runs("ingest_fire")}
    seen_build = {r["dag_run_id"] for r in sched.runs("build_mart")}
    sched.set_paused("ingest_fire", False)
    # Its landing watcher starts when the DAG is parsed unpaused; unpaused, its daily schedule
    # runs the latest interval at once (nothing to load): the file lands after that.
    sched.reparse("ingest_fire")
    sched.wait_idle(["ingest_fire", "build_mart"], settle=15)
    seen_ingest = {r["dag_run_id"] for r in sched.runs("ingest_fire")}
    seen_build = {r["dag_run_id"] for r in sched.runs("build_mart")}
    week = "fires_2016-W30.csv"
    text = ("\ufeff" + ",".join(c.delivered for c in S.FIRE_FIRES.columns) + "\n"
            "F-2016-30,2016-07-25T10:00:00,武林,某路30号,工业,电气,,1,0,5000,2016-07-25T18:00:00\n")
    for home in (cfg, ref):
        folder = home.landing / "fire" / "fires"
        (folder / f".{week}.part").write_text(text, encoding="utf-8")
        (folder / f".{week}.part").rename(folder / week)  # the agreement's upload convention

    ingest_run = sched.wait_new_run("ingest_fire", seen_ingest, "asset_triggered", timeout=300)
    assert sched.wait_run("ingest_fire", ingest_run, timeout=600, poll=1)["state"] == "success"
    build_run = sched.wait_new_run("build_mart", seen_build, "asset_triggered", timeout=300)
    assert sched.wait_run("build_mart", build_run, timeout=1200, poll=2)["state"] == "success"

    planned = sched.xcom("build_mart", build_run, "plan_build")
    assert not planned["full"] and planned["feeds"] == [S.FIRE_FIRES.id], planned
    assert "source:fire.fire__fires+" in planned["select"].split()
    con = duckdb.connect(str(cfg.warehouse_db), read_only=True)
    try:
        assert con.execute("select count(*) from audit.reconciliation where file_name = ?",
                           [week]).fetchone()[0] == 1
    finally:
        con.close()
    # Only what the fire feed reaches was rebuilt, and the mart is the full build's.
    for feed in S.all_feeds():
        ingest.ingest_feed(feed, ref)
    build.build_and_publish(ref)
    assert mart_checksums(cfg.warehouse_db) == mart_checksums(ref.warehouse_db)


def test_a_killed_dbt_producer_builds_again_on_its_retry(served):
    """SIGKILL of the producer mid-build (its worker lost, out of memory): its retry runs the
    build once more and the node tasks still waiting take their status from it; none runs dbt
    for its node alone (cosmos's way, one process per node: minutes on this project)."""
    sched, cfg, ref = served["sched"], served["cfg"], served["ref"]
    run_id = sched.trigger("build_mart")
    producer = "dbt.dbt_producer_watcher"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        ti = next((t for t in sched.task_instances("build_mart", run_id) if t["task_id"] == producer), {})
        if ti.get("state") == "running" and ti.get("pid"):
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"no running producer: {ti}")
    time.sleep(8)  # into dbt's build: some nodes reported, most not
    os.killpg(ti["pid"], signal.SIGKILL)
    assert sched.wait_run("build_mart", run_id, timeout=1200, poll=2)["state"] == "success"
    tis = {t["task_id"]: t for t in sched.task_instances("build_mart", run_id)}
    assert tis[producer]["try_number"] == 2 and tis[producer]["state"] == "success"
    nodes = {k: t for k, t in tis.items() if k.startswith("dbt.") and k.endswith((".run", ".test"))}
    assert len(nodes) > 20
    assert {(t["state"], t["try_number"]) for t in nodes.values()} == {("success", 1)}
    log = next((cfg.airflow_home / "logs" / "dag_id=build_mart").glob(
        f"run_id=*/task_id={producer}/attempt=2.log")).read_text()
    assert "building the selection again" in log, log[-3000:]
    assert mart_checksums(cfg.warehouse_db) == mart_checksums(ref.warehouse_db)
