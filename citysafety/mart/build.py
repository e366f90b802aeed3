"""Prepare the staging copy of the warehouse that dbt builds, the gate validates and publish promotes.

The build copy lives in `build/` and persists between builds, so that incremental models (the
sensor feed) only process new data. Before every build the raw layer (Parquet, one folder per
delivered file) is re-read into `raw.<source>__<feed>`: small feeds as tables, the
high-volume feed as a view over its Parquet files; the audit trail goes into
`audit.reconciliation` and `audit.quarantine`; the operations database's alarms, their audit
and the outbox go into `operations.*` (citysafety.mart.operations: read-only there, fail closed).
dbt then builds staging, intermediate and marts beside them. Nothing here touches the published warehouse.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pyarrow as pa

from citysafety.raw import store
from citysafety import sources as S
from citysafety.mart import freshness, operations
from citysafety import config
from citysafety.config import Settings, settings
from citysafety.sql import ident, literal

log = logging.getLogger(__name__)


def _parquet_list(paths: list[Path]) -> str:
    # Paths are ours (sha-named folders under CITYSAFETY_HOME), quoted as SQL string literals.
    return "[" + ", ".join(literal(p) for p in paths) + "]"


_DUCKDB_TYPES = {
    pa.string(): "varchar", pa.int64(): "bigint", pa.float64(): "double",
    pa.timestamp("us"): "timestamp", pa.date32(): "date", pa.bool_(): "boolean",
}


def _empty_select(schema: pa.Schema) -> str:
    cols = ", ".join(f'cast(null as {_DUCKDB_TYPES[f.type]}) as {ident(f.name)}' for f in schema)
    return f"select {cols} where false"


def raw_select(feed: S.Feed, loads: list[Path]) -> str:
    """SQL giving a feed's raw rows (store.raw_schema) from its loads' rows.parquet.

    Where the loads store every column, one read_parquet over the files. Where they leave out
    the per-file lineage (the Parquet feed, store.PER_FILE_LINEAGE), one read_parquet over
    the files too, each row's file name, sha256 and version looked up by the Parquet file it came from
    in a MAP written from the loads' reconciliation. DuckDB hands the `filename` column over as
    one constant per vector, so the lookup costs once per 2048 rows, not per row. (Measured on
    the year of readings: a UNION ALL of one scan per file with constants ran out of memory at
    a 1.25 GB limit on 90 files, where this read spills and finishes; a join on the file name
    made a sort of 7.3M rows 3.2 s instead of 2.0 s.)
    """
    schema = store.raw_schema(feed)
    if not loads:
        return _empty_select(schema)
    stored = set(store.raw_file_schema(feed).names)
    if stored == set(schema.names):
        return f"select * from read_parquet({_parquet_list([p / 'rows.parquet' for p in loads])}, union_by_name = true)"
    files, entries = [], []
    for load, rec in store.load_records(loads):
        if not rec["rows_loaded"]:
            continue  # rejected, duplicate or empty: its rows.parquet holds no row
        path = load / "rows.parquet"
        files.append(path)
        lineage = {"_source_file": rec["file_name"], "_file_sha256": rec["file_sha256"],
                   "_file_version": rec["file_version"]}
        fields = ", ".join(f"{literal(n)}: {_constant(v)}" for n, v in lineage.items() if n not in stored)
        entries.append(f"{literal(str(path))}: {{{fields}}}")
    if not files:
        return _empty_select(schema)
    cols = ", ".join(ident(n) if n in stored else f"_lineage.{ident(n)} as {ident(n)}" for n in schema.names)
    return (f"select {cols} from (select *, (map {{{', '.join(entries)}}})[filename] as _lineage "
            f"from read_parquet({_parquet_list(files)}, filename = true, union_by_name = true))")


def _constant(value) -> str:
    return str(int(value)) if isinstance(value, int) else literal(value)


_LOADED = "raw._loaded_files"  # which Parquet files each raw/audit table holds (not published)


def _relation_type(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    schema, name = table.split(".")
    found = con.execute(
        "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name]).fetchone()
    return found[0] if found else None


def _replace(con: duckdb.DuckDBPyConnection, table: str, source: str, storage: str) -> None:
    existing = _relation_type(con, table)
    if existing:  # DuckDB refuses "drop view" on a table and the reverse
        con.execute(f"drop {'view' if existing == 'VIEW' else 'table'} {table}")
    con.execute(f"create {'view' if storage == 'view' else 'table'} {table} as {source}")


def _refresh_table(con: duckdb.DuckDBPyConnection, table: str, files: list[Path], schema: pa.Schema,
                   fill: dict[str, dict[Path, object]] | None = None) -> int:
    """Make `table` hold exactly the rows of `files`, reading only files it does not hold yet.

    A load folder never changes once renamed into place (store.commit_load), so the files a
    table already holds are still right while each is present with the same mtime and the
    table has the expected columns. Anything else (a file gone or rewritten, a registry change
    of the columns, a table with no record of its files) rebuilds the table from every file.
    The caller's transaction makes the rows and the record of their files commit together.
    `fill`: column -> value per file, for a column the file leaves null or lacks (_union).
    """
    current = {str(f): f.stat().st_mtime_ns for f in files}
    held = dict(con.execute(f"select file, mtime_ns from {_LOADED} where relation = ?", [table]).fetchall())
    columns = [(n, t.lower()) for n, t in con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position", table.split(".")).fetchall()]
    wanted = [(f.name, _DUCKDB_TYPES[f.type]) for f in schema]
    if (held and _relation_type(con, table) == "BASE TABLE" and columns == wanted
            and all(current.get(f) == m for f, m in held.items())):
        new = [f for f in files if str(f) not in held]
        if new:
            con.execute(f"insert into {table} {_union(con, new, schema, fill)}")
    else:
        con.execute(f"delete from {_LOADED} where relation = ?", [table])
        _replace(con, table, _union(con, files, schema, fill), "table")
        new = files
    if new:
        con.execute(f"insert into {_LOADED} select ?, unnest(?), unnest(?)",
                    [table, [str(f) for f in new], [current[str(f)] for f in new]])
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def _union(con: duckdb.DuckDBPyConnection, files: list[Path], schema: pa.Schema,
           fill: dict[str, dict[Path, object]] | None = None) -> str:
    """The rows of `files` as `schema`. A column no file has (written before it existed) is
    null; where `fill` gives a column's value per file, that value stands in for null."""
    if not files:
        return _empty_select(schema)
    source = f"read_parquet({_parquet_list(files)}, union_by_name = true, filename = true)"
    present = {r[0] for r in con.execute(f"describe select * from {source}").fetchall()}
    fill = fill or {}
    cols = []
    for f in schema:
        value = f"{ident(f.name)}::{_DUCKDB_TYPES[f.type]}" if f.name in present else \
            f"cast(null as {_DUCKDB_TYPES[f.type]})"
        if f.name in fill:
            by_file = ", ".join(f"{literal(str(p))}: {_constant(fill[f.name][p])}"
                                for p in files if fill[f.name].get(p) is not None)
            if by_file:
                value = f"coalesce({value}, (map {{{by_file}}})[filename])"
        cols.append(f"{value} as {ident(f.name)}")
    return f"select {', '.join(cols)} from {source}"


