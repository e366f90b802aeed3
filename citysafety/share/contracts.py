"""The shared tables the platform publishes, and the version of each one's contract.

The versions live in `dbt_project/shared_tables.yml` (table -> version, since, owner,
description_zh); the columns, types and their descriptions in the dbt YAML beside each mart
model (`dbt_project/models/marts/*.yml`, `contract: {enforced: true}`). A breaking change ships
as a new version published beside the old one for one release (`dbt_project/CHANGELOG.md`);
during that release `relations` maps both published names to their versions.

A model that declares dbt model versions (`versions:` in its YAML) is read version by version:
each version is a published relation (its `alias`, else `<model>_v<v>`) with its own columns
(`relation_contracts()`); `mart_contracts()` keeps one entry per model, the version published
under the model's own name.

`contracts.lock.json` (beside shared_tables.yml) freezes the columns and types of every
published relation and the version it serves. `python -m citysafety.share.contracts check` compares
it with the contracts; `python -m citysafety.share.contracts lock` rewrites it, and refuses a change
that would alter a published version in place (`lock_problems()`): a column removed, renamed,
retyped or moved, or a version taking a table's name without having served beside it first.
Adding columns at the end is allowed (CHANGELOG.md: not breaking).

Used by the exports (the version goes into every manifest) and by the tests that keep the
registry, the dbt contracts, the lock and the Chinese labels in step.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from citysafety.config import DBT_PROJECT_DIR

SHARED_TABLES_FILE = DBT_PROJECT_DIR / "shared_tables.yml"
LOCK_FILE = DBT_PROJECT_DIR / "contracts.lock.json"
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


@dataclass(frozen=True)
class MartRelation:
    """One published relation of a contracted mart model (a version, for a versioned model)."""
    model: str
    relation: str
    version: int | None  # dbt model version; None for an unversioned model
    latest: bool  # the version an unpinned ref('<model>') resolves to (always, unversioned)
    columns: tuple[MartColumn, ...]


def mart_contracts(models_dir: Path = MARTS_DIR) -> dict[str, list[MartColumn]]:
    """The mart models whose contract is enforced, with their columns as the dbt YAML says: for
    a versioned model, those of the version published under the model's own name."""
    out: dict[str, list[MartColumn]] = {}
    for rel in mart_relations(models_dir).values():
        if rel.relation == rel.model or (rel.model not in out and rel.latest):
            out[rel.model] = list(rel.columns)
    return out


def relation_contracts(models_dir: Path = MARTS_DIR) -> dict[str, list[MartColumn]]:
    """Every published relation of a contracted mart (each version of a versioned model) ->
    its columns."""
    return {name: list(rel.columns) for name, rel in mart_relations(models_dir).items()}


def mart_relations(models_dir: Path = MARTS_DIR) -> dict[str, MartRelation]:
    """relation name -> MartRelation, for every mart model whose contract is enforced."""
    files = tuple((str(p), p.stat().st_mtime_ns) for p in sorted(models_dir.glob("*.yml")))
    return dict(_mart_relations(files))


def _column(spec: dict) -> MartColumn:
    return MartColumn(spec["name"], str(spec.get("data_type", "")),
                      " ".join(str(spec.get("description", "")).split()))


def _version_columns(base: list[dict], specs: list[dict] | None) -> list[dict]:
    """The columns of one model version, as dbt derives them (UnparsedModelUpdate.
    get_columns_for_version): the model's columns that the version's `include`/`exclude` entry
    keeps (all by default), then the version's own column entries; an own entry named like a
    model column replaces it in its place."""
    specs = specs or []
    selector = next((c for c in specs if "include" in c or "exclude" in c), {})
    include, exclude = selector.get("include", "all"), set(selector.get("exclude") or [])
    chosen = [c for c in base if (include in ("all", "*") or c["name"] in include) and c["name"] not in exclude]
    own = {c["name"]: c for c in specs if "name" in c}
    merged = [own.pop(c["name"], c) for c in chosen]
    return merged + list(own.values())


@lru_cache(maxsize=4)
def _mart_relations(files: tuple[tuple[str, int], ...]) -> dict[str, MartRelation]:
    found: dict[str, MartRelation] = {}
    for path in (Path(f) for f, _ in files):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in doc.get("models") or []:
            name, config = model["name"], model.get("config") or {}
            base = list(model.get("columns") or [])
            versions = model.get("versions") or []
            if not versions:
                if not (config.get("contract") or {}).get("enforced"):
                    continue
                relation = str(config.get("alias") or name)
                found[relation] = MartRelation(name, relation, None, True, tuple(map(_column, base)))
                continue
            latest = model.get("latest_version", max(v["v"] for v in versions))
            for spec in versions:
                v_config = {**config, **(spec.get("config") or {})}
                if not (v_config.get("contract") or {}).get("enforced"):
                    continue
                relation = str(v_config.get("alias") or f"{name}_v{spec['v']}")
                if relation in found:
                    raise ValueError(f"{path}: {name}: relation {relation} published twice")
                columns = _version_columns(base, spec.get("columns"))
                found[relation] = MartRelation(name, relation, int(spec["v"]), str(spec["v"]) == str(latest),
                                               tuple(map(_column, columns)))
    return found


