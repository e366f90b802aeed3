"""Airflow's components as the platform starts them (citysafety.orchestrate.launch): the scheduler
and the Celery workers with the task libraries imported (their tasks are forks of them), the
triggerer without the task callback requests the DAG processor ignores; every other component,
and every argument, is Airflow's own. Checked against the installed Airflow."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from citysafety.orchestrate import distributed, launch, runner
from citysafety.orchestrate.scheduler import COMPONENTS

LAUNCH = "citysafety.orchestrate.launch"


def test_the_scheduler_workers_and_triggerer_start_prepared_and_the_others_as_airflow():
    bin_ = runner.VENV_BIN
    commands = {c: launch.command([c], bin_) for c in COMPONENTS}
    for component in ("scheduler", "triggerer"):
        assert commands[component] == [str(bin_ / "python"), "-m", LAUNCH, component]
    for component in ("api-server", "dag-processor"):
        assert commands[component] == [str(bin_ / "airflow"), component]
    worker = distributed.role_command("worker", venv_bin=bin_, name="w1@h", concurrency=2,
                                      serve_logs=False)
    assert worker[:3] == [str(bin_ / "python"), "-m", LAUNCH]
    assert worker[3:] == ["celery", "worker", "--queues", "default", "--concurrency", "2",
                          "--celery-hostname", "w1@h", "--skip-serve-logs"]
    assert distributed.role_command("scheduler", venv_bin=bin_)[3:] == ["scheduler"]


def test_a_launch_passes_every_argument_to_airflow():
    direct = subprocess.run([str(runner.VENV_BIN / "airflow"), "version"], capture_output=True,
                            text=True, timeout=120, check=True)
    launched = subprocess.run([str(runner.VENV_BIN / "python"), "-m", LAUNCH, "version"],
                              capture_output=True, text=True, timeout=120, check=True)
    version = direct.stdout.strip().splitlines()[-1]
    assert version[:1].isdigit(), direct.stdout
    assert launched.stdout.strip().splitlines()[-1] == version


def test_every_task_library_is_imported_before_the_fork():
    # A misspelt name would be skipped silently (preparing never adds a failure): check here.
    code = ("import sys, json; from citysafety.orchestrate import launch; loaded = launch.preload(); "
            "print(json.dumps([loaded, [m for m in launch.TASK_LIBRARIES if m in sys.modules]]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    loaded, present = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == present == list(launch.TASK_LIBRARIES)


def _request(state):
    from airflow.callbacks.callback_requests import TaskCallbackRequest, ti_datamodel

    ti = ti_datamodel.TaskInstance(id=uuid.uuid4(), task_id="dbt.fct_fires.run", dag_id="build_mart",
                                   run_id="r1", try_number=1, dag_version_id=uuid.uuid4())
    return TaskCallbackRequest(filepath="build_mart.py", bundle_name="dags-folder", bundle_version=None,
                               ti=ti, task_callback_type=state)


def test_the_dag_processor_ignores_a_task_success_callback_request():
    """What makes dropping them safe: the installed Airflow's DAG processor returns before it
    even looks for the DAG (the DagBag here is None) when a task's callback is not a failure."""
    import structlog
    from airflow.dag_processing.processor import _execute_task_callbacks
    from airflow.utils.state import TaskInstanceState

    assert _execute_task_callbacks(None, _request(TaskInstanceState.SUCCESS), structlog.get_logger()) is None


def test_the_triggerer_drops_success_requests_and_sends_the_others(tmp_path):
    """The sink, patched as in the triggerer, on a real database table of callback requests."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from airflow.callbacks.database_callback_sink import DatabaseCallbackSink
    from airflow.models import import_all_models
    from airflow.models.db_callback_request import DbCallbackRequest
    from airflow.utils.state import TaskInstanceState

    engine = create_engine(f"sqlite:///{tmp_path / 'callbacks.db'}")
    import_all_models()  # the callbacks' table refers to others
    DbCallbackRequest.metadata.create_all(engine)
    original = DatabaseCallbackSink.send
    try:
        launch.drop_ignored_task_callbacks()
        launch.drop_ignored_task_callbacks()  # once per process, however often called
        with Session(engine) as session:
            for state in (TaskInstanceState.SUCCESS, TaskInstanceState.FAILED, TaskInstanceState.UP_FOR_RETRY):
                DatabaseCallbackSink().send(callback=_request(state), session=session)
            session.commit()
            kept = session.scalars(select(DbCallbackRequest)).all()
            assert sorted(r.get_callback_request().task_callback_type for r in kept) == ["failed", "up_for_retry"]
    finally:
        DatabaseCallbackSink.send = original
