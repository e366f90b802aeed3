"""grid/hazard_reports: the incremental SQL pull (PostgreSQL and SQLite), then the real dbt build.

The same hand-made story runs against the machine's PostgreSQL (a database of its own, dropped
at the end) and a SQLite file:

pull 1 sees R01..R07. R03/R04 share one updated_at (split across batches of 2), and so do R06/R07
(the last instant: the watermark). Then the grid system changes R01, R02, R07 (later
updated_at), adds R09, R10, and R08 commits late *at the watermark instant itself* (same
updated_at as R06/R07, another id). Pull 2 must carry exactly R01, R02, R07, R08, R09, R10; pull 3
finds nothing. The final state, as of 2024-06-30 (hand-computed):

| id  | street spelling   | code    | level | deadline   | rectified  | status | overdue | days | 重大未督办 |
|-----|-------------------|---------|-------|------------|------------|--------|---------|------|-----------|
| R01 | 武林街道           | WL      | 一般  | 2024-05-20 | 2024-05-25 | 已整改 | yes     | 19   |           |
| R02 | 　天水 街道 (U+3000) | TS     | 重大  | 2024-07-10 |            | 整改中 | no      |      | no (listed later) |
| R03 | 下城区朝晖街道      | CH      | 重大  | 2024-04-01 | 2024-03-20 | 已销号 | no      | 19   | yes       |
| R04 | 潮鸣               | CM      | 一般  | 2024-03-12 | 2024-03-12 | 已销号 | no      | 7    |           |
| R05 | 城东               | UNKNOWN | 一般  | 2024-04-15 |            | 整改中 | yes     |      |           |
| R06 | 长庆街道办事处      | CQ      | 一般  | 2024-06-30 |            | 待整改 | no (due today) | |        |
| R07 | 石桥               | SQ      | 一般  | 2024-07-05 | 2024-06-28 | 已整改 | no      | 8    |           |
| R08 | 东新街道           | DX      | 一般  | 2024-06-26 | (none)     | 已销号 | no      |      |           |
| R09 | 文晖街道           | WH      | 重大  | 2024-06-29 |            | 整改中 | yes     |      | yes       |
| R10 | 下城区 武林街道     | WL      | 一般  | 2024-07-25 |            | 待整改 | no      |      |           |

overdue 3 (R01, R05, R09), open 5 (R02, R05, R06, R09, R10), 重大 not supervised 2 (R03, R09).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import uuid
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from citysafety import sources
from citysafety.mart.build import prepare_build
from citysafety.config import DBT_PROJECT_DIR, EXPECTATIONS_DIR, Settings
from demo import grid_db
from demo.feeds.grid import id_check
from citysafety.raw.ingest import ingest_feed
from citysafety.land.extracts import NotConfigured, read_watermark
from citysafety.land.pull import pull_feed
from citysafety.land.sql_table import connection_url
from operations_db import postgres_admin

FEED = sources.GRID_HAZARD_REPORTS
AS_OF = "2024-06-30"


def _id_no(body17: str) -> str:
    return body17 + id_check(body17)


# Fake reporters: none of these values may appear outside the raw layer.
PEOPLE = {
    "A": ("欧阳明远", _id_no("33010319850312451"), "13912345678"),
    "B": ("司马青衫", _id_no("33010219790101002"), "18657101234"),
    "C": ("诸葛晓岚", _id_no("33010419920203771"), "15067895432"),
}
PERSONAL = [v for person in PEOPLE.values() for v in person]


def _row(report_id, street, level, found_on, deadline, rectified_on, status, supervised,
         updated_at, person="A", uscc=None):
    name, id_no, phone = PEOPLE[person]
    return {
        "report_id": report_id, "found_on": date.fromisoformat(found_on), "street": street,
        "community": "测试社区", "grid_code": "XX-01-01", "uscc": uscc,
        "description": "消防通道堵塞", "level": level,
        "deadline": date.fromisoformat(deadline) if deadline else None,
        "rectified_on": date.fromisoformat(rectified_on) if rectified_on else None,
        "status": status, "supervised": supervised, "reporter_name": name,
        "reporter_id_no": id_no, "reporter_phone": phone,
        "updated_at": datetime.fromisoformat(updated_at),
    }


FIRST = [
    _row("R01", "武林街道", "一般", "2024-05-06", "2024-05-20", None, "待整改", False, "2024-05-06 09:00:00"),
    _row("R02", "\u3000天水 街道 ", "重大", "2024-05-10", "2024-07-10", None, "整改中", False,
         "2024-05-10 10:00:00", person="B", uscc="91330103MA2AAAAA1X"),
    _row("R03", "下城区朝晖街道", "重大", "2024-03-01", "2024-04-01", "2024-03-20", "已销号", False,
         "2024-03-25 17:30:00", person="C"),
    _row("R04", "潮鸣", "一般", "2024-03-05", "2024-03-12", "2024-03-12", "已销号", False, "2024-03-25 17:30:00"),
    _row("R05", "城东", "一般", "2024-04-01", "2024-04-15", None, "整改中", False, "2024-04-02 11:00:00", person="B"),
    _row("R06", "长庆街道办事处", "一般", "2024-06-20", "2024-06-30", None, "待整改", False, "2024-06-20 15:00:00"),
    _row("R07", "石桥", "一般", "2024-06-20", "2024-07-05", None, "待整改", False, "2024-06-20 15:00:00", person="C"),
]
CHANGED = [  # later versions of rows already pulled
    _row("R01", "武林街道", "一般", "2024-05-06", "2024-05-20", "2024-05-25", "已整改", False, "2024-06-25 10:00:00"),
    _row("R02", "\u3000天水 街道 ", "重大", "2024-05-10", "2024-07-10", None, "整改中", True,
         "2024-06-21 08:00:00", person="B", uscc="91330103MA2AAAAA1X"),
    _row("R07", "石桥", "一般", "2024-06-20", "2024-07-05", "2024-06-28", "已整改", False, "2024-06-28 16:00:00", person="C"),
]
ADDED = [
    # committed after pull 1 with the watermark's own updated_at (a tie that must not be lost)
    _row("R08", "东新街道", "一般", "2024-06-19", "2024-06-26", None, "已销号", False, "2024-06-20 15:00:00", person="B"),
    _row("R09", "文晖街道", "重大", "2024-06-22", "2024-06-29", None, "整改中", False, "2024-06-22 09:00:00"),
    _row("R10", "下城区 武林街道", "一般", "2024-06-25", "2024-07-25", None, "待整改", False, "2024-06-25 12:00:00", person="C"),
]
COLUMNS = ", ".join(grid_db.COLUMNS)
INSERT = sa.text(f"insert into hazard_reports ({COLUMNS}) values ({', '.join(':' + c for c in grid_db.COLUMNS)})")


def _write(engine: sa.Engine, rows: list[dict]) -> None:
    """Insert rows (replacing an earlier version of the same report), as the grid system would."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as con:
        for row in rows:
            values = {k: grid_db.sqlite_value(v) for k, v in row.items()} if sqlite else row
            con.execute(sa.text("delete from hazard_reports where report_id = :id"), {"id": row["report_id"]})
            con.execute(INSERT, values)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def _run_story(engine: sa.Engine, cfg: Settings, *, pull_kwargs: dict, watermark_text: bool):
    """Create the table, pull, change, pull, pull; check each extract. Returns the two extracts."""
    ddl = grid_db.DDL_SQLITE if engine.dialect.name == "sqlite" else grid_db.DDL_POSTGRES
    with engine.begin() as con:
        con.execute(sa.text(ddl))
    _write(engine, FIRST)

    first = pull_feed(FEED, cfg, batch_size=2, **pull_kwargs)
    assert first is not None and first.parent == cfg.landing / "grid" / "hazard_reports"
    assert first.name.startswith("hazard_reports_") and first.suffix == ".jsonl"
    rows = _lines(first)
    assert [r["report_id"] for r in rows] == ["R03", "R04", "R05", "R01", "R02", "R06", "R07"]
    assert rows[0] == {
        "report_id": "R03", "found_on": "2024-03-01", "street": "下城区朝晖街道", "community": "测试社区",
        "grid_code": "XX-01-01", "uscc": None, "description": "消防通道堵塞", "level": "重大",
        "deadline": "2024-04-01", "rectified_on": "2024-03-20", "status": "已销号", "supervised": False,
        "reporter_name": "诸葛晓岚", "reporter_id_no": PEOPLE["C"][1], "reporter_phone": "15067895432",
        "updated_at": "2024-03-25T17:30:00",
    }
    assert '"supervised": false' in first.read_text("utf-8")  # JSON booleans, not 0/1
    assert "欧阳明远" in first.read_text("utf-8")  # UTF-8 unescaped
    mark = read_watermark(FEED, cfg)
    assert mark["updated_at"]["value"] == ("2024-06-20 15:00:00" if watermark_text else "2024-06-20T15:00:00")
    assert mark["report_ids_at_watermark"] == ["R06", "R07"]

    assert pull_feed(FEED, cfg, **pull_kwargs) is None  # nothing new, the boundary rows not again

    _write(engine, CHANGED + ADDED)
    second = pull_feed(FEED, cfg, batch_size=2, **pull_kwargs)
    got = {r["report_id"]: r for r in _lines(second)}
    assert sorted(got) == ["R01", "R02", "R07", "R08", "R09", "R10"]
    assert got["R01"]["rectified_on"] == "2024-05-25" and got["R01"]["updated_at"] == "2024-06-25T10:00:00"
    assert got["R02"]["supervised"] is True
    assert got["R08"]["updated_at"] == "2024-06-20T15:00:00"  # the late tie at the old watermark
    mark = read_watermark(FEED, cfg)
    assert mark["report_ids_at_watermark"] == ["R07"] and mark["rows"] == 6

    assert pull_feed(FEED, cfg, **pull_kwargs) is None
    folder = cfg.landing / "grid" / "hazard_reports"
    assert sorted(p.name for p in folder.iterdir()) == sorted([".watermark.json", first.name, second.name])
    return first, second


