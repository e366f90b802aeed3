"""Test-wide settings: tests land a file and ingest it at once, so nothing is "still being
written" (CITYSAFETY_LANDING_QUIET_SECONDS=0; set in os.environ so that the Airflow runs the
pipeline tests start inherit it). tests/test_hostile.py sets it back where it tests the wait."""

import os

os.environ.setdefault("CITYSAFETY_LANDING_QUIET_SECONDS", "0")

# The longest test files, longest first (measured with CITYSAFETY_TEST_TIMELINE, below, on 2 cores;
# every file of 8 s or more in the run of 2026-12-05): `make test` runs a file per
# worker (--dist loadfile) in collection order (--no-loadscope-reorder: xdist otherwise sorts
# files by their number of tests), and a long file handed out last (test_resilience, few tests)
# ran alone for minutes while the other worker sat idle.
LONGEST_FIRST = ["test_pipeline.py", "test_celery.py", "test_resilience.py", "test_dashboard_browser.py",
                 "test_access.py", "test_resend.py", "test_services.py", "test_boundary.py",
                 "test_ranking_features.py", "test_signin.py", "test_briefing.py",
                 "test_dashboard_overview.py", "test_sensors.py", "test_enterprises_risk_points.py",
                 "test_inspections.py", "test_dashboard_data_health.py", "test_dashboard_enforcement.py",
                 "test_respond.py", "test_dbt_unit_tests.py", "test_emergency.py", "test_data_docs.py",
                 "test_dashboard_monitoring.py", "test_dashboard_risk.py", "test_dashboard_hazards.py",
                 "test_dashboard_emergency.py", "test_alarm_responses.py", "test_demo_generator.py",
                 "test_operations.py", "test_education.py", "test_grid.py", "test_landing.py"]


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep order


# With CITYSAFETY_TEST_TIMELINE=<file>, each test's worker, start and end (setup to teardown) are
# appended to that file as JSON lines: where a run's time goes, worker by worker.
_TIMELINE = os.environ.get("CITYSAFETY_TEST_TIMELINE")
_started: dict[str, float] = {}


def pytest_runtest_logstart(nodeid, location):
    if _TIMELINE:
        import time

        _started[nodeid] = time.time()


def pytest_runtest_logfinish(nodeid, location):
    if _TIMELINE and nodeid in _started:
        import json
        import time

        line = json.dumps({"test": nodeid, "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
                           "start": _started.pop(nodeid), "end": time.time()})
        with open(_TIMELINE, "a", encoding="utf-8") as out:
            out.write(line + "\n")
