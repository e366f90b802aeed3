"""The versions of the shared tables, without a build: the registry (dbt_project/shared_tables.yml),
the dbt model versions, the lock of published columns (dbt_project/contracts.lock.json), the
quality suites, the Chinese labels and the changelog agree.

The published warehouse itself is checked against the lock in tests/test_access.py (after its
real build): both versions of a table changing version are published, agree row for row and
reach exactly the principals entitled to the table.
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from citysafety.share import contracts, labels
from citysafety.mart import quality
from citysafety.config import DBT_PROJECT_DIR

CHANGELOG = DBT_PROJECT_DIR / "CHANGELOG.md"


def test_the_lock_is_in_step_with_the_contracts():
    """Any change to the columns or types of a published relation fails here until the lock is
    rewritten, and `python -m citysafety.share.contracts lock` refuses to lock an in-place change."""
    locked, current = contracts.read_lock(), contracts.contract_lock()
    problems = contracts.lock_problems(locked, current)
    assert not problems, "a published version changed in place:\n" + "\n".join(problems)
    assert locked == current, ("dbt_project/contracts.lock.json is behind the contracts (nothing published "
                               "changes in place): run `python -m citysafety.share.contracts lock`")
    assert contracts.main(["check"]) == 0


def _retyped(lock, relation, column, new_type):
    out = copy.deepcopy(lock)
    out[relation]["columns"] = [[c, new_type if c == column else t] for c, t in out[relation]["columns"]]
    return out


def test_lock_problems_refuse_in_place_changes_of_a_published_version():
    lock = contracts.read_lock()
    v1, v2 = "marts.fct_inspections", "marts.fct_inspections_v2"
    assert contracts.lock_problems(lock, lock) == []
    # Removed, renamed, retyped, reordered: each is a breaking change of version 1 in place.
    dropped = copy.deepcopy(lock)
    dropped[v1]["columns"] = [c for c in dropped[v1]["columns"] if c[0] != "penalty_10k_yuan"]
    renamed = copy.deepcopy(lock)
    renamed[v1]["columns"] = [["penalty_wan_yuan" if c == "penalty_10k_yuan" else c, t] for c, t in renamed[v1]["columns"]]
    reordered = copy.deepcopy(lock)
    reordered[v1]["columns"] = reordered[v1]["columns"][1:] + reordered[v1]["columns"][:1]
    for changed in (dropped, renamed, reordered, _retyped(lock, v1, "penalty_yuan", "DECIMAL(18,2)")):
        [problem] = contracts.lock_problems(lock, changed)
        assert problem.startswith(f"{v1} (version 1) changed in place") and "new version" in problem
    # Not breaking (CHANGELOG.md): a column added at the end, a new relation.
    appended = copy.deepcopy(lock)
    appended[v1]["columns"].append(["penalty_decided_on", "DATE"])
    assert contracts.lock_problems(lock, appended) == []
    without_v2 = {r: e for r, e in lock.items() if r != v2}
    assert contracts.lock_problems(without_v2, lock) == []
    # Version 2 dropped while version 1 still holds the name: its readers lose it.
    assert contracts.lock_problems(lock, without_v2) == [f"{v2}: version 2 of fct_inspections is no longer published"]
    # The end of the overlap: the name serves version 2, which was published beside it.
    retired = {**without_v2, v1: copy.deepcopy(lock[v2])}
    assert contracts.lock_problems(lock, retired) == []
    # ...but a version may not take a name without that release beside it.
    assert contracts.lock_problems(without_v2, retired) == [
        f"{v1}: version 2 replaces version 1 without having been published beside it for a release (CHANGELOG.md)"]
    jumped = copy.deepcopy(lock)
    jumped["marts.fct_casualty_events"]["version"] = 2
    assert len(contracts.lock_problems(lock, jumped)) == 1


def test_every_version_of_a_shared_model_is_registered_and_published():
    """shared_tables.yml lists each relation of a versioned model with its dbt version; the
    version under the table's own name is the registry's `version` and dbt's latest_version
    (so an unpinned ref('<table>') reads what departments read under that name)."""
    relations = contracts.mart_relations()
    for name, table in contracts.shared_tables().items():
        mine = {r.relation: r for r in relations.values() if r.model == name}
        assert set(mine) == set(table.relation_versions()), name
        own = mine[name]
        if own.version is None:
            assert table.relations == {} and table.version >= 1, name
            continue
        assert {r: m.version for r, m in mine.items()} == table.relation_versions(), name
        assert own.version == table.version and own.latest, f"{name}: latest_version must be {table.version}"
        for relation, rel in mine.items():
            assert rel.columns and (relation == name or relation == f"{name}_v{rel.version}"), relation
            assert (DBT_PROJECT_DIR / "models" / "marts" / f"{relation}.sql").exists(), relation
    inspections = contracts.shared_table("fct_inspections")
    assert inspections.relation_versions() == {"fct_inspections": 1, "fct_inspections_v2": 2}
    doc = yaml.safe_load((DBT_PROJECT_DIR / "models" / "marts" / "fct_inspections.yml").read_text(encoding="utf-8"))
    [model] = doc["models"]
    assert model["latest_version"] == 1 and "grain" in model["description"].lower()
    v1 = next(v for v in model["versions"] if v["v"] == 1)
    assert v1["defined_in"] == "fct_inspections" and v1["config"]["alias"] == "fct_inspections"
    key = next(c for c in model["columns"] if c["name"] == "inspection_id")
    assert {"unique", "not_null"} <= set(key["data_tests"])  # inherited by both versions
    assert [c.name for c in contracts.relation_contracts()["fct_inspections_v2"]] == [
        c.name for c in contracts.mart_contracts()["fct_inspections"] if c.name != "penalty_10k_yuan"]


CJK = re.compile("[\u4e00-\u9fff]")


def test_every_published_column_is_described_in_chinese():
    """The XLSX 说明 sheets, Data Docs and pages share the contract's column descriptions: each
    has Chinese for the person reading it (issue 13), the English beside it for engineers."""
    missing = [f"{relation}.{c.name}" for relation, columns in contracts.relation_contracts().items()
               for c in columns if not CJK.search(c.description)]
    assert missing == []


def test_every_gate_check_has_a_chinese_title():
    """数据健康 names each check of the quality gate in Chinese (the expectation's code stays beside
    it in the downloads): no check of any suite falls back to 其他检查 (issue 13)."""
    types = {e.expectation_type for s in quality.suites() for e in s.module.suite().expectations}
    assert types and sorted(t for t in types if t not in labels.CHECK_TITLES) == []
    assert all(CJK.search(labels.check_title(t)) for t in types)


def test_every_published_relation_has_its_suite_and_labels():
    suites = {s.table: s for s in quality.suites()}
    for table in contracts.shared_tables().values():
        relations = table.relation_versions()
        # every published relation has its suite: the gate checks what departments read
        for relation in relations:
            suite = suites.get(f"marts.{relation}")
            assert suite is not None, f"marts.{relation}: no suite (expectations/marts/{relation}.py)"
            assert suite.module.suite().name == f"marts.{relation}"
    v1, v2 = suites["marts.fct_inspections"].module.suite(), suites["marts.fct_inspections_v2"].module.suite()
    v1_columns = {e.column for e in v1.expectations if hasattr(e, "column")}
    assert {e.column for e in v2.expectations if hasattr(e, "column")} == v1_columns - {"penalty_10k_yuan"}
    for relation, columns in contracts.relation_contracts().items():
        header = [labels.label(relation, c.name) for c in columns]
        assert all(labels.explicit(relation, c.name) for c in columns), relation
        assert len(set(header)) == len(header) and all(re.search(r"[\u4e00-\u9fff]", h) for h in header), relation


def test_the_changelog_announces_every_version_change():
    text = CHANGELOG.read_text(encoding="utf-8")
    for table in contracts.shared_tables().values():
        for relation, version in table.relation_versions().items():
            if relation != table.name:
                assert f"`marts.{relation}`" in text and f"version {version}" in text.lower(), relation
    entry = text[text.index("## 2026-11-29 — `marts.fct_inspections` version 2"):text.index("## 2026-11-29 — version 1")]
    for words in ("penalty_10k_yuan", "2027-01-04", "How to move", "contracts.lock.json", "ref('fct_inspections', v=1)"):
        assert words in entry, words


@pytest.mark.parametrize("declared, duckdb_type", [("varchar", "VARCHAR"), ("double", "DOUBLE"),
                                                   ("timestamp", "TIMESTAMP"), ("decimal(18,2)", "DECIMAL(18,2)")])
def test_declared_types_as_duckdb_names_them(declared, duckdb_type):
    assert contracts.duckdb_type(declared) == duckdb_type