# ------------------------------------------------------------------ (a) the real PostgreSQL

def test_postgres_incremental_pull_via_the_airflow_connection(tmp_path, monkeypatch, caplog, capsys):
    admin = postgres_admin()  # the server, or the test fails (CI) / skips
    name = f"citysafety_grid_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as con:
        con.execute(sa.text(f'create database "{name}"'))
    engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", poolclass=sa.pool.NullPool)
    try:
        cfg = Settings(home=tmp_path / "home")
        # As in production: the Airflow connection (here from the environment), no url given.
        monkeypatch.setenv("AIRFLOW_CONN_GRID_DB", f"postgresql://postgres@127.0.0.1:5432/{name}")
        with caplog.at_level(logging.INFO):
            _run_story(engine, cfg, pull_kwargs={}, watermark_text=False)
        with engine.connect() as con:  # the table really is boolean/date/timestamp in PostgreSQL
            types = dict(con.execute(sa.text(
                "select column_name, data_type from information_schema.columns "
                "where table_name = 'hazard_reports'")).all())
        assert types["supervised"] == "boolean" and types["found_on"] == "date"
        assert types["updated_at"].startswith("timestamp")
        # Once Airflow is imported its structlog handler prints log records to stdout.
        captured = capsys.readouterr()
        logged = caplog.text + captured.out + captured.err
        assert f"grid/hazard_reports: 7 rows from postgresql://127.0.0.1:5432/{name}" in logged
        assert not any(v in logged for v in PERSONAL)
    finally:
        engine.dispose()
        with admin.connect() as con:
            con.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


