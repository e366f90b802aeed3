"""Test-wide settings: tests land a file and ingest it at once, so nothing is "still being
written" (CITYSAFETY_LANDING_QUIET_SECONDS=0; set in os.environ so that the Airflow runs the
pipeline tests start inherit it). tests/test_hostile.py sets it back where it tests the wait."""

import os

os.environ.setdefault("CITYSAFETY_LANDING_QUIET_SECONDS", "0")
