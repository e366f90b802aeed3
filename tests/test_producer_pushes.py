"""The build producer's XCom pushes (citysafety.orchestrate.producer): made by one thread while
dbt goes on, in the order dbt reported them, all of them before the producer's dbt run ends, and
a failed push fails the producer instead of leaving a node task without its status."""

from __future__ import annotations

import threading
import time

import pytest

from citysafety.orchestrate import producer


def test_pushes_keep_their_order_and_are_all_made_when_closed():
    made, callers = [], set()

    def push(task_instance, key, value):
        time.sleep(0.001)  # slower than dbt reports: the queue fills, nothing is dropped
        callers.add(threading.current_thread().name)
        made.append((task_instance, key, value))

    pusher = producer._Pusher(push)
    for i in range(200):
        pusher("ti", f"node_{i % 7}_status", i)
    pusher.close()
    assert made == [("ti", f"node_{i % 7}_status", i) for i in range(200)]
    assert callers == {"cosmos-xcom-pusher"}  # not the thread dbt runs on
    assert pusher.error is None


def test_a_failed_push_is_kept_and_the_others_still_made():
    made = []

    def push(task_instance, key, value):
        if value == 3:
            raise ConnectionError("API server gone")
        made.append(value)

    pusher = producer._Pusher(push)
    for i in range(6):
        pusher("ti", "k", i)
    pusher.close()
    assert made == [0, 1, 2, 4, 5]
    with pytest.raises(ConnectionError):
        raise pusher.error