# ------------------------------------------------------------------ (b) SQLite, then (d) the build

@pytest.fixture(scope="module")
def sqlite_home(tmp_path_factory):
    """A home whose landing holds the two SQLite extracts of the story."""
    root = tmp_path_factory.mktemp("grid")
    cfg = Settings(home=root / "home")
    db = root / "source" / "grid.sqlite"
    db.parent.mkdir()
    engine = sa.create_engine(f"sqlite:///{db}", poolclass=sa.pool.NullPool)
    try:
        extracts = _run_story(engine, cfg, pull_kwargs={"url": f"sqlite:///{db}"}, watermark_text=True)
    finally:
        engine.dispose()
    return cfg, extracts


def test_sqlite_incremental_pull(sqlite_home):
    cfg, (first, second) = sqlite_home
    assert len(_lines(first)) == 7 and len(_lines(second)) == 6
    assert first.name < second.name  # UTC stamps sort in pull order


def test_demo_database_is_reached_through_its_airflow_connection(tmp_path, monkeypatch):
    cfg = Settings(home=tmp_path / "home")
    assert grid_db.demo_connection_env(cfg) == {}
    grid_db.write_db(grid_db.db_path(cfg), FIRST)
    env = grid_db.demo_connection_env(cfg)
    assert env == {"AIRFLOW_CONN_GRID_DB": f"sqlite:///{grid_db.db_path(cfg).resolve()}"}
    monkeypatch.setenv("AIRFLOW_CONN_GRID_DB", env["AIRFLOW_CONN_GRID_DB"])
    extract = pull_feed(FEED, cfg)
    assert [r["report_id"] for r in _lines(extract)] == ["R03", "R04", "R05", "R01", "R02", "R06", "R07"]
    assert pull_feed(FEED, cfg) is None


