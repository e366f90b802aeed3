"""emb/inspections end to end on real components: the project's own demo API (a real HTTP server
on 127.0.0.1, demo.emb_api) -> the pull (citysafety.land.http_api) -> the ingest ->
the dbt build -> the Great Expectations suites, plus one real Airflow DAG run.

The bureau's records (ITEMS, hand-made) are 7 inspections in 3 pages of 3:

  XCZF20190001  U_A  合格       0 findings                      2019-03-01T10:00+08:00
  XCZF20190002  U_B  责令整改   3 findings                      2019-03-04T11:00+08:00
  XCZF20190003  U_C  行政处罚   30,000 yuan                     2019-03-05T15:30+08:00
  XCZF20190004  U_D  停产整顿   150,000 yuan, blacklisted       2019-03-06T16:00+08:00
  XCZF20190005  -    责令整改   no uscc, updated_at in UTC      2019-03-07T09:00Z (= 17:00 Shanghai)
  XCZF20190006  U_A  责令整改   inspected_on 2019-02-30         2019-03-08T10:00+08:00 -> quarantined
  XCZF20190007  U_E  行政处罚   12,500 yuan                     2019-03-08T12:00+08:00

Then the bureau changes XCZF20190002 after a re-check (行政处罚, 20,000 yuan, 2019-04-01T09:30)
and records XCZF20190008 (U_B, 合格, 2019-04-02T10:00). The second pull asks updated_since =
2019-03-08T12:00:00+08:00 (the watermark); the server, inclusive, answers XCZF20190007 again
with the two changes; the pull writes the two changes only. A third pull finds nothing.

Hand-computed: extract 1 delivers 7 = 6 loaded + 1 quarantined; extract 2 delivers 2 = 2 + 0.
fct_inspections: 7 rows (ids 1-5, 7, 8); XCZF20190002 -> 行政处罚, 20000 yuan = 2.0 万元,
versions 2, from extract 2; penalties 30000 + 150000 + 20000 + 12500 = 212,500 yuan = 21.25 万元.
int_blacklist_current as of 2020-01-01: U_D only, since 2019-03-06, until 2022-03-06, by
XCZF20190004.
"""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from citysafety.raw import ingest, store
from citysafety.orchestrate import runner
from citysafety.mart.build import prepare_build
from citysafety.config import DBT_PROJECT_DIR, Settings
from demo.emb_api import DATA_FILE, TOKEN_FILE, DemoAPI, Faults
from citysafety.land.extracts import NotConfigured, read_watermark
from citysafety.land.http_api import ApiAuthError, PullError, pull
from citysafety.land.pull import pull_feed
from citysafety.sources import EMB_INSPECTIONS as FEED


def item(n, uscc, on, team, findings, result, penalty, black, updated):
    return {"inspection_id": f"XCZF2019{n:04d}", "uscc": uscc, "inspected_on": on, "team": team,
            "findings": findings, "result": result, "penalty_yuan": penalty, "blacklisted": black,
            "updated_at": updated}


ITEMS = [
    item(1, "U_A", "2019-03-01", "执法一中队", 0, "合格", 0, False, "2019-03-01T10:00:00+08:00"),
    item(2, "U_B", "2019-03-04", "执法二中队", 3, "责令整改", 0, False, "2019-03-04T11:00:00+08:00"),
    item(3, "U_C", "2019-03-05", "执法一中队", 5, "行政处罚", 30000, False, "2019-03-05T15:30:00+08:00"),
    item(4, "U_D", "2019-03-06", "危险化学品执法中队", 7, "停产整顿", 150000, True, "2019-03-06T16:00:00+08:00"),
    item(5, None, "2019-03-07", "执法三中队", 2, "责令整改", 0, False, "2019-03-07T09:00:00Z"),
    item(6, "U_A", "2019-02-30", "执法三中队", 1, "责令整改", 0, False, "2019-03-08T10:00:00+08:00"),
    item(7, "U_E", "2019-03-08", "执法二中队", 4, "行政处罚", 12500.0, False, "2019-03-08T12:00:00+08:00"),
]
CHANGES = [
    item(2, "U_B", "2019-03-04", "执法二中队", 3, "行政处罚", 20000, False, "2019-04-01T09:30:00+08:00"),
    item(8, "U_B", "2019-04-02", "执法一中队", 0, "合格", 0, False, "2019-04-02T10:00:00+08:00"),
]


