"""The registry (citysafety/sources.py) drives what dbt does with it, without a build: dbt's
generated copy of it (dbt_project/macros/registry.sql) is in step, every declared choice list is
an erroring test of the staging column, and "latest version wins" reads the registry's key and
latest_wins (macros/latest_version.sql)."""

from __future__ import annotations

import re

import yaml

from citysafety import sources as S
from citysafety.config import DBT_PROJECT_DIR

STAGING = DBT_PROJECT_DIR / "models" / "staging"


def test_dbt_copy_of_the_registry_is_in_step():
    path = DBT_PROJECT_DIR / S.DBT_REGISTRY_FILE
    assert path.read_text(encoding="utf-8") == S.dbt_registry_text(), (
        "dbt_project/macros/registry.sql is behind citysafety/sources.py: run `python -m citysafety.sources dbt`")
    assert S.main(["dbt", "--check"]) == 0


def _staging_columns(feed: S.Feed) -> dict[str, dict]:
    [path] = STAGING.glob(f"*/stg_{feed.id}.yml")
    [model] = [m for m in yaml.safe_load(path.read_text(encoding="utf-8"))["models"] if m["name"] == f"stg_{feed.id}"]
    return {c["name"]: c for c in model.get("columns", [])}


# Declared choices whose other spellings the agreement flags rather than rejects
# (Column.strict=False; 蓝色 reads 蓝 in int_risk_points_assessed): the dbt test warns.
LENIENT = {f"stg_{f.id}.{c.name}" for f in S.all_feeds() for c in f.columns if c.choices and not c.strict}
assert LENIENT == {"stg_safety_office__risk_points.risk_level"}


def test_every_declared_choice_list_is_an_erroring_test_of_the_staging_column():
    missing = []
    for feed in S.all_feeds():
        columns = _staging_columns(feed)
        for column in (c for c in feed.columns if c.choices):
            tests = columns.get(column.name, {}).get("data_tests", [])
            registry = [t["registry_choices"] for t in tests if isinstance(t, dict) and "registry_choices" in t]
            # the list is the registry's: no accepted_values of its own beside it
            own = [t for t in tests if isinstance(t, dict) and "accepted_values" in t]
            where = f"stg_{feed.id}.{column.name}"
            severity = "warn" if where in LENIENT else "error"
            if (len(registry) != 1 or registry[0]["arguments"] != {"feed": feed.id}
                    or registry[0].get("config", {}).get("severity", "error") != severity or own):
                missing.append(where)
    assert not missing, ("each needs exactly one `registry_choices: {arguments: {feed: <id>}, config: "
                         "{severity: error}}` and no accepted_values list of its own: " + ", ".join(missing))


def test_the_registry_declares_a_key_and_what_wins_for_every_feed():
    for feed in S.all_feeds():
        names = {c.name for c in feed.columns} | {"_source_file", "_loaded_at"}
        assert feed.key and set(feed.key) <= names, feed.id
        assert feed.latest_wins in names, feed.id


def test_latest_version_is_written_once():
    """No intermediate model orders versions by hand: row_number() over a feed's key is the macro."""
    by_hand = []
    for path in sorted((DBT_PROJECT_DIR / "models" / "intermediate").glob("*_deduplicated.sql")):
        sql = path.read_text(encoding="utf-8")
        if "latest_version(" not in sql or re.search(r"row_number\(\)\s+over", sql):
            by_hand.append(path.name)
    assert not by_hand, by_hand


def test_the_street_list_is_held_once():
    """The seed dbt_project/seeds/streets.csv is the list of the streets: no quality suite, dbt
    model or dbt test spells the codes out again (they read it: citysafety.streets.street_codes(),
    ref('streets'), or street_codes() of the generated macros/registry.sql, checked above)."""
    from citysafety.config import EXPECTATIONS_DIR
    from citysafety.streets import street_codes

    codes = street_codes()
    spelled = re.compile(r"\b" + r"\W+".join(re.escape(c) for c in codes[:3]) + r"\b")
    places = [*EXPECTATIONS_DIR.rglob("*.py"), *(DBT_PROJECT_DIR / p for p in ("models", "tests", "macros", "seeds"))]
    files = [f for p in places for f in ([p] if p.is_file() else p.rglob("*"))
             if f.suffix in (".py", ".sql", ".yml") and f != DBT_PROJECT_DIR / S.DBT_REGISTRY_FILE]
    repeated = [str(f.relative_to(DBT_PROJECT_DIR.parent)) for f in files if spelled.search(f.read_text(encoding="utf-8"))]
    assert not repeated, repeated


def test_the_action_plan_years_are_dbt_vars():
    """BASE_YEAR / TARGET_YEAR are dbt_project.yml's vars; the quality suite reads them."""
    from citysafety.config import EXPECTATIONS_DIR, dbt_project_vars

    assert dbt_project_vars()["baseline_year"] < dbt_project_vars()["target_year"]
    suite = (EXPECTATIONS_DIR / "marts" / "kpi_safety_targets.py").read_text(encoding="utf-8")
    assert "2016" not in suite and "dbt_project_vars()" in suite


def test_the_feeds_that_deliver_a_street_are_the_registrys():
    """int_street_values_delivered reads every feed the registry says delivers a street
    (registry_feed_list's street_column, generated from the columns), none listed by hand; and
    the 数据健康 table's feeds, names and cadences are the registry's too."""
    listed = {(f["source"], f["feed"]) for f in S.dbt_feed_list() if f["street_column"]}
    declared = {(f.source, f.feed) for f in S.all_feeds() if any(c.name == S.STREET_COLUMN for c in f.columns)}
    assert listed == declared and len(listed) == 9  # the seven first feeds, demonstration and trainings
    for model in ("intermediate/int_street_values_delivered.sql", "marts/rpt_data_health_feeds.sql"):
        sql = (DBT_PROJECT_DIR / "models" / model).read_text(encoding="utf-8")
        assert "registry_feed_list()" in sql, model
        assert not re.search(r"ref\('stg_\w+'\)", sql) and "'fires'" not in sql, f"{model} lists feeds by hand"
    assert [(f["source"], f["feed"], f["cadence_days"]) for f in S.dbt_feed_list()] == [
        (f.source, f.feed, f.cadence.days) for f in S.all_feeds()]
