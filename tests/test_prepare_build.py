"""prepare_build reads only the loads the build copy does not hold yet, and rebuilds when it must.

The spine's hand-made deliveries (tests/deliveries.py) arrive in two rounds; after each round the
incrementally refreshed raw and audit tables must hold exactly what a fresh build copy made from
the same raw layer holds. A load folder that disappears, and a table whose columns no longer
match the registry, make the table rebuild from every load.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from citysafety.mart import build
from citysafety.raw import ingest, store
from citysafety import sources as S
from citysafety.config import Settings, settings
from tests.deliveries import write_spine

SPINE = [S.EMB_ACCIDENTS, S.FIRE_FIRES, S.TRAFFIC_ROAD_ACCIDENTS, S.STATS_ECONOMY]
TABLES = [f.raw_table for f in SPINE] + ["audit.reconciliation", "audit.quarantine"]


def _rows(db: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return sorted(con.execute(f"select * from {table}").fetchall(), key=repr)


def _held(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("select relation, count(*) from raw._loaded_files group by all").fetchall())


def _fresh(cfg, tmp_path: Path, name: str):
    """A build copy prepared from scratch over a copy of cfg's raw layer."""
    other = Settings(home=tmp_path / name)
    shutil.copytree(cfg.raw, other.raw)
    build.prepare_build(other)
    return other


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path / "home"))
    return settings()


def _deliver(cfg, files: list[Path], delivered: Path) -> None:
    for f in files:
        target = cfg.landing / f.relative_to(delivered)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)
    for feed in SPINE:
        ingest.ingest_feed(feed, cfg)


def test_refresh_reads_only_new_loads_and_equals_a_fresh_build(cfg, tmp_path):
    delivered = tmp_path / "delivered"
    write_spine(delivered)
    files = sorted(p for p in delivered.rglob("*") if p.is_file())
    first, second = files[::2], files[1::2]
    assert first and second

    _deliver(cfg, first, delivered)
    build.prepare_build(cfg)
    held_first = _held(cfg.build_db)
    _deliver(cfg, second, delivered)
    counts = build.prepare_build(cfg)

    fresh = _fresh(cfg, tmp_path, "fresh")
    for table in TABLES:
        assert _rows(cfg.build_db, table) == _rows(fresh.build_db, table), table
        assert counts[table] == len(_rows(fresh.build_db, table))
    loads = sum(len(store.loads(f, cfg)) for f in SPINE)
    held = _held(cfg.build_db)
    assert held["audit.reconciliation"] == loads > held_first["audit.reconciliation"]
    assert sum(held[f.raw_table] for f in SPINE) == loads

    # nothing new: nothing read, nothing changes
    before = {t: _rows(cfg.build_db, t) for t in TABLES}
    build.prepare_build(cfg)
    assert {t: _rows(cfg.build_db, t) for t in TABLES} == before and _held(cfg.build_db) == held


def test_a_vanished_load_or_changed_columns_rebuild_the_table(cfg, tmp_path):
    delivered = tmp_path / "delivered"
    write_spine(delivered)
    _deliver(cfg, sorted(p for p in delivered.rglob("*") if p.is_file()), delivered)
    build.prepare_build(cfg)

    # a load folder removed (say, raw/ pruned by hand): its rows must leave the build copy too
    gone = store.loads(S.FIRE_FIRES, cfg)[0]
    shutil.rmtree(gone)
    # and a table altered behind the platform's back: no longer the registry's columns
    with duckdb.connect(str(cfg.build_db)) as con:
        con.execute(f"alter table {S.EMB_ACCIDENTS.raw_table} drop column _loaded_at")
    build.prepare_build(cfg)

    fresh = _fresh(cfg, tmp_path, "fresh")
    for table in TABLES:
        assert _rows(cfg.build_db, table) == _rows(fresh.build_db, table), table
    with duckdb.connect(str(cfg.build_db), read_only=True) as con:
        files = {r[0] for r in con.execute("select file from raw._loaded_files").fetchall()}
    assert not any(str(gone) in f for f in files)


def test_the_ledger_reads_a_load_once_and_a_load_replaced_by_hand_again(cfg, tmp_path, monkeypatch):
    """The landing trigger asks for every feed's ledger every few seconds: each load's record is
    read once (load folders never change once in place), only new loads after; a folder whose
    record was rewritten (by hand) is read again. The numbering of old loads is not kept."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    write_spine(cfg.landing)
    feed = S.EMB_ACCIDENTS
    ingest.ingest_feed(feed, cfg)
    first = store.ledger(feed, cfg)
    assert len(first) == len(store.loads(feed, cfg)) >= 2

    read: list[str] = []
    real = pq.ParquetDataset

    def counted(paths, *args, **kwargs):
        read.extend(paths)
        return real(paths, *args, **kwargs)

    monkeypatch.setattr(pq, "ParquetDataset", counted)
    assert store.ledger(feed, cfg) == first and read == []  # nothing new: nothing read

    folder = store.loads(feed, cfg)[0]
    path = folder / "reconciliation.parquet"
    table = pq.read_table(path)
    table = table.set_column(table.schema.get_field_index("rows_delivered"), "rows_delivered",
                             pa.array([999], type=table.schema.field("rows_delivered").type))
    stat = path.stat()
    pq.write_table(table, path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    again = store.ledger(feed, cfg)
    assert read == [str(path)]
    assert [r["rows_delivered"] for r in again if r["file_name"] == folder.name.split("-")[0]] == [999]
