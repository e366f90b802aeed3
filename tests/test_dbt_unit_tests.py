"""The dbt unit tests, run here once: the mart's builds leave them out (config.DBT_BUILD_ENV), as
dbt Labs advises for production runs, so CI is where the models' SQL meets its fixtures.

dbt reads the column types of a unit test's inputs from the database: the build copy is prepared
with no delivery (its raw and audit tables empty) and the models built with `--empty` first.
"""

from __future__ import annotations

import json

from citysafety import config
from citysafety.mart import build
from citysafety.mart.dbt_runner import run_dbt


def test_every_dbt_unit_test_passes(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    cfg = config.settings()
    build.prepare_build(cfg)
    run_dbt(["build", "--empty", "--resource-type", "model", "seed"], cfg)
    # run_dbt passes DBT_BUILD_ENV; the explicit selection of unit tests overrides it here.
    run_dbt(["test", "--select", "test_type:unit", "--exclude-resource-type", "analysis"], cfg)
    results = json.loads((cfg.build_dir / "dbt_target" / "run_results.json").read_text())["results"]
    manifest = json.loads((config.DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    ran = {r["unique_id"]: r["status"] for r in results}
    assert set(ran) == set(manifest["unit_tests"]) and len(ran) >= 40
    assert set(ran.values()) == {"pass"}, {k: v for k, v in ran.items() if v != "pass"}
