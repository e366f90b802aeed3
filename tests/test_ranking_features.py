"""No feature of the inspection ranking reads past its as-of date (issue 16).

One platform home, two moments. First the demo's department sources as delivered by the end of
2023-12-31 (the day before the as-of date 2024-01-01) are loaded as the platform loads them
(files ingested; the inspections API served on loopback and the grid database pulled) and dbt
builds the features (`int_enterprise_features_dated` and what it reads) as of 2024-01-01. Then the
same sources nine months on (to 2024-09-30: more accidents, fires, hidden hazards and their
rectifications, inspections and revisions of earlier ones, registry snapshots, the risk
inventory of 2023Q4 delivered on 2024-01-10, sensor readings) are delivered and pulled into the
same home, and the features are built again as of 2024-09-30. Its rows of 2024-01-01 hold the
same units with the same value of every feature as the first build, while the outcome columns,
which read the 12 months from the date, do differ: what happened after the date reaches the
outcome and nothing else.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from citysafety import config
from citysafety import sources as S
from citysafety.land import http_api, sql_table
from citysafety.mart.build import prepare_build
from citysafety.mart.dbt_runner import run_dbt
from citysafety.raw.ingest import ingest_feed
from demo import emb_api, grid_db
from demo import generate as spine
from demo.feeds import enterprises_risk_points, grid, inspections, sensors

pytestmark = pytest.mark.pipeline

AS_OF = date(2024, 1, 1)
LATER = date(2024, 9, 30)
SEED = 20180101
FILE_FEEDS = (S.EMB_ACCIDENTS, S.FIRE_FIRES, S.EMB_ENTERPRISES, S.SAFETY_OFFICE_RISK_POINTS,
              S.feed("emb", "hazard_sources"), S.feed("emb", "sensor_readings"))
FEATURES = [row["feature"] for row in csv.DictReader(
    (config.DBT_PROJECT_DIR / "seeds" / "inspection_risk_features.csv").open(encoding="utf-8"))]
OUTCOME = ["events_next_12m", "had_event_next_12m"]


def _deliver(home, end: date) -> None:
    """The deliveries of the feeds the features read, as they stand at the end of `end` (a later
    end adds files, and moves the inspections' history and the grid database on)."""
    files = spine._build(SEED, end)
    for feed in (S.EMB_ACCIDENTS, S.FIRE_FIRES):
        spine.write_delivered(home, feed, {name: data for (f, name), data in files.items() if f is feed})
    for module in (enterprises_risk_points, sensors, inspections, grid):
        module.generate(home, SEED, end)


def _features(home, monkeypatch, end: date, as_of: date) -> pd.DataFrame:
    """Deliver up to `end`, load what is new, build the features as of `as_of`; the rows of AS_OF."""
    monkeypatch.setenv("CITYSAFETY_HOME", str(home))
    monkeypatch.setenv("CITYSAFETY_AS_OF_DATE", as_of.isoformat())
    cfg = config.settings()
    _deliver(home, end)
    token = (emb_api.data_dir(cfg) / emb_api.TOKEN_FILE).read_text("utf-8").strip()
    with emb_api.DemoAPI(emb_api.data_dir(cfg)) as api:
        assert http_api.pull(S.feed("emb", "inspections"), cfg, base_url=api.url, token=token) is not None
    assert sql_table.pull(S.feed("grid", "hazard_reports"), cfg,
                          url=grid_db.sqlite_uri(grid_db.db_path(cfg))) is not None
    for feed in (*FILE_FEEDS, S.feed("emb", "inspections"), S.feed("grid", "hazard_reports")):
        ingest_feed(feed, cfg)
    prepare_build(cfg)
    # one dbt invocation: the seeds and models the features read (their tests run in the builds)
    run_dbt(["build", "--select", "+int_enterprise_features_dated", "--resource-type", "seed", "model"], cfg)
    con = duckdb.connect(str(cfg.build_db), read_only=True)
    try:
        return con.execute(
            "select * from intermediate.int_enterprise_features_dated where as_of_date = ? order by uscc",
            [AS_OF]).df()
    finally:
        con.close()


def test_no_feature_reads_past_the_as_of_date(tmp_path, monkeypatch):
    known = _features(tmp_path, monkeypatch, AS_OF - timedelta(days=1), AS_OF)
    later = _features(tmp_path, monkeypatch, LATER, LATER)

    # the later world knows more: nine more months of every source the features read
    assert len(known) > 300 and list(known["uscc"]) == list(later["uscc"])
    assert known[OUTCOME[0]].sum() == 0 < later[OUTCOME[0]].sum()
    # ... and none of it reaches a feature of the date
    columns = ["uscc", "unit_name", "street_code", *FEATURES]
    pd.testing.assert_frame_equal(known[columns], later[columns], check_dtype=True)
    # the features are not trivially empty: each source contributes on the date
    totals = known[FEATURES].sum()
    for feature in ("accidents_12m", "fires_12m", "hazards_12m", "major_hazards_12m", "hazards_overdue",
                    "inspections_12m", "findings_12m", "penalties_12m", "risk_points", "uninsured",
                    "sensor_alarms_12m"):
        assert totals[feature] > 0, feature
