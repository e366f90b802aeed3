"""The build producer's XCom pushes (citysafety.orchestrate.producer): made by one thread while
dbt goes on, in the order dbt reported them, all of them before the producer's dbt run ends, a
value already pushed under its key is not pushed again, and a failed push fails the producer
instead of leaving a node task without its status. cosmos's dbt callback is called only for the
events it reads."""

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
    nodes = [m for m in made if m[1] != producer.STATUSES_KEY]
    assert nodes == [("ti", f"node_{i % 7}_status", i) for i in range(200)]
    assert callers == {"cosmos-xcom-pusher"}  # not the thread dbt runs on
    assert pusher.error is None


def test_the_statuses_so_far_follow_as_one_xcom_each_time_the_thread_catches_up():
    """What the node tasks read with one call a poll: every status pushed before it, the last
    one after the last status, and the producer's try."""
    made = []

    def push(task_instance, key, value):
        time.sleep(0.001)
        made.append((key, value))

    pusher = producer._Pusher(push, try_number=2)
    for i in range(60):
        pusher("ti", f"model__m{i % 9}_status", {"status": "success" if i % 2 else "failed"})
        pusher("ti", f"model__m{i % 9}_dbt_event", {"i": i})  # not a status
        pusher("ti", f"model__m{i % 9}_tests_status", "pass")
    pusher("ti", "task_status", "completed")  # cosmos's end of the producer, not a node's
    pusher.close()
    assert made[-1][0] == producer.STATUSES_KEY
    aggregates = [n for n, (key, _) in enumerate(made) if key == producer.STATUSES_KEY]
    assert 1 <= len(aggregates) <= 180
    for n in aggregates:  # each holds exactly the statuses pushed before it
        before = {}
        for key, value in made[:n]:
            if key.endswith("_status") and key != "task_status":
                before[key] = value["status"] if isinstance(value, dict) else value
        assert made[n][1] == {**before, producer.TRY_FIELD: 2}
    assert made[-1][1]["model__m8_status"] == "success"  # the last of m8's (i = 53)
    assert len(made[-1][1]) == 9 * 2 + 1


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


def test_a_value_already_pushed_under_its_key_is_not_pushed_again():
    made = []
    pusher = producer._Pusher(lambda task_instance, key, value: made.append((key, value)))
    for value in ({"status": "success"}, {"status": "success"}, {"status": "failed"},
                  {"status": "success"}):
        pusher("ti", "model__m_status", value)
    pusher("ti", "model__m_compiled_sql", "select 1")
    pusher("ti", "model__m_compiled_sql", "select 1")
    pusher.close()
    nodes = [m for m in made if m[0] != producer.STATUSES_KEY]
    assert nodes == [("model__m_status", {"status": "success"}), ("model__m_status", {"status": "failed"}),
                     ("model__m_status", {"status": "success"}), ("model__m_compiled_sql", "select 1")]


def test_cosmos_callback_gets_the_events_of_the_task_log_and_the_debug_events_it_reads():
    """Real dbt events: the info ones (the task log's lines) and a node's end pass; the debug
    traffic of connections and queries does not."""
    from dbt.adapters.events.types import ConnectionUsed, SQLQuery
    from dbt.events.types import LogStartLine, MainReportVersion, NodeFinished
    from dbt_common.events.base_types import msg_from_base_event

    producer.tune()
    seen = []
    callback = producer._only_events_read(lambda event: seen.append(event.info.name))
    for event in (MainReportVersion(version="1", log_version=3), SQLQuery(conn_name="a", sql="select 1"),
                  LogStartLine(description="model m", index=1, total=1), NodeFinished(),
                  ConnectionUsed(conn_type="duckdb", conn_name="m")):
        callback(msg_from_base_event(event))
    assert seen == ["MainReportVersion", "LogStartLine", "NodeFinished"]
    assert "SQLRunnerException" in producer._DEBUG_EVENTS_READ  # cosmos's error events, whatever level


def test_the_statuses_so_far_are_pushed_at_most_every_half_second_and_the_last_without_waiting_for_dbt():
    """dbt reporting a node every 10 ms: about one aggregate per AGGREGATE_EVERY, not one per
    report; a status reported before a long pause (a model that takes minutes) is pushed when
    its time is up, not when dbt reports again."""
    made = []
    pusher = producer._Pusher(lambda task_instance, key, value: made.append((time.monotonic(), key, value)))
    started = time.monotonic()
    for i in range(100):
        pusher("ti", f"model__m{i}_status", {"status": "success"})
        time.sleep(0.01)
    reported = time.monotonic() - started
    aggregates = [m for m in made if m[1] == producer.STATUSES_KEY]
    assert 1 <= len(aggregates) <= reported / producer.AGGREGATE_EVERY + 2
    assert all(b[0] - a[0] >= producer.AGGREGATE_EVERY - 0.05 for a, b in zip(aggregates, aggregates[1:]))
    time.sleep(producer.AGGREGATE_EVERY + 0.3)  # dbt is quiet: the last statuses still go out
    last = [m for m in made if m[1] == producer.STATUSES_KEY][-1]
    assert len(last[2]) == 100 + 1
    pusher.close()
