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
from collections.abc import AsyncIterator
from typing import Any

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

CLASSPATH = f"{__name__}.NodeTrigger"
# The method a node task resumes with on a worker: cosmos's own, which fails a failed node with
# its message and runs the node alone when told the producer will not report it.
NEXT_METHOD = "execute_complete"


class NodeTrigger(WatcherTrigger):
    """cosmos's WatcherTrigger, started by the scheduler and ending its task itself."""

    def __init__(self, model_unique_id: str, producer_task_id: str, dag_id: str,
                 poke_interval: float, is_test_sensor: bool, **_: Any):
        # The run and map index come from the task instance the triggerer gives the trigger (a
        # trigger started by the scheduler has no rendered kwargs of its run).
        super().__init__(model_unique_id=model_unique_id, producer_task_id=producer_task_id,
                         dag_id=dag_id, run_id="", map_index=None, poke_interval=poke_interval,
                         is_test_sensor=is_test_sensor)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return CLASSPATH, {
            "model_unique_id": self.model_unique_id,
            "producer_task_id": self.producer_task_id,
            "dag_id": self.dag_id,
            "poke_interval": self.poke_interval,
            "is_test_sensor": self.is_test_sensor,
        }

    async def run(self) -> AsyncIterator[Any]:
        """Wait for the node's status in the producer's XComs and end the task with it.

        One call to the API server a poll (the node's status), the producer's state only while
        the status is missing: cosmos's trigger also asks for the producer's state, its dbt
        version lines and the compiled SQL on every poll, several calls a node, served by the
        triggerer on the machine's second core beside dbt.
        """
        from airflow.triggers.base import TaskSkippedEvent, TaskSuccessEvent, TriggerEvent

        ti = self.task_instance
        self.run_id = ti.run_id
        self.map_index = ti.map_index
        if ti.try_number > 1:
            self.log.info("Try %s of %s: dbt runs this node alone, on a worker.",
                          ti.try_number, self.model_unique_id)
            yield TriggerEvent({"status": EventStatus.FAILED,
                                "reason": WatcherEventReason.PRODUCER_SKIPPED})
            return
        while True:
            status = await self._node_status()
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
            producer = await self._get_producer_task_status()
            if producer == ProducerTaskState.FAILED:
                yield TriggerEvent({"status": EventStatus.FAILED,
                                    "reason": WatcherEventReason.PRODUCER_FAILED})
                return
            if producer == ProducerTaskState.SKIPPED:
                yield TriggerEvent({"status": EventStatus.FAILED,
                                    "reason": WatcherEventReason.PRODUCER_SKIPPED})
                return
            if producer == ProducerTaskState.SUCCESS:
                # The producer pushes every status before it ends (orchestrate/producer.py): a
                # node it did not report was not selected by the run's plan (or is ephemeral):
                # its table stands as built before. Success, as cosmos has it: a skip would skip
                # the gate and the publish after it.
                self.log.info("%s was not in this build's selection (not downstream of the feeds "
                              "that changed, see plan_build): its table is the last build's.",
                              self.model_unique_id)
                yield TaskSuccessEvent()
                return
            await asyncio.sleep(self.poke_interval)

    async def _node_status(self) -> str | None:
        # The XCom read without cosmos's info line for every poll (each a line in the task's log,
        # written by the triggerer).
        if self.is_test_sensor:
            return await self.get_xcom_val_af3(get_tests_status_xcom_key(self.model_unique_id))
        value = await self.get_xcom_val_af3(get_status_xcom_key(self.model_unique_id))
        return value.get("status") if isinstance(value, dict) else value

    async def _log_node_result(self) -> None:
        """The node's line from the producer's dbt run, in this task's log."""
        if self.is_test_sensor:
            return  # the tests' results are aggregated; their lines are in the producer's log
        result = await self.get_xcom_val_af3(get_dbt_event_xcom_key(self.model_unique_id)) or {}
        self.log.info("dbt %s: %s (%s → %s) %s", self.model_unique_id, result.get("status"),
                      result.get("start_time"), result.get("finish_time"), result.get("msg") or "")


def start_in_triggerer(task, timeout: dt.timedelta | None) -> None:
    """Have the scheduler hand this cosmos node task straight to a NodeTrigger."""
    from airflow.triggers.base import StartTriggerArgs

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
        },
        timeout=timeout,
    )
