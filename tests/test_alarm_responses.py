"""The response figures (issue 15, item 6): the operations database read into the build copy at each
build (citysafety.mart.operations), marts.fct_alarm_responses and marts.agg_alarm_response_by_month
built by dbt from it, their Great Expectations suites; the figures counted by hand below.

An operations database (SQLite, made with citysafety.act.store's own API, times in Asia/Shanghai,
moved by `now=`), as_of_date 2026-04-30 (the as-of moment: 2026-05-01 00:00):

  alarm  grade  street   started / raised      notified  签收     到场     处置完毕   归档    升级
  A1     红色   WL       03-02 08:00 / 08:01   08:02*    08:04    08:20    09:01      10:00   -
  A2     红色   WL       03-05 10:00 / 10:00   -         10:10    10:30    11:30      -       10:05
  A3     红色   TS       03-10 12:00 / 12:00   -         12:30    -        -          -       -
  A4     红色   (none)   03-20 09:00 / 09:02   pending   -        -        -          -       09:20, 09:40
  A5     黄色   WL       03-15 09:00 / 09:00   -         09:20    09:30    10:40      11:00   -
  A6     红色   WH       04-01 00:10 / 00:10   00:11     00:15    00:30    01:10      02:00   -
  A7     (none) XX       04-02 08:00 / 08:30   -         -        -        -          -       -
  * A1 has two messages sent, at 08:03 (enqueued first) and 08:02: notified at the first sent.

  minutes from raised:  签收 A1 3, A2 10, A3 30, A5 20, A6 5;  处置完毕 A1 60, A2 90, A5 100, A6 60.
  2026-03 红色 WL:  2 alarms, 1 notified (A1), 2 acknowledged, 2 on site, 2 closed,
                    1 archived, 1 escalated, 1 still open (A2, handled, not archived);
                    签收 p50 6.5, p95 3 + 0.95 x 7 = 9.65; 闭环 p50 75, p95 60 + 0.95 x 30 = 88.5.
  2026-03 红色 ALL: 4 alarms (A1-A4), 1 notified, 3 acknowledged, 2 on site, 2 closed, 1 archived,
                    2 escalated, 3 still open; 签收 [3, 10, 30]: p50 10, p95 at 1.9 = 10 + 0.9 x 20 = 28;
                    闭环 [60, 90]: p50 75, p95 88.5.
  2026-03 红色 UNKNOWN: A4 (no street): 1 alarm, escalated twice (counted once), open.
  2026-04 红色 WH: A6 (00:10 Beijing is still 03-31 in UTC: counted in April).
  2026-04 未分级 UNKNOWN: A7 ('XX' is no street).
  open ages at 2026-05-01 00:00: A3 (03-10 12:00) 51.5 days = 74,160 min.

A fresh home without an operations database builds empty tables (the suites pass); a URL that is
set but does not answer stops prepare_build with a message naming the database.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from citysafety import config
from citysafety.act import outbox, store
from citysafety.act.store import AlarmEvent, Notification
from citysafety.mart.build import prepare_build
from citysafety.mart.operations import OperationsUnavailable
from operations_db import pg_url  # noqa: F401 (a fresh PostgreSQL database, or skipped)

DBT_DIR = str(config.DBT_PROJECT_DIR)
MARTS = ("fct_alarm_responses", "agg_alarm_response_by_month")
AS_OF = "2026-04-30"
WL, TS = ("WL",), ("TS",)


def t(text: str) -> datetime:
    """2026-MM-DD HH:MM, Asia/Shanghai (a naive instant is Beijing time to the store)."""
    return datetime.fromisoformat(f"2026-{text}")


def make_operations(url: str) -> dict[str, int]:
    store.upgrade(url)
    ids = {}
    with store.session(url) as s:
        def alarm(name, point, street, grade, started, raised):
            a = store.record_alarm(s, point_id=point, started_at=t(started), street_code=street, grade=grade,
                                   hazard_source_id="HS-1", now=t(raised))
            ids[name] = a.id
            return a.id

        def act(alarm_id, *steps, street):
            scope = None if street is None else (street,)
            for action, at in steps:
                store.act(s, alarm_id, action, actor="officer", scope_streets=scope, remote_addr="10.0.0.9",
                          note="已关闭阀门" if action == store.HANDLE else None, now=t(at))

        def escalate(alarm_id, at):  # the escalation module writes 升级 to the audit (issue 15, item 5)
            s.add(AlarmEvent(alarm_id=alarm_id, action="升级", from_status=store.PENDING,
                             to_status=store.PENDING, actor="system", actor_scope="全区", at=store.instant(t(at))))

        a1 = alarm("A1", "P1", "WL", "红色", "03-02 08:00", "03-02 08:01")
        act(a1, ("签收", "03-02 08:04"), ("到场", "03-02 08:20"), ("处置完毕", "03-02 09:01"),
            ("归档", "03-02 10:00"), street="WL")
        a2 = alarm("A2", "P2", "WL", "红色", "03-05 10:00", "03-05 10:00")
        escalate(a2, "03-05 10:05")
        act(a2, ("签收", "03-05 10:10"), ("到场", "03-05 10:30"), ("处置完毕", "03-05 11:30"), street="WL")
        a3 = alarm("A3", "P3", "TS", "红色", "03-10 12:00", "03-10 12:00")
        act(a3, ("签收", "03-10 12:30"), street="TS")
        a4 = alarm("A4", "P4", None, "红色", "03-20 09:00", "03-20 09:02")
        escalate(a4, "03-20 09:20")
        escalate(a4, "03-20 09:40")
        a5 = alarm("A5", "P5", "WL", "黄色", "03-15 09:00", "03-15 09:00")
        act(a5, ("签收", "03-15 09:20"), ("到场", "03-15 09:30"), ("处置完毕", "03-15 10:40"),
            ("归档", "03-15 11:00"), street="WL")
        a6 = alarm("A6", "P6", "WH", "红色", "04-01 00:10", "04-01 00:10")
        act(a6, ("签收", "04-01 00:15"), ("到场", "04-01 00:30"), ("处置完毕", "04-01 01:10"),
            ("归档", "04-01 02:00"), street="WH")
        alarm("A7", "P7", "XX", None, "04-02 08:00", "04-02 08:30")

        for key, alarm_id, enqueued in (("A1/wl", a1, "03-02 08:01"), ("A1/emb", a1, "03-02 08:01"),
                                        ("A4/grid", a4, "03-20 09:02"), ("A6/wh", a6, "04-01 00:10")):
            assert outbox.enqueue(s, key, "值班", "webhook", "grid", "预警", "可燃气体浓度超过高报阈值",
                                  alarm_id=alarm_id, now=t(enqueued))
        s.flush()
        # what the dispatcher records when a receiver accepted a message
        for key, sent in (("A1/wl", "03-02 08:03"), ("A1/emb", "03-02 08:02"), ("A6/wh", "04-01 00:11")):
            s.execute(sa.update(Notification).where(Notification.idempotency_key == key)
                      .values(status="sent", attempts=1, sent_at=store.instant(t(sent)), last_status_code=200))
    store.dispose(url)
    return ids


def dbt_build(home: Path):
    from dbt.cli.main import dbtRunner

    return dbtRunner().invoke([
        "build", "--project-dir", DBT_DIR, "--profiles-dir", DBT_DIR,
        "--target-path", str(home / "target"), "--log-path", str(home / "logs"),
        "--select", *(f"+{m}" for m in MARTS),
        "--indirect-selection", "cautious",
        "--vars", f"{{as_of_date: '{AS_OF}'}}",
    ])


def build(home: Path) -> None:
    prepare_build(config.settings())
    res = dbt_build(home)
    failed = [(r.node.name, r.status, r.message) for r in (res.result or []) if r.status in ("error", "fail")]
    assert res.success, failed or res.exception


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("responses")
    url = f"sqlite:///{root / 'ops' / 'operations.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("CITYSAFETY_HOME", str(root))
    mp.setenv("CITYSAFETY_OPERATIONS_DB_URL", url)
    mp.delenv("CITYSAFETY_AS_OF_DATE", raising=False)
    ids = make_operations(url)
    before = sha(root / "ops" / "operations.db")
    build(root)
    assert len(ids) == 7
    assert sha(root / "ops" / "operations.db") == before  # read-only on the operations side
    yield root
    mp.undo()


def q(home: Path, sql: str):
    con = duckdb.connect(str(home / "build" / "citysafety.duckdb"))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ------------------------------------------------------------------ the copy


def test_the_copy_leaves_personal_and_free_text_columns_in_the_operations_database(home):
    columns = {(table, column) for table, column in q(home, """
        select table_name, column_name from information_schema.columns where table_schema = 'operations'""")}
    tables = {table for table, _ in columns}
    assert tables == {"alarms", "alarm_events", "notifications"}
    names = {column for _, column in columns}
    assert not names & {"handling_note", "actor", "actor_scope", "remote_addr", "note", "recipient",
                        "endpoint", "payload", "last_error", "idempotency_key"}
    assert q(home, "select count(*) from operations.alarms") == [(7,)]
    assert q(home, "select count(*) from operations.alarm_events where action = '升级'") == [(3,)]
    # Beijing wall time in the build copy (the store keeps UTC)
    assert q(home, "select started_at from operations.alarms where alarm_key like 'P6@%'") == [
        (datetime(2026, 4, 1, 0, 10),)]


# ------------------------------------------------------------------ one row per alarm


def test_one_row_per_alarm_with_its_response(home):
    rows = {r[0].split("@")[0]: r[1:] for r in q(home, """
        select alarm_key, grade, street_code, alarm_month, notified_at, notifications, notifications_sent,
               minutes_to_acknowledge, minutes_to_close, closed_by, escalated, escalations, is_open, status
        from marts.fct_alarm_responses""")}
    assert rows == {
        "P1": ("红色", "WL", "2026-03", datetime(2026, 3, 2, 8, 2), 2, 2, 3.0, 60.0, "处置完毕", False, 0, False, "已归档"),
        "P2": ("红色", "WL", "2026-03", None, 0, 0, 10.0, 90.0, "处置完毕", True, 1, True, "已处置"),
        "P3": ("红色", "TS", "2026-03", None, 0, 0, 30.0, None, None, False, 0, True, "已签收"),
        "P4": ("红色", "UNKNOWN", "2026-03", None, 1, 0, None, None, None, True, 2, True, "待签收"),
        "P5": ("黄色", "WL", "2026-03", None, 0, 0, 20.0, 100.0, "处置完毕", False, 0, False, "已归档"),
        "P6": ("红色", "WH", "2026-04", datetime(2026, 4, 1, 0, 11), 1, 1, 5.0, 60.0, "处置完毕", False, 0, False, "已归档"),
        "P7": ("未分级", "UNKNOWN", "2026-04", None, 0, 0, None, None, None, False, 0, True, "待签收"),
    }
    detail = dict((r[0].split("@")[0], r[1:]) for r in q(home, """
        select alarm_key, raised_at, minutes_to_raise, minutes_to_notify, escalated_at, as_of_at, open_age_minutes
        from marts.fct_alarm_responses"""))
    assert detail["P1"][:4] == (datetime(2026, 3, 2, 8, 1), 1.0, 1.0, None)
    assert detail["P4"][3] == datetime(2026, 3, 20, 9, 20)  # the first escalation
    assert {r[4] for r in detail.values()} == {datetime(2026, 5, 1)}  # end of the as-of day
    assert detail["P3"][5] == 74160.0  # 51.5 days open at the as-of moment
    assert detail["P1"][5] is None and detail["P2"][5] is not None  # handled but not archived: open


# ------------------------------------------------------------------ per grade, street, month


FIGURES = """select alarms, notified, acknowledged, on_site, closed, archived, escalated, still_open,
                    p50_minutes_to_acknowledge, p95_minutes_to_acknowledge, p50_minutes_to_close, p95_minutes_to_close
             from marts.agg_alarm_response_by_month where alarm_month = ? and grade = ? and street_code = ?"""


def figures(home: Path, month: str, grade: str, street: str) -> tuple:
    con = duckdb.connect(str(home / "build" / "citysafety.duckdb"))
    try:
        [row] = con.execute(FIGURES, [month, grade, street]).fetchall()
    finally:
        con.close()
    return tuple(round(v, 6) if isinstance(v, float) else v for v in row)


def test_figures_per_grade_street_and_month(home):
    assert figures(home, "2026-03", "红色", "WL") == (2, 1, 2, 2, 2, 1, 1, 1, 6.5, 9.65, 75.0, 88.5)
    assert figures(home, "2026-03", "红色", "TS") == (1, 0, 1, 0, 0, 0, 0, 1, 30.0, 30.0, None, None)
    assert figures(home, "2026-03", "红色", "UNKNOWN") == (1, 0, 0, 0, 0, 0, 1, 1, None, None, None, None)
    assert figures(home, "2026-03", "红色", "ALL") == (4, 1, 3, 2, 2, 1, 2, 3, 10.0, 28.0, 75.0, 88.5)
    assert figures(home, "2026-03", "红色", "CH") == (0, 0, 0, 0, 0, 0, 0, 0, None, None, None, None)
    assert figures(home, "2026-03", "黄色", "ALL") == (1, 0, 1, 1, 1, 1, 0, 0, 20.0, 20.0, 100.0, 100.0)
    assert figures(home, "2026-04", "红色", "WH") == (1, 1, 1, 1, 1, 1, 0, 0, 5.0, 5.0, 60.0, 60.0)
    assert figures(home, "2026-04", "未分级", "UNKNOWN") == (1, 0, 0, 0, 0, 0, 0, 1, None, None, None, None)
    # every street (the eight and UNKNOWN) and the district, for each grade and month with an alarm
    cells = q(home, """select alarm_month, grade, count(*), count(*) filter (where street_code = 'ALL')
                       from marts.agg_alarm_response_by_month group by all order by all""")
    assert cells == [("2026-03", "红色", 10, 1), ("2026-03", "黄色", 10, 1),
                     ("2026-04", "未分级", 10, 1), ("2026-04", "红色", 10, 1)]
    assert q(home, """select sum(alarms), sum(still_open) from marts.agg_alarm_response_by_month
                      where street_code = 'ALL'""") == [(7, 4)]
    assert q(home, "select street_name from marts.agg_alarm_response_by_month where street_code = 'ALL' limit 1") \
        == [("全区",)]


# ------------------------------------------------------------------ quality gate suites


def suite_results(home: Path) -> dict:
    import great_expectations as gx

    from citysafety.mart.quality import suites

    modules = [s for s in suites() if s.table in {f"marts.{m}" for m in MARTS}]
    assert len(modules) == 2
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("build_copy")
    con = duckdb.connect(str(home / "build" / "citysafety.duckdb"))
    try:
        frames = {s.table: con.execute(s.query).df() for s in modules}
    finally:
        con.close()
    results = {}
    for s in modules:
        batch = source.add_dataframe_asset(s.batch_name).add_batch_definition_whole_dataframe("all")
        results[s.table] = batch.get_batch(batch_parameters={"dataframe": frames[s.table]}).validate(s.module.suite())
    return results


def failures(results: dict) -> dict:
    return {t: [r.expectation_config.type for r in res.results if not r.success]
            for t, res in results.items() if not res.success}


def test_quality_suites_pass_and_catch_a_district_that_does_not_add_up(home):
    assert failures(suite_results(home)) == {}
    from citysafety.mart.quality import suites

    [module] = [s for s in suites() if s.table == "marts.agg_alarm_response_by_month"]
    con = duckdb.connect(str(home / "build" / "citysafety.duckdb"))
    try:
        con.execute("begin transaction")
        con.execute("""update marts.agg_alarm_response_by_month set acknowledged = acknowledged + 1
                       where report_id = '2026-03:红色:ALL'""")
        con.execute("""update marts.agg_alarm_response_by_month set p50_minutes_to_close = 99
                       where report_id = '2026-03:红色:WL'""")
        broken = con.execute(module.query).df()
        con.execute("rollback")
    finally:
        con.close()
    assert not broken.loc[broken.report_id == "2026-03:红色:ALL", "district_adds_up"].item()
    assert not broken.loc[broken.report_id == "2026-03:红色:WL", "percentiles_ordered"].item()


# ------------------------------------------------------------------ no database, or one that does not answer


def test_a_fresh_home_without_an_operations_database_still_builds(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.delenv("CITYSAFETY_OPERATIONS_DB_URL", raising=False)
    build(tmp_path)
    assert not (tmp_path / "operations" / "operations.db").exists()  # nothing made on the operations side
    assert q(tmp_path, "select count(*) from marts.fct_alarm_responses") == [(0,)]
    assert q(tmp_path, "select count(*) from marts.agg_alarm_response_by_month") == [(0,)]
    assert failures(suite_results(tmp_path)) == {}


def test_a_database_never_upgraded_gives_empty_tables(tmp_path, monkeypatch):
    path = tmp_path / "ops.db"
    sa.create_engine(f"sqlite:///{path}").connect().close()  # an empty SQLite file
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CITYSAFETY_OPERATIONS_DB_URL", f"sqlite:///{path}")
    counts = prepare_build(config.settings())
    assert {k: v for k, v in counts.items() if k.startswith("operations.")} == {
        "operations.alarms": 0, "operations.alarm_events": 0, "operations.notifications": 0}


@pytest.mark.parametrize("url, says", [
    ("postgresql+psycopg://citysafety@127.0.0.1:1/citysafety_ops", "无法读取"),
    ("sqlite:///{tmp}/no/such/operations.db", "不存在"),
    ("mysql://u@127.0.0.1/ops", "只支持 PostgreSQL 或 SQLite"),
])
def test_a_url_that_is_set_and_does_not_answer_stops_the_build(tmp_path, monkeypatch, url, says):
    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CITYSAFETY_OPERATIONS_DB_URL", url.format(tmp=tmp_path))
    with pytest.raises((OperationsUnavailable, config.ConfigError), match=says):
        prepare_build(config.settings())
    assert not (tmp_path / "home" / "build" / "citysafety.duckdb").exists()  # stopped before the build copy


def test_postgresql_is_read_in_a_read_only_snapshot(pg_url, tmp_path, monkeypatch):
    """Production's backend: never upgraded gives empty tables; after, the rows in Beijing time;
    the session the build reads in refuses any write."""
    from citysafety.mart import operations

    monkeypatch.setenv("CITYSAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("CITYSAFETY_OPERATIONS_DB_URL", pg_url)
    cfg = config.settings()
    assert {k: v.num_rows for k, v in operations.read(cfg).items()} == {
        "alarms": 0, "alarm_events": 0, "notifications": 0}
    store.upgrade(pg_url)
    with store.session(pg_url) as s:
        a = store.record_alarm(s, point_id="P6", started_at=t("04-01 00:10"), street_code="WH", grade="红色",
                               now=t("04-01 00:10"))
        store.act(s, a.id, store.ACK, actor="officer", scope_streets=("WH",), now=t("04-01 00:15"))
    tables = operations.read(cfg)
    assert tables["alarms"].select(["started_at", "acknowledged_at"]).to_pylist() == [
        {"started_at": datetime(2026, 4, 1, 0, 10), "acknowledged_at": datetime(2026, 4, 1, 0, 15)}]
    assert tables["alarm_events"].column("action").to_pylist() == ["签收"]
    made = operations._engine(store.database_url(pg_url))
    try:
        with made.connect() as con, pytest.raises(sa.exc.InternalError, match="read-only"):
            con.execute(sa.text("create table written_by_the_build (i int)"))
    finally:
        made.dispose()
