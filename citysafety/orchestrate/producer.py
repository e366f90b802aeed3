"""What the build's producer task (cosmos's watcher mode) reports while `dbt build` runs.

cosmos's producer reports every dbt node to the node tasks through XComs, each a call to the API
server made from dbt's event callback, so dbt waits for it: about 800 calls for this project,
measured as most of the gap between the producer's `dbt build` and the same build from the CLI.
`tune()` keeps what the node tasks read and takes the calls off dbt's path:

- only the dbt events cosmos reads reach its callback: of ~12,000 events a build fires, ~11,000
  are debug events (connections, queries, cache) that cosmos turned into JSON one by one, in
  dbt's thread, only to drop them; the debug events it reads (a node's end, the skips and errors)
  and every event the task log shows (info and above) still reach it;
- only the dbt events a node task reads are pushed: a node's end (NodeFinished) and errors, and
  only for nodes that have a task (models, seeds, snapshots; a test's result reaches its model's
  test task through cosmos's aggregated status, which is still pushed); a key is pushed again
  only when its value changed (cosmos pushes a node's status for each of its events that carry
  it, up to three times);
- the pushes are made, in order, by one thread of the producer while dbt goes on, and all of them
  are made before the producer's dbt run returns or raises: a node task never sees the producer
  finished before its node's status (cosmos would take a missing status after a successful
  producer for a node dbt did not run);
- the statuses gathered so far are also pushed as one XCom (`STATUSES_KEY`) when the thread has
  caught up, at most every AGGREGATE_EVERY seconds: the node tasks of a run, all waiting from
  the run's start, read that one value a poll between them.

One more change is to the producer's retry. cosmos skips a retried producer and leaves every node
it did not report to its own task, which then runs dbt for that node alone (a process and a
project load each: a killed producer's run was still going 12 minutes later, test_chaos). When
the first try ended by itself (a node failed, a timeout), cosmos has kept what it reported and
the failed nodes retry alone, as before. When it left nothing (killed with its worker, out of
memory), the retry runs the build again: one `dbt build` of the same selection, which the node
tasks still waiting take their status from as from the first.

cosmos keeps these in private module globals; tests/test_dags.py fails if they go away.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

# The node kinds that have a task of their own under the watcher (cosmos renders no task per test).
_NODES_WITH_TASKS = frozenset({"model", "seed", "snapshot"})

_active: _Pusher | None = None
_UNSENT = object()

# The debug events cosmos's callback reads (every event of level info and above reaches it too):
# a node's end carries its status; the skip events mark an upstream failure; the start-up events
# name the versions; the error events are its allow-list (completed in tune(), from cosmos).
_DEBUG_EVENTS_READ = {"NodeFinished", "SkippingDetails", "LogSkipBecauseError", "MainReportVersion",
                      "AdapterRegistered"}


def _only_events_read(callback):
    """The callback called only for the events cosmos reads (see _DEBUG_EVENTS_READ)."""

    def filtered(event: Any) -> None:
        if event.info.level != "debug" or event.info.name in _DEBUG_EVENTS_READ:
            callback(event)

    return filtered


# The statuses so far are pushed at most this often (seconds): the node tasks read them once a
# second (node_trigger.WATCHER_POKE_INTERVAL); dbt reports a node every few tens of ms on small
# data, and one push per report was a few hundred calls to the API server a build.
AGGREGATE_EVERY = 0.5
_DUE = object()  # the queue's wait ran out: the statuses so far are due

# One XCom of the producer holding every node's status so far ({status key: status} and the
# producer's try under TRY_FIELD): the node tasks of a run read it with one call a poll between
# them (orchestrate/node_trigger.py), instead of one call per waiting node.
STATUSES_KEY = "citysafety_node_statuses"
TRY_FIELD = "_producer_try"


def _is_status_key(key: str) -> bool:
    # cosmos's keys: <node>_status (models, seeds, snapshots) and <model>_tests_status; its own
    # "task_status" is the producer's end, not a node's.
    return key.endswith("_status") and key != "task_status"


class _Pusher:
    """One thread making the producer's XCom pushes in the order dbt reported them, then the
    statuses gathered so far as one XCom when it has caught up with dbt (at most every
    AGGREGATE_EVERY seconds; the last ones as soon as that time is up, whether dbt reports more
    or not, and before close() returns)."""

    def __init__(self, push, try_number: int = 1):
        self._push = push
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._statuses: dict[str, Any] = {TRY_FIELD: try_number}
        self._task_instance: Any = None
        self._sent: dict[str, Any] = {}
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="cosmos-xcom-pusher", daemon=True)
        self._thread.start()

    def __call__(self, task_instance: Any, key: str, value: Any) -> None:
        self._queue.put((task_instance, key, value))

    def _drain(self) -> None:
        due = None  # when the statuses gathered since the last aggregate are to be pushed
        last_sent = float("-inf")
        while True:
            try:
                if due is None:
                    item = self._queue.get()
                elif (left := due - time.monotonic()) > 0:
                    item = self._queue.get(timeout=left)
                else:
                    item = self._queue.get_nowait()
            except queue.Empty:
                item = _DUE
            if item is None:
                break
            if item is not _DUE:
                task_instance, key, value = item
                self._send(task_instance, key, value)
                if _is_status_key(key):
                    self._task_instance = task_instance
                    self._statuses[key] = value.get("status") if isinstance(value, dict) else value
                    due = due or max(time.monotonic(), last_sent + AGGREGATE_EVERY)
            if due is not None and time.monotonic() >= due and self._queue.empty():
                self._send(self._task_instance, STATUSES_KEY, dict(self._statuses))
                due, last_sent = None, time.monotonic()
        if due is not None:
            self._send(self._task_instance, STATUSES_KEY, dict(self._statuses))

    def _send(self, task_instance: Any, key: str, value: Any) -> None:
        if self._sent.get(key, _UNSENT) == value:
            return
        try:
            self._push(task_instance=task_instance, key=key, value=value)
            self._sent[key] = value
        except BaseException as exc:  # kept, raised by the producer once dbt is done
            self.error = self.error or exc

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()


class _Rerun:
    """The task instance of a producer retry, shown to cosmos as a first try so that it builds."""

    try_number = 1

    def __init__(self, ti: Any):
        object.__setattr__(self, "_ti", ti)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ti, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._ti, name, value)


def _first_try_left_nothing(context: Any) -> bool:
    """True if the producer's earlier try kept no report (cosmos backs one up when a try ends by
    itself, failing or timing out; a killed process writes none)."""
    from cosmos.airflow.compatibility import get_variable
    from cosmos.operators._watcher.xcom import _get_task_group_id, _xcom_backup_variable_key

    ti = context["ti"]
    key = _xcom_backup_variable_key(ti.dag_id, _get_task_group_id(ti), context["run_id"])
    return get_variable(key, default=None) is None


def tune() -> None:
    """Apply the changes above to cosmos (once per process; DAG files parse repeatedly)."""
    from cosmos.operators import watcher
    from cosmos.dbt import runner as dbt_runner
    from cosmos.operators._watcher import aggregation, base

    base._DBT_EVENT_ALLOWLIST = base._DBT_ERROR_EVENTS_TYPES | {"NodeFinished"}
    _DEBUG_EVENTS_READ.update(base._DBT_ERROR_EVENTS_TYPES)
    if getattr(watcher.DbtProducerWatcherOperator, "_citysafety_tuned", False):
        return
    push = base.safe_xcom_push
    process_event = base._process_dbt_log_event
    run_dbt_runner = watcher.DbtProducerWatcherOperator.run_dbt_runner
    execute = watcher.DbtProducerWatcherOperator.execute
    run_command = dbt_runner.run_command

    def run_command_with_filtered_callbacks(command, env, cwd, callbacks=None, **kwargs):
        if _active is not None and callbacks:  # the producer's build (its callback is cosmos's)
            callbacks = [_only_events_read(callback) for callback in callbacks]
        return run_command(command, env, cwd, callbacks=callbacks, **kwargs)

    def safe_xcom_push(task_instance: Any, key: str, value: Any) -> None:
        (_active or push)(task_instance=task_instance, key=key, value=value)

    def _process_dbt_log_event(task_instance: Any, dbt_log: dict[str, Any]) -> None:
        node = (dbt_log.get("data") or {}).get("node_info") or {}
        if node.get("unique_id") and node.get("resource_type") not in _NODES_WITH_TASKS:
            return None
        return process_event(task_instance, dbt_log)

    def producer_run_dbt_runner(self, command, env, cwd, **kwargs):
        global _active
        from airflow.sdk import get_current_context

        pusher = _Pusher(push, getattr(get_current_context().get("ti"), "try_number", 1))
        _active = pusher
        try:
            result = run_dbt_runner(self, command, env, cwd, **kwargs)
        finally:
            _active = None
            pusher.close()
        if pusher.error is not None:
            raise pusher.error
        return result

    def producer_execute(self, context, **kwargs):
        ti = context["ti"]
        if getattr(ti, "try_number", 1) > 1 and _first_try_left_nothing(context):
            self.log.info("Try %s: the earlier try was stopped before it reported (killed); "
                          "building the selection again.", ti.try_number)
            rerun = _Rerun(ti)
            context = {**context, "ti": rerun, "task_instance": rerun}
        return execute(self, context, **kwargs)

    dbt_runner.run_command = run_command_with_filtered_callbacks
    base.safe_xcom_push = safe_xcom_push
    aggregation.safe_xcom_push = safe_xcom_push
    base._process_dbt_log_event = _process_dbt_log_event
    watcher.DbtProducerWatcherOperator.run_dbt_runner = producer_run_dbt_runner
    watcher.DbtProducerWatcherOperator.execute = producer_execute
    watcher.DbtProducerWatcherOperator._citysafety_tuned = True