# --- the lock: published columns and types, frozen per version ---------------------------------


def duckdb_type(declared: str) -> str:
    """A declared contract type as DuckDB names it in its catalog (`varchar` -> `VARCHAR`)."""
    return _duckdb_types((declared,))[0]


@lru_cache(maxsize=64)
def _duckdb_types(declared: tuple[str, ...]) -> tuple[str, ...]:
    import duckdb

    con = duckdb.connect()
    try:
        return tuple(con.execute(f"select typeof(cast(null as {t}))").fetchone()[0] for t in declared)
    finally:
        con.close()


def contract_lock() -> dict[str, dict]:
    """`marts.<relation>` -> {table, version, columns: [[name, DuckDB type], ...]} for every
    shared relation, as the registry and the dbt contracts say now."""
    relations = relation_contracts()
    out: dict[str, dict] = {}
    for table in shared_tables().values():
        for relation, version in table.relation_versions().items():
            columns = relations.get(relation)
            if columns is None:
                raise ValueError(f"{relation}: listed in {SHARED_TABLES_FILE.name} but no contracted "
                                 f"model or model version publishes it ({MARTS_DIR})")
            types = _duckdb_types(tuple(c.data_type for c in columns))
            out[f"{SCHEMA}.{relation}"] = {"table": table.name, "version": version,
                                           "columns": [[c.name, t] for c, t in zip(columns, types)]}
    return out


def read_lock(path: Path = LOCK_FILE) -> dict[str, dict]:
    return json.loads(path.read_text(encoding="utf-8"))["relations"]


def lock_problems(locked: dict[str, dict], current: dict[str, dict]) -> list[str]:
    """What in `current` would change a version published per `locked` in place.

    Allowed: new relations, columns added at the end of a relation, a relation dropped once its
    (table, version) is served by another one (the end of an overlap), a relation serving a new
    version that was published beside it before (the `_v2` of the overlap release)."""
    problems = []
    served_before = {(e["table"], e["version"]) for e in locked.values()}
    served_now = {(e["table"], e["version"]) for e in current.values()}
    for relation, old in locked.items():
        new = current.get(relation)
        if new is None:
            if (old["table"], old["version"]) not in served_now:
                problems.append(f"{relation}: version {old['version']} of {old['table']} is no longer published")
            continue
        if new["version"] != old["version"]:
            if (new["table"], new["version"]) not in served_before:
                problems.append(f"{relation}: version {new['version']} replaces version {old['version']} without "
                                f"having been published beside it for a release (CHANGELOG.md)")
            continue
        have, had = [tuple(c) for c in new["columns"]], [tuple(c) for c in old["columns"]]
        if have[:len(had)] != had:
            gone = [f"{n} {t}" for n, t in had if (n, t) not in have]
            came = [f"{n} {t}" for n, t in have if (n, t) not in had]
            problems.append(f"{relation} (version {old['version']}) changed in place: "
                            + (f"removed or retyped {gone}" if gone else "columns reordered")
                            + (f", added {came}" if came else "")
                            + ": ship it as a new version (CHANGELOG.md)")
    return problems


def write_lock(path: Path = LOCK_FILE, force: bool = False) -> dict[str, dict]:
    current = contract_lock()
    if path.exists() and not force:
        problems = lock_problems(read_lock(path), current)
        if problems:
            raise ValueError("not locked, a published version would change in place:\n- " + "\n- ".join(problems))
    doc = {"about": "Columns and DuckDB types of every published shared relation, and the contract "
                    "version it serves. Written by `python -m citysafety.share.contracts lock`; never edit a "
                    "published version in place (dbt_project/CHANGELOG.md).",
           "relations": current}
    path.write_text(_lock_text(doc), encoding="utf-8")
    return current


def _lock_text(doc: dict) -> str:
    """JSON with one column a line (reviewable diffs)."""
    dumps = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731
    lines = ["{", f' "about": {dumps(doc["about"])},', ' "relations": {']
    relations = list(doc["relations"].items())
    for i, (relation, entry) in enumerate(relations):
        lines.append(f'  {dumps(relation)}: {{"table": {dumps(entry["table"])}, "version": {entry["version"]}, '
                     '"columns": [')
        lines += [f"   {dumps(c)}{',' if j < len(entry['columns']) - 1 else ''}"
                  for j, c in enumerate(entry["columns"])]
        lines.append("  ]}" + ("," if i < len(relations) - 1 else ""))
    return "\n".join([*lines, " }", "}"]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check or write dbt_project/contracts.lock.json.")
    parser.add_argument("command", choices=["check", "lock"])
    args = parser.parse_args(argv)
    if args.command == "lock":
        try:
            write_lock()
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"wrote {LOCK_FILE}")
        return 0
    locked, current = read_lock(), contract_lock()
    if locked == current:
        print(f"{LOCK_FILE.name}: {len(current)} relations, in step with the contracts")
        return 0
    problems = lock_problems(locked, current)
    print("\n".join(problems) if problems else
          f"{LOCK_FILE.name} is behind the contracts (no published version changes in place): "
          "run `python -m citysafety.share.contracts lock`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