def prepare_build(cfg: Settings | None = None) -> dict[str, int]:
    """Refresh the raw and audit tables of the build copy. Returns row counts by table.

    Tables read only the loads they do not hold yet (see _refresh_table); the high-volume feed
    is a view over its files, rebuilt each time (it reads nothing until queried). The
    operations tables are read whole from the operations database each time, before the build
    copy is opened (a database that does not answer stops here, nothing changed). One
    transaction: a run killed half-way leaves the build copy as it was.
    """
    cfg = cfg or settings()
    ops = operations.read(cfg)
    cfg.build_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(cfg.build_db))
    try:
        con.execute("begin transaction")
        con.execute("create schema if not exists raw")
        con.execute("create schema if not exists audit")
        con.execute(f"create table if not exists {_LOADED} (relation varchar, file varchar, mtime_ns bigint)")
        recon_files, quarantine_files = [], []
        # the version of each load (store.load_records numbers loads recorded before versions)
        recon_versions: dict[Path, object] = {}
        for feed in S.all_feeds():
            loads = store.loads(feed, cfg)
            versions = {load: rec["file_version"] for load, rec in store.load_records(loads)}
            if feed.build_storage == "view":
                _replace(con, feed.raw_table, raw_select(feed, loads), "view")
                counts[feed.raw_table] = len(loads)  # files, not rows: counting would read the feed
            else:
                counts[feed.raw_table] = _refresh_table(
                    con, feed.raw_table, [p / "rows.parquet" for p in loads], store.raw_schema(feed),
                    {"_file_version": {p / "rows.parquet": v for p, v in versions.items()}})
            recon_files += [p / "reconciliation.parquet" for p in loads]
            recon_versions.update({p / "reconciliation.parquet": v for p, v in versions.items()})
            quarantine_files += [p / "quarantine.parquet" for p in loads]
        counts["audit.reconciliation"] = _refresh_table(con, "audit.reconciliation", recon_files,
                                                        store.RECONCILIATION,
                                                        {"file_version": recon_versions})
        counts["audit.quarantine"] = _refresh_table(con, "audit.quarantine", quarantine_files,
                                                    store.QUARANTINE)
        freshness.ensure_table(con)  # dbt reads it; `freshness.check` fills it before the build
        counts.update(operations.load(con, ops))
        con.execute("commit")
        con.execute("checkpoint")
    finally:
        con.close()
    log.info("build copy %s prepared: %s", cfg.build_db, counts)
    return counts


def build_and_publish(cfg: Settings | None = None, dbt_args: tuple[str, ...] = (),
                      changed_feeds: list[str] | None = None) -> dict:
    """The build DAG's steps in one process: plan, refresh raw, source freshness, dbt build of the
    plan's selection (everything unless `changed_feeds` names the feeds delivered since the last
    publish; `dbt_args` instead of the plan for a build by hand), gate, publish."""
    from citysafety.mart import plan, publish, quality
    from citysafety.mart.dbt_runner import run_dbt

    cfg = cfg or settings()
    planned = None if dbt_args else plan.plan(changed_feeds, config.resolved_as_of_date(), cfg)
    prepare_build(cfg)
    freshness.check(cfg)
    run_dbt(["build", *(dbt_args or ("--select", planned["select"]))], cfg)
    quality.validate(cfg)
    counts = publish.publish(cfg)
    plan.published(planned, cfg)
    return counts
