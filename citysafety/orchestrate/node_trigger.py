"""The node tasks of the mart build start and end in the triggerer, not on a worker.

In cosmos's watcher mode one task (the producer) runs `dbt build`, and each dbt node keeps a task
that takes its status from the producer's XComs. cosmos starts each of those tasks on a worker,
which finds the node unfinished and defers to the triggerer, which wakes the task on a worker
again to end it: two task processes (each parsing the build DAG) for every one of the ~140 node
tasks. On two cores those processes took the CPU from the build they watch, and the run took
several times one `dbt build`.

Here the scheduler hands a node task straight to the triggerer (Airflow's `start_from_trigger`),
and `NodeTrigger` ends it there: success and skips without any worker, the node's dbt result
written to the task's log. A worker is used only where something has to run:

- a node that failed resumes on a worker, where cosmos fails it with its message;
- a retried or cleared node task (try 2 and later) resumes on a worker, where cosmos's fallback
  runs dbt for that node alone: the "retry one model from the UI" of the watcher mode.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from cosmos.listeners.dag_run_listener import EventStatus
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.state import (
    ProducerTaskState,
    get_dbt_event_xcom_key,
    get_status_xcom_key,
    is_dbt_node_status_failed,
    is_dbt_node_status_skipped,
    is_dbt_node_status_success,
)
from cosmos.operators._watcher.triggerer import WatcherEventReason, WatcherTrigger

from citysafety.orchestrate.producer import STATUSES_KEY, TRY_FIELD

CLASSPATH = f"{__name__}.NodeTrigger"
# The method a node task resumes with on a worker: cosmos's own, which fails a failed node with
# its message and runs the node alone when told the producer will not report it.
NEXT_METHOD = "execute_complete"
# Producer states in which it never ran: what it depends on failed.
_PRODUCER_NEVER_RAN = frozenset({"upstream_failed", "removed"})
# Task states after which a task will not run again by itself in this try of the run.
_ENDED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
_UPSTREAM_BROKEN = frozenset({"failed", "upstream_failed"})


class _RunView:
    """What the node tasks of one run wait on, read once a poll for all of them (they share the
    triggerer's event loop): the producer's state, then its statuses (`producer.STATUSES_KEY`).
    In that order: the producer pushes every status before it ends, so statuses read after a
    finished state are complete."""

    _runs: dict[tuple[str, str, str], _RunView] = {}

    def __init__(self, key: tuple[str, str, str]) -> None:
        self.key = key
        self.lock = asyncio.Lock()
        self.read_at = float("-inf")
        self.producer: str | None = None
        self.statuses: dict[str, Any] = {}
        self.waiting = 0

    @classmethod
    def join(cls, key: tuple[str, str, str]) -> _RunView:
        view = cls._runs.get(key) or cls._runs.setdefault(key, cls(key))
        view.waiting += 1
        return view

    def leave(self) -> None:
        self.waiting -= 1
        if self.waiting <= 0:
            self._runs.pop(self.key, None)

    async def refresh(self, trigger: NodeTrigger, force: bool = False) -> None:
        async with self.lock:
            if not force and time.monotonic() - self.read_at < trigger.poke_interval * 0.9:
                return
            producer = await trigger._get_producer_task_status()
            statuses = await trigger.get_xcom_val_af3(STATUSES_KEY)
            self.producer, self.statuses = producer, statuses if isinstance(statuses, dict) else {}
            self.read_at = time.monotonic()


class NodeTrigger(WatcherTrigger):
    """cosmos's WatcherTrigger, started by the scheduler and ending its task itself."""

    def __init__(self, model_unique_id: str, producer_task_id: str, dag_id: str,
                 poke_interval: float, is_test_sensor: bool,
                 upstream_task_ids: list[str] | None = None, **_: Any):
        # The run and map index come from the task instance the triggerer gives the trigger (a
        # trigger started by the scheduler has no rendered kwargs of its run).
        super().__init__(model_unique_id=model_unique_id, producer_task_id=producer_task_id,
                         dag_id=dag_id, run_id="", map_index=None, poke_interval=poke_interval,
                         is_test_sensor=is_test_sensor)
        self.upstream_task_ids = list(upstream_task_ids or [])

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return CLASSPATH, {
            "model_unique_id": self.model_unique_id,
            "producer_task_id": self.producer_task_id,
            "dag_id": self.dag_id,
            "poke_interval": self.poke_interval,
            "is_test_sensor": self.is_test_sensor,
            "upstream_task_ids": self.upstream_task_ids,
        }

    async def run(self) -> AsyncIterator[Any]:
        """Wait for the node's status from the producer and end the task with it.

        The node tasks wait from the run's start (trigger rule `always`, see `start_in_triggerer`)
        and read the producer's statuses through one shared poll per run (`_RunView`): each ends
        a poll after dbt reports its node, not a scheduler and a triggerer loop after its
        upstream tasks ended, level after level. A retried or cleared node (try 2 and later)
        first waits for its upstream node tasks and the producer, as the lineage edges would.
        """
        from airflow.triggers.base import TaskSkippedEvent, TaskSuccessEvent, TriggerEvent

        ti = self.task_instance
        self.run_id = ti.run_id
        self.map_index = ti.map_index
        view = _RunView.join(self._run_key())
        try:
            if ti.try_number > 1:
                async for event in self._after_upstream(view, ti.try_number):
                    yield event
                return
            while True:
                await view.refresh(self)
                status = view.statuses.get(self._status_key())
                if is_dbt_node_status_success(status):
                    await self._log_node_result()
                    yield TaskSuccessEvent()
                    return
                if is_dbt_node_status_skipped(status):
                    await self._log_node_result()
                    yield TaskSkippedEvent()
                    return
                if is_dbt_node_status_failed(status):
                    # On a worker, cosmos fails the task with dbt's message (and Airflow retries it).
                    yield TriggerEvent({"status": EventStatus.FAILED,
                                        "reason": WatcherEventReason.NODE_FAILED})
                    return
                producer = view.producer
                if producer == ProducerTaskState.FAILED:
                    yield TriggerEvent({"status": EventStatus.FAILED,
                                        "reason": WatcherEventReason.PRODUCER_FAILED})
                    return
                if producer in _PRODUCER_NEVER_RAN:
                    # What the producer needed failed (prepare_build, the freshness check): the
                    # build did not happen and the run has failed there already.
                    self.log.info("The dbt build did not run (producer %s).", producer)
                    yield TaskSkippedEvent()
                    return
                if producer == ProducerTaskState.SKIPPED:
                    yield TriggerEvent({"status": EventStatus.FAILED,
                                        "reason": WatcherEventReason.PRODUCER_SKIPPED})
                    return
                if producer == ProducerTaskState.SUCCESS:
                    # The producer pushes every status before it ends (orchestrate/producer.py),
                    # and its state is read before its statuses: a node it did not report was
                    # not selected by the run's plan (or is ephemeral): its table stands as built
                    # before. Success, as cosmos has it: a skip would skip the gate and the
                    # publish after it.
                    self.log.info("%s was not in this build's selection (not downstream of the "
                                  "feeds that changed, see plan_build): its table is the last "
                                  "build's.", self.model_unique_id)
                    yield TaskSuccessEvent()
                    return
                await asyncio.sleep(self.poke_interval)
        finally:
            view.leave()

    async def _after_upstream(self, view: _RunView, try_number: int) -> AsyncIterator[Any]:
        """A retry or a clear: once the upstream node tasks and the producer have ended, a
        producer that ran again for this try has built the node; otherwise dbt runs this node
        alone on a worker (cosmos's fallback)."""
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
        from airflow.triggers.base import TaskFailedEvent, TaskSuccessEvent, TriggerEvent

        waited_for = [*self.upstream_task_ids, self.producer_task_id]
        while True:
            states = (await sync_to_async(RuntimeTaskInstance.get_task_states)(
                dag_id=self.dag_id, task_ids=waited_for, run_ids=[self.run_id])).get(self.run_id, {})
            if all(str(states.get(t)) in _ENDED for t in waited_for):
                break
            await asyncio.sleep(self.poke_interval)
        failed = [t for t in self.upstream_task_ids if str(states.get(t)) in _UPSTREAM_BROKEN]
        if failed:
            self.log.info("Try %s of %s: upstream %s did not succeed; not run.", try_number,
                          self.model_unique_id, ", ".join(failed))
            yield TaskFailedEvent()
            return
        await view.refresh(self, force=True)
        if (view.statuses.get(TRY_FIELD, 0) >= try_number
                and is_dbt_node_status_success(view.statuses.get(self._status_key()))):
            self.log.info("Try %s of %s: built by the producer's try %s.", try_number,
                          self.model_unique_id, view.statuses[TRY_FIELD])
            yield TaskSuccessEvent()
            return
        self.log.info("Try %s of %s: dbt runs this node alone, on a worker.",
                      try_number, self.model_unique_id)
        yield TriggerEvent({"status": EventStatus.FAILED,
                            "reason": WatcherEventReason.PRODUCER_SKIPPED})

    def _run_key(self) -> tuple[str, str, str]:
        return self.dag_id, self.run_id, self.producer_task_id

    def _status_key(self) -> str:
        if self.is_test_sensor:
            return get_tests_status_xcom_key(self.model_unique_id)
        return get_status_xcom_key(self.model_unique_id)

    async def _log_node_result(self) -> None:
        """The node's line from the producer's dbt run, in this task's log."""
        if self.is_test_sensor:
            return  # the tests' results are aggregated; their lines are in the producer's log
        result = await self.get_xcom_val_af3(get_dbt_event_xcom_key(self.model_unique_id)) or {}
        self.log.info("dbt %s: %s (%s → %s) %s", self.model_unique_id, result.get("status"),
                      result.get("start_time"), result.get("finish_time"), result.get("msg") or "")


def start_in_triggerer(task, timeout: dt.timedelta | None, upstream_nodes: list[str]) -> None:
    """Have the scheduler hand this cosmos node task straight to a NodeTrigger when the run
    starts.

    The trigger rule `always` lets the node task start with the run instead of after its upstream
    node tasks; the lineage edges stay (the graph, clearing a model with what is downstream of
    it), and the order they stand for is kept where it matters: in the producer's one `dbt build`
    and, for a retry or a clear, by the trigger waiting for `upstream_nodes`.
    """
    from airflow.task.trigger_rule import TriggerRule
    from airflow.triggers.base import StartTriggerArgs

    task.trigger_rule = TriggerRule.ALWAYS
    task.start_from_trigger = True
    task.start_trigger_args = StartTriggerArgs(
        trigger_cls=CLASSPATH,
        next_method=NEXT_METHOD,
        trigger_kwargs={
            "model_unique_id": task.model_unique_id,
            "producer_task_id": task.producer_task_id,
            "dag_id": task.dag_id,
            "poke_interval": task.poke_interval,
            "is_test_sensor": task.is_test_sensor,
            "upstream_task_ids": sorted(upstream_nodes),
        },
        timeout=timeout,
    )