def test_connection_urls_for_postgres_and_sqlite():
    from airflow.sdk import Connection

    pg = connection_url(Connection.from_uri(
        "postgresql://grid%40ro:s3cr%2Fet@db.example:5433/grid?sslmode=require", conn_id="grid_db"))
    assert pg.drivername == "postgresql+psycopg" and pg.username == "grid@ro" and pg.password == "s3cr/et"
    assert (pg.host, pg.port, pg.database, dict(pg.query)) == ("db.example", 5433, "grid", {"sslmode": "require"})
    assert "s3cr" not in str(pg)  # the rendered URL hides the password
    lite = connection_url(Connection.from_uri("sqlite:////srv/grid/grid.sqlite", conn_id="grid_db"))
    assert lite.render_as_string() == "sqlite:////srv/grid/grid.sqlite"


# ------------------------------------------------------------------ (c) not configured

def test_not_configured_is_skipped_with_the_connection_named(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_GRID_DB", raising=False)
    cfg = Settings(home=tmp_path / "home")
    with pytest.raises(NotConfigured) as err:
        pull_feed(FEED, cfg)
    assert str(err.value) == "grid/hazard_reports: Airflow connection 'grid_db' is not configured; skipped"
    assert not (cfg.landing / "grid").exists()


# ------------------------------------------------------------------ (d) ingest and the real dbt build

def _suite(path: Path):
    spec = importlib.util.spec_from_file_location(f"suite_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_flags_streets_and_no_personal_data(sqlite_home, monkeypatch):
    from dbt.cli.main import dbtRunner

    cfg, _ = sqlite_home
    monkeypatch.setenv("CITYSAFETY_HOME", str(cfg.home))
    loaded = ingest_feed(FEED, cfg)
    assert [(r.status, r.rows_loaded, r.rows_quarantined) for r in loaded] == [("loaded", 7, 0), ("loaded", 6, 0)]
    assert prepare_build(cfg)["raw.grid__hazard_reports"] == 13

    work = cfg.home.parent
    res = dbtRunner().invoke([
        "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
        # fct_hazards and its parents, not its descendants (the official indicators read every
        # department's marts).
        "--select", "+fct_hazards", "+dim_streets", "--indirect-selection", "cautious",
        "--vars", json.dumps({"as_of_date": AS_OF}), "--quiet",
    ])
    assert res.success, res.exception or [r.message for r in res.result if r.status not in ("pass", "success")]

    # dbt-duckdb keeps its in-process connection open: DuckDB refuses a second one to the same
    # file with another configuration (read_only), so this one matches dbt's and is closed after.
    con = duckdb.connect(str(cfg.build_db))
    try:
        got = {r[0]: r[1:] for r in con.execute("""
            select report_id, street_code, is_major, is_rectified, is_open, is_overdue,
                   days_to_rectify, supervised, major_not_supervised, status, rectified_on
            from marts.fct_hazards order by report_id""").fetchall()}
        versions = dict(con.execute(
            "select report_id, versions from intermediate.int_hazard_reports_deduplicated").fetchall())
        masked = con.execute("""select reporter_name_masked, reporter_id_no_masked, reporter_phone_masked
                                from staging.stg_grid__hazard_reports where report_id = 'R03' limit 1""").fetchone()
        raw_text = " ".join(str(v) for row in con.execute(
            "select reporter_name, reporter_id_no, reporter_phone from raw.grid__hazard_reports").fetchall()
            for v in row)
        columns = con.execute("""select table_schema, table_name, column_name from information_schema.columns
                                 where table_schema in ('staging', 'intermediate', 'marts')
                                   and data_type = 'VARCHAR'""").fetchall()
        leaks = []
        for schema, table, column in columns:
            for value in PERSONAL:
                n = con.execute(f'select count(*) from "{schema}"."{table}" where contains("{column}", ?)',
                                [value]).fetchone()[0]
                if n:
                    leaks.append((schema, table, column, value))
        raw_df = con.execute(_suite(EXPECTATIONS_DIR / "raw" / "grid__hazard_reports.py").QUERY).df()
        mart_df = con.execute(_suite(EXPECTATIONS_DIR / "marts" / "fct_hazards.py").QUERY).df()
    finally:
        con.close()

    #            street     major  rectified open   overdue days  supervised major_not_sup status
    expected = {
        "R01": ("WL", False, True, False, True, 19, False, False, "已整改"),
        "R02": ("TS", True, False, True, False, None, True, False, "整改中"),
        "R03": ("CH", True, True, False, False, 19, False, True, "已销号"),
        "R04": ("CM", False, True, False, False, 7, False, False, "已销号"),
        "R05": ("UNKNOWN", False, False, True, True, None, False, False, "整改中"),
        "R06": ("CQ", False, False, True, False, None, False, False, "待整改"),
        "R07": ("SQ", False, True, False, False, 8, False, False, "已整改"),
        "R08": ("DX", False, True, False, False, None, False, False, "已销号"),
        "R09": ("WH", True, False, True, True, None, False, True, "整改中"),
        "R10": ("WL", False, False, True, False, None, False, False, "待整改"),
    }
    assert {k: v[:9] for k, v in got.items()} == expected
    assert got["R01"][9] == date(2024, 5, 25) and got["R08"][9] is None
    assert sum(v[4] for v in expected.values()) == 3  # overdue: R01, R05, R09
    assert sum(v[3] for v in expected.values()) == 5  # open
    assert sum(v[7] for v in expected.values()) == 2  # 重大 not supervised: R03, R09
    assert versions == {"R01": 2, "R02": 2, "R03": 1, "R04": 1, "R05": 1, "R06": 1, "R07": 2,
                        "R08": 1, "R09": 1, "R10": 1}

    # Personal data: in raw (so the scan below means something), masked in staging, nowhere else.
    assert all(v in raw_text for v in PERSONAL)
    assert masked == ("诸**", PEOPLE["C"][1][:6] + "********" + PEOPLE["C"][1][-4:], "150****5432")
    assert len(columns) > 20 and leaks == []
    assert not {"reporter_name", "reporter_id_no", "reporter_phone"} & set(raw_df.columns)

    # The quality-gate suites pass on this data (GE pandas route).
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("grid_test")
    for path, df in ((EXPECTATIONS_DIR / "raw" / "grid__hazard_reports.py", raw_df),
                     (EXPECTATIONS_DIR / "marts" / "fct_hazards.py", mart_df)):
        module = _suite(path)
        batch = source.add_dataframe_asset(module.TABLE.replace(".", "__")) \
            .add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": df})
        result = batch.validate(module.suite())
        assert result.success, [r.expectation_config.type for r in result.results if not r.success]
