"""The shared tables the platform publishes, and the version of each one's contract.

The versions live in `dbt_project/shared_tables.yml` (table -> version, since, owner,
description_zh); the columns, types and their descriptions in the dbt YAML beside each mart
model (`dbt_project/models/marts/*.yml`, `contract: {enforced: true}`). A breaking change ships
as a new version published beside the old one for one release (`dbt_project/CHANGELOG.md`);
during that release `relations` maps both published names to their versions.

Used by the exports (the version goes into every manifest) and by the tests that keep the
registry, the dbt contracts and the Chinese labels in step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from citysafety.config import DBT_PROJECT_DIR

SHARED_TABLES_FILE = DBT_PROJECT_DIR / "shared_tables.yml"
MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"
SCHEMA = "marts"


@dataclass(frozen=True)
class SharedTable:
    name: str  # the model, e.g. fct_casualty_events
    version: int  # the version served under the table's own name
    description_zh: str
    owner: str
    since: str = ""
    # published relation name -> version it serves (both names during a version change)
    relations: dict[str, int] = field(default_factory=dict)

    @property
    def qualified(self) -> str:
        return f"{SCHEMA}.{self.name}"

    def relation_versions(self) -> dict[str, int]:
        return dict(self.relations) or {self.name: self.version}


@dataclass(frozen=True)
class MartColumn:
    name: str
    data_type: str
    description: str


def _load(path: Path) -> dict[str, SharedTable]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tables: dict[str, SharedTable] = {}
    for name, spec in (doc.get("tables") or {}).items():
        version = spec.get("version")
        if not isinstance(version, int) or version < 1:
            raise ValueError(f"{path}: {name}: version must be a whole number >= 1, got {version!r}")
        relations = {str(k): int(v) for k, v in (spec.get("relations") or {}).items()}
        if relations and relations.get(name) != version:
            raise ValueError(f"{path}: {name}: relations must serve version {version} as {name}")
        since = spec.get("since", "")
        tables[name] = SharedTable(
            name=name, version=version, description_zh=str(spec.get("description_zh", "")).strip(),
            owner=str(spec.get("owner", "")).strip(),
            since=since.isoformat() if isinstance(since, dt.date) else str(since), relations=relations)
    return tables


@lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int) -> dict[str, SharedTable]:
    del mtime_ns  # cache key only: an edited file is read again
    return _load(Path(path))


def shared_tables(path: Path = SHARED_TABLES_FILE) -> dict[str, SharedTable]:
    """Every shared table by name, in the registry's order."""
    return dict(_cached(str(path), path.stat().st_mtime_ns))


def shared_table(name: str) -> SharedTable:
    """One shared table (`fct_casualty_events` or `marts.fct_casualty_events`)."""
    short = name.split(".", 1)[1] if name.startswith(f"{SCHEMA}.") else name
    try:
        return shared_tables()[short]
    except KeyError:
        raise KeyError(f"{name!r} is not a shared table (dbt_project/shared_tables.yml)") from None


def version_of(name: str) -> int:
    return shared_table(name).version


def published_relations(present: set[str] | list[str]) -> list[tuple[SharedTable, str, int]]:
    """The shared relations among `present` (relation names of the published `marts` schema):
    (table, relation, version), in the registry's order. Tables not published are left out."""
    have = set(present)
    out = []
    for table in shared_tables().values():
        for relation, version in table.relation_versions().items():
            if relation in have:
                out.append((table, relation, version))
    return out


def published_tables(db: Path) -> dict[str, int]:
    """`marts.<relation>` -> version for every shared relation in a published warehouse file."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        present = {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = ?", [SCHEMA]).fetchall()}
    finally:
        con.close()
    return {f"{SCHEMA}.{relation}": version for _, relation, version in published_relations(present)}


def mart_contracts(models_dir: Path = MARTS_DIR) -> dict[str, list[MartColumn]]:
    """The mart models whose contract is enforced, with their columns as the dbt YAML says."""
    files = tuple((str(p), p.stat().st_mtime_ns) for p in sorted(models_dir.glob("*.yml")))
    return dict(_mart_contracts(files))


@lru_cache(maxsize=4)
def _mart_contracts(files: tuple[tuple[str, int], ...]) -> dict[str, list[MartColumn]]:
    found: dict[str, list[MartColumn]] = {}
    for path in (Path(f) for f, _ in files):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in doc.get("models") or []:
            contract = ((model.get("config") or {}).get("contract") or {})
            if not contract.get("enforced"):
                continue
            found[model["name"]] = [
                MartColumn(c["name"], str(c.get("data_type", "")), " ".join(str(c.get("description", "")).split()))
                for c in model.get("columns") or []]
    return found