def line(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def write_items(folder: Path, items, token: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DATA_FILE).write_text("".join(line(i) + "\n" for i in items), "utf-8")
    if token:
        (folder / TOKEN_FILE).write_text(token + "\n", "utf-8")


def extracts(cfg) -> list[Path]:
    folder = cfg.landing / FEED.source / FEED.feed
    return sorted(folder.glob(FEED.file_glob)) if folder.is_dir() else []


def leftovers(cfg) -> list[str]:
    folder = cfg.landing / FEED.source / FEED.feed
    return [p.name for p in folder.iterdir() if p.name.endswith((".part", ".tmp"))] if folder.is_dir() else []


@pytest.fixture
def api_dir(tmp_path):
    token = secrets.token_urlsafe(24)
    write_items(tmp_path / "api", ITEMS, token)
    return tmp_path / "api", token


@pytest.fixture
def cfg(tmp_path):
    return Settings(home=(tmp_path / "home").resolve())


def gaps_after(seen, status):
    """Seconds between each `status` answer and the next request."""
    return [b.at - a.answered_at for a, b in zip(seen, seen[1:]) if a.status == status]


# ------------------------------------------------------------------ pull, incremental, module state

@pytest.fixture(scope="module")
def pulled(tmp_path_factory):
    """First pull (3 pages), the bureau's changes, second pull, third pull (nothing new)."""
    root = tmp_path_factory.mktemp("inspections")
    cfg = Settings(home=(root / "home").resolve())
    token = secrets.token_urlsafe(24)
    write_items(root / "api", ITEMS, token)
    out = {"cfg": cfg, "root": root}
    with DemoAPI(root / "api") as api:
        out["first"] = pull(FEED, cfg, base_url=api.url, token=token, page_size=3)
        out["first_requests"] = api.api_requests()
        out["first_served"] = [i for _, i in api.current()]
        out["mark1"] = read_watermark(FEED, cfg)
        write_items(root / "api", ITEMS + CHANGES)
        n = len(api.api_requests())
        time.sleep(0.002)  # the extract stamp has microseconds; keep the names apart
        out["second"] = pull(FEED, cfg, base_url=api.url, token=token, page_size=3)
        out["second_requests"] = api.api_requests()[n:]
        out["mark2"] = read_watermark(FEED, cfg)
        n = len(api.api_requests())
        out["third"] = pull(FEED, cfg, base_url=api.url, token=token, page_size=3)
        out["third_requests"] = api.api_requests()[n:]
        out["mark3"] = read_watermark(FEED, cfg)
    return out


def test_first_pull_takes_all_three_pages_into_one_extract(pulled):
    cfg, first = pulled["cfg"], pulled["first"]
    assert first is not None and first.parent == cfg.landing / "emb" / "inspections"
    assert first.name.startswith("inspections_") and first.name.endswith("Z.jsonl")
    seen = pulled["first_requests"]
    assert [(s.params["page"], s.params["page_size"], s.status) for s in seen] == \
        [("1", "3", 200), ("2", "3", 200), ("3", "3", 200)]
    assert all(s.authorized and "updated_since" not in s.params for s in seen)
    # One JSON object a line, exactly as served, in the server's order (09:00Z is 17:00 in Hangzhou).
    served = pulled["first_served"]
    assert [i["inspection_id"] for i in served] == [f"XCZF2019{n:04d}" for n in range(1, 8)]
    assert first.read_text("utf-8") == "".join(line(i) + "\n" for i in served)
    assert "停产整顿" in first.read_text("utf-8")  # UTF-8, not \u escapes
    assert pulled["mark1"]["updated_at"] == "2019-03-08T12:00:00+08:00"
    assert pulled["mark1"]["inspection_ids_at_watermark"] == ["XCZF20190007"]
    assert pulled["mark1"]["extract"] == first.name and pulled["mark1"]["items"] == 7
    assert not leftovers(cfg)


def test_second_pull_asks_from_the_watermark_and_writes_only_the_changes(pulled):
    seen = pulled["second_requests"]
    assert [s.params for s in seen] == [
        {"updated_since": "2019-03-08T12:00:00+08:00", "page": "1", "page_size": "3"}]
    second = pulled["second"]
    assert second is not None and second != pulled["first"]
    # The server (inclusive) sent XCZF20190007 again: already pulled at that instant, not rewritten.
    assert second.read_text("utf-8") == "".join(line(i) + "\n" for i in CHANGES)
    assert pulled["mark2"]["updated_at"] == "2019-04-02T10:00:00+08:00"
    assert pulled["mark2"]["inspection_ids_at_watermark"] == ["XCZF20190008"]


def test_third_pull_finds_nothing_new_and_leaves_the_watermark(pulled):
    assert pulled["third"] is None
    assert [s.params["updated_since"] for s in pulled["third_requests"]] == ["2019-04-02T10:00:00+08:00"]
    assert pulled["mark3"] == pulled["mark2"]
    assert len(extracts(pulled["cfg"])) == 2 and not leftovers(pulled["cfg"])


# ------------------------------------------------------------------ being polite and robust

def test_429_waits_what_retry_after_says(api_dir, cfg):
    folder, token = api_dir
    with DemoAPI(folder, faults=Faults(first_429=2, retry_after="1")) as api:
        path = pull(FEED, cfg, base_url=api.url, token=token, page_size=3)
        seen = api.api_requests()
    assert [s.status for s in seen] == [429, 429, 200, 200, 200]
    assert [s.retry_after for s in seen[:2]] == ["1", "1"]
    waits = gaps_after(seen, 429)
    assert len(waits) == 2 and all(w >= 1.0 for w in waits), waits
    assert len(path.read_text("utf-8").splitlines()) == 7


def test_429_with_an_http_date_is_honoured(api_dir, cfg):
    folder, token = api_dir
    with DemoAPI(folder, faults=Faults(first_429=1, retry_after="date:2")) as api:
        path = pull(FEED, cfg, base_url=api.url, token=token, page_size=3)
        seen = api.api_requests()
    assert seen[0].status == 429 and seen[0].retry_after.endswith(" GMT")
    # An HTTP date has whole seconds: "now + 2 s" truncated is at least 1 s ahead.
    assert gaps_after(seen, 429)[0] >= 0.9
    assert path is not None and [s.status for s in seen[1:]] == [200, 200, 200]


def test_503_backs_off_exponentially_and_completes(api_dir, cfg):
    folder, token = api_dir
    with DemoAPI(folder, faults=Faults(first_503=3)) as api:
        path = pull(FEED, cfg, base_url=api.url, token=token, page_size=3, backoff_base=0.1)
        seen = api.api_requests()
    assert [s.status for s in seen] == [503, 503, 503, 200, 200, 200]
    waits = gaps_after(seen, 503)
    # n-th wait is 0.1 * 2**n times a jitter in [0.5, 1]: at least 0.05, 0.1, 0.2 s.
    assert [w >= 0.1 * 2 ** n * 0.5 for n, w in enumerate(waits)] == [True, True, True], waits
    assert waits[2] > waits[0]
    assert len(path.read_text("utf-8").splitlines()) == 7


def test_503_without_end_gives_up_after_max_retries(api_dir, cfg):
    folder, token = api_dir
    with DemoAPI(folder, faults=Faults(first_503=50)) as api:
        with pytest.raises(PullError, match="gave up after 3 retries"):
            pull(FEED, cfg, base_url=api.url, token=token, page_size=3, backoff_base=0.01, max_retries=3)
        assert len(api.api_requests()) == 4
    assert extracts(cfg) == [] and read_watermark(FEED, cfg) is None and not leftovers(cfg)


def test_a_storm_of_429_and_503_still_completes(api_dir, cfg):
    folder, token = api_dir
    with DemoAPI(folder, faults=Faults(storm=0.5, seed=7, retry_after="0")) as api:
        path = pull(FEED, cfg, base_url=api.url, token=token, page_size=2, backoff_base=0.01,
                    max_retries=12)
        seen = api.api_requests()
        served = [i for _, i in api.current()]
    statuses = [s.status for s in seen]
    assert statuses.count(200) == 4  # 4 pages of 2
    assert 429 in statuses and 503 in statuses
    assert (statuses.count(429) + statuses.count(503)) / len(statuses) >= 0.3
    assert path.read_text("utf-8") == "".join(line(i) + "\n" for i in served)


def test_wrong_token_fails_clearly_without_showing_it(api_dir, cfg, caplog):
    folder, token = api_dir
    wrong = "wrong-" + secrets.token_urlsafe(16)
    caplog.set_level(logging.DEBUG)
    with DemoAPI(folder, token=token) as api:
        with pytest.raises(ApiAuthError) as err:
            pull(FEED, cfg, base_url=api.url, token=wrong, page_size=3)
        seen = api.api_requests()
    message = str(err.value)
    assert "'emb_api'" in message and "401" in message
    assert wrong not in message and token not in message
    assert wrong not in caplog.text and token not in caplog.text
    assert [(s.status, s.authorized) for s in seen] == [(401, False)]
    assert extracts(cfg) == [] and read_watermark(FEED, cfg) is None and not leftovers(cfg)


# ------------------------------------------------------------------ ingest, dbt, quality gate

@pytest.fixture(scope="module")
def built(pulled):
    from dbt.cli.main import dbtRunner

    cfg, root = pulled["cfg"], pulled["root"]
    mp = pytest.MonkeyPatch()
    mp.setenv("CITYSAFETY_HOME", str(cfg.home))
    try:
        results = ingest.ingest_feed(FEED, cfg)
        prepare_build(cfg)
        res = dbtRunner().invoke([
            "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(root / "target"), "--log-path", str(root / "logs"),
            "--select", "+fct_inspections", "+int_blacklist_current",
            "--vars", '{"blacklist_as_of": "2020-01-01"}'])
    finally:
        mp.undo()
    return {"cfg": cfg, "results": results, "dbt": res}


def q(cfg, sql):
    # dbt ran in this process and its DuckDB instance may still be open: same configuration.
    con = duckdb.connect(str(cfg.build_db))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_each_extract_reconciles(built, pulled):
    by_name = {r.file_name: r for r in built["results"]}
    first, second = pulled["first"].name, pulled["second"].name
    assert set(by_name) == {first, second}
    assert (by_name[first].rows_delivered, by_name[first].rows_loaded, by_name[first].rows_quarantined,
            by_name[first].status) == (7, 6, 1, "partial")
    assert (by_name[second].rows_delivered, by_name[second].rows_loaded,
            by_name[second].rows_quarantined) == (2, 2, 0)
    recon = q(built["cfg"], """select file_name, rows_delivered, rows_loaded, rows_quarantined
                               from audit.reconciliation where feed = 'inspections' order by file_name""")
    assert recon == [(first, 7, 6, 1), (second, 2, 2, 0)]
    reasons = q(built["cfg"], "select row_number, reason from audit.quarantine where feed = 'inspections'")
    assert len(reasons) == 1 and reasons[0][0] == 6 and "inspected_on" in reasons[0][1] and "2019-02-30" in reasons[0][1]


def test_changed_inspection_is_one_row_with_the_newer_values(built, pulled):
    assert built["dbt"].success
    rows = {r[0]: r[1:] for r in q(built["cfg"], """
        select inspection_id, uscc, inspected_on::varchar, year, team, findings, result, penalty_yuan,
               penalty_10k_yuan, blacklisted, updated_at::varchar, versions, source_file
        from marts.fct_inspections""")}
    assert sorted(rows) == [f"XCZF2019{n:04d}" for n in (1, 2, 3, 4, 5, 7, 8)]
    assert rows["XCZF20190002"] == ("U_B", "2019-03-04", 2019, "执法二中队", 3, "行政处罚", 20000.0, 2.0,
                                    False, "2019-04-01 09:30:00", 2, pulled["second"].name)
    assert rows["XCZF20190005"][0] is None and rows["XCZF20190005"][9] == "2019-03-07 17:00:00"
    assert rows["XCZF20190004"][6:9] == (150000.0, 15.0, True)
    assert all(r[10] == 1 for k, r in rows.items() if k != "XCZF20190002")
    assert q(built["cfg"], "select sum(penalty_10k_yuan) from marts.fct_inspections") == [(21.25,)]
    assert q(built["cfg"], "select count(*) from raw.emb__inspections") == [(8,)]


def test_blacklist_current_as_of_2020(built):
    assert q(built["cfg"], """
        select uscc, first_blacklisted_on::varchar, listed_until::varchar, blacklistings,
               last_inspection_id
        from intermediate.int_blacklist_current""") == [("U_D", "2019-03-06", "2022-03-06", 1, "XCZF20190004")]


def test_quality_suites_pass_on_the_build(built):
    import great_expectations as gx

    from citysafety.mart import quality

    mine = {s.table: s for s in quality.suites() if s.table in ("raw.emb__inspections", "marts.fct_inspections")}
    assert set(mine) == {"raw.emb__inspections", "marts.fct_inspections"}
    con = duckdb.connect(str(built["cfg"].build_db))
    try:
        frames = {t: con.execute(s.query).df() for t, s in mine.items()}
    finally:
        con.close()
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("inspections")
    for table, s in mine.items():
        batch = source.add_dataframe_asset(table.replace(".", "__")).add_batch_definition_whole_dataframe("all")
        result = batch.get_batch(batch_parameters={"dataframe": frames[table]}).validate(s.module.suite())
        assert result.success, (table, [r.expectation_config.type for r in result.results if not r.success])
        assert len(frames[table]) == {"raw.emb__inspections": 8, "marts.fct_inspections": 7}[table]


# ------------------------------------------------------------------ the Airflow connection

def test_connection_from_airflow_or_not_configured(api_dir, cfg, tmp_path, monkeypatch):
    folder, token = api_dir
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.delenv("AIRFLOW_CONN_EMB_API", raising=False)
    with pytest.raises(NotConfigured) as err:
        pull_feed(FEED, cfg)
    assert str(err.value) == "emb/inspections: Airflow connection 'emb_api' is not configured; skipped"
    assert extracts(cfg) == []
    with DemoAPI(folder) as api:  # the token from the data folder's token file
        monkeypatch.setenv("AIRFLOW_CONN_EMB_API", api.connection_uri())
        path = pull_feed(FEED, cfg, page_size=5)
        seen = api.api_requests()
    assert [(s.params["page"], s.authorized) for s in seen] == [("1", True), ("2", True)]
    assert len(path.read_text("utf-8").splitlines()) == 7


def test_airflow_dag_pulls_and_loads(tmp_path):
    cfg = Settings(home=(tmp_path / "home").resolve())
    token = secrets.token_urlsafe(24)
    write_items(tmp_path / "api", ITEMS, token)
    runner.init_airflow(cfg)
    with DemoAPI(tmp_path / "api") as api:
        env = {**runner.airflow_env(cfg), "AIRFLOW_CONN_EMB_API": api.connection_uri()}
        done = subprocess.run([str(runner.VENV_BIN / "airflow"), "dags", "test", "ingest_emb"],
                              env=env, capture_output=True, text=True, timeout=300)
        seen = api.api_requests()
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    assert token not in output
    assert seen and all(s.authorized for s in seen)
    [extract] = extracts(cfg)
    assert len(extract.read_text("utf-8").splitlines()) == 7
    assert read_watermark(FEED, cfg)["updated_at"] == "2019-03-08T12:00:00+08:00"
    [load] = store.loads(FEED, cfg)
    recon = pq.read_table(load / "reconciliation.parquet").to_pylist()[0]
    assert (recon["file_name"], recon["rows_delivered"], recon["rows_loaded"], recon["rows_quarantined"]) \
        == (extract.name, 7, 6, 1)
    assert pq.read_table(load / "rows.parquet").num_rows == 6
