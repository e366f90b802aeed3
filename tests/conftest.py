"""Test-wide settings: tests land a file and ingest it at once, so nothing is "still being
written" (CITYSAFETY_LANDING_QUIET_SECONDS=0; set in os.environ so that the Airflow runs the
pipeline tests start inherit it). tests/test_hostile.py sets it back where it tests the wait."""

import os

os.environ.setdefault("CITYSAFETY_LANDING_QUIET_SECONDS", "0")

# The longest test files, longest first (`--durations`, 2 cores): `make test` runs a file per
# worker (--dist loadfile) in collection order (--no-loadscope-reorder: xdist otherwise sorts
# files by their number of tests), and a long file handed out last (test_resilience, few tests)
# ran alone for minutes while the other worker sat idle.
LONGEST_FIRST = ["test_pipeline.py", "test_resilience.py", "test_access.py", "test_dashboard_browser.py",
                 "test_resend.py", "test_briefing.py", "test_inspections.py",
                 "test_enterprises_risk_points.py", "test_sensors.py", "test_boundary.py",
                 "test_emergency.py", "test_hostile.py", "test_dbt_unit_tests.py"]


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep order
