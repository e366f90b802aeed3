"""The whole path on its real components: Airflow DAG runs (`airflow dags test`) ingest the
hand-made deliveries, cosmos runs `dbt build` model by model, the Great Expectations checkpoint
gates, publish swaps the warehouse in; then the overview page reads it. A second delivery that
breaks the gate must leave the published mart untouched.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import duckdb
import pytest

import deliveries
from citysafety import config
from citysafety.orchestrate import runner

pytestmark = pytest.mark.pipeline
SPINE_DAGS = ["ingest_emb", "ingest_fire", "ingest_traffic", "ingest_stats", "build_mart"]


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    """The spine delivered and run once through every spine DAG: (home, the finished process)."""
    root = tmp_path_factory.mktemp("citysafety")
    mp = pytest.MonkeyPatch()
    mp.setenv("CITYSAFETY_HOME", str(root))
    deliveries.write_spine(root / "landing")
    # The spine's departments, then the build (the other departments have delivered nothing:
    # their DAGs would only skip; `make pipeline` runs them all).
    result = subprocess.run([sys.executable, "-m", "citysafety.orchestrate", "pipeline",
                             *SPINE_DAGS], env=runner.airflow_env(config.settings()),
                            capture_output=True, text=True)
    if result.returncode:
        print(_output(result)[-20000:])
    assert result.returncode == 0, "pipeline failed"
    yield root, result
    mp.undo()


@pytest.fixture(scope="module")
def home(pipeline_run):
    return pipeline_run[0]


def _logs_named(text):
    """The DAG logs a pipeline's output names (`log: <path>.log` / `logs in <folder>`)."""
    import re
    from pathlib import Path

    paths = [Path(m) for m in re.findall(r"log: (\S+\.log)", text)]
    for folder in re.findall(r"logs in (\S+)", text):
        paths += sorted(Path(folder).glob("*.log"))
    return paths


def _output(result):
    """What a pipeline run said: its terminal output, then every DAG log it names."""
    text = result.stdout + result.stderr
    return text + "".join(p.read_text(errors="replace") for p in _logs_named(text))


def test_pipeline_prints_one_line_per_dag_start_and_end(pipeline_run):
    """`make pipeline` (and `make demo`) show progress, not the DAGs' thousands of log lines: a
    line as each DAG starts and as it ends with its outcome and duration, then where the logs
    are; each DAG's log is a file under $CITYSAFETY_HOME/logs/pipeline/."""
    root, result = pipeline_run
    lines = (result.stdout + result.stderr).splitlines()
    assert len(lines) <= 2 * len(SPINE_DAGS) + 3, lines
    for i, dag_id in enumerate(SPINE_DAGS, start=1):
        assert sum(line.startswith(f"[{i}/{len(SPINE_DAGS)}] {dag_id} 开始") for line in lines) == 1, dag_id
        ended = [line for line in lines if line.startswith(f"[{i}/{len(SPINE_DAGS)}] {dag_id} 成功 success (")]
        assert len(ended) == 1 and ended[0].endswith(" s)"), dag_id
    logs = _logs_named(lines[-1])
    assert sorted(p.stem for p in logs) == sorted(SPINE_DAGS)
    assert all(p.is_relative_to(root / "logs" / "pipeline") and p.stat().st_size > 0 for p in logs)
    assert "Marking run" in (logs[0].parent / "build_mart.log").read_text()  # the DAG's own output


def q(home, sql, params=None):
    con = duckdb.connect(str(home / "warehouse" / "citysafety.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_headline_targets_match_hand_computed_numbers(home):
    rows = q(home, """select year, deaths_workplace, deaths_fire, deaths_road, deaths_total,
                             gdp_100m_yuan, deaths_per_100m_gdp, deaths_change_vs_2016,
                             rate_change_vs_2016, deaths_target_2020, rate_target_2020,
                             deaths_target_met, rate_target_met, gdp_status
                      from marts.kpi_safety_targets order by year""")
    got = {r[0]: r for r in rows}
    assert sorted(got) == [2016, 2017, 2018, 2019, 2020]
    for year, (w, f, r, t, gdp) in deliveries.EXPECTED_KPI.items():
        assert got[year][1:6] == (w, f, r, t, gdp), year
    y2016, y2017, y2020 = got[2016], got[2017], got[2020]
    assert y2016[6] == pytest.approx(8 / 800)
    assert y2016[13] == "最终核实"
    assert y2017[6] == pytest.approx(1 / 900) and y2017[13] == "初步核算"
    assert got[2018][6] is None  # no GDP delivered: no rate
    assert y2020[6] == pytest.approx(3 / 1250)
    assert y2020[7] == pytest.approx(3 / 8 - 1)  # -0.625
    assert y2020[8] == pytest.approx((3 / 1250) / (8 / 800) - 1)  # -0.76
    assert y2020[9] == pytest.approx(8 * 0.6)
    assert y2020[10] == pytest.approx(8 / 800 * 0.45)
    assert y2020[11] is True and y2020[12] is True
    assert y2016[11] is False


def test_each_event_once_with_its_department_street_and_lineage(home):
    events = {r[0]: r[1:] for r in q(home, """
        select event_id, department, street_code, deaths, injuries, direct_loss_10k_yuan,
               linked_emb_accident_ids, source_file, year
        from marts.fct_casualty_events""")}
    assert len(events) == deliveries.EXPECTED_EVENTS
    assert "emb:A-2016-3" not in events and "emb:A-2016-4" not in events
    assert events["fire:F-2016-1"][:6] == ("fire", "CH", 1, 0, 25.0, "A-2016-3")
    assert events["traffic:JJ-2016-1"][:6] == ("traffic", "SQ", 1, 2, None, "A-2016-4")
    assert events["emb:A-2016-1"][4] == pytest.approx(1234.5)
    assert events["emb:A-2016-2"][2] == 1 and events["emb:A-2016-2"][6] == "accidents_201601_corr1.csv"
    assert events["emb:A-2016-7"][1] == "UNKNOWN"
    assert events["fire:F-2016-2"][2] == 1 and events["fire:F-2016-2"][6] == "fires_2016-W04.csv"
    assert events["traffic:JJ-2016-2"][2] == 2
    assert events["traffic:JJ-2016-3"][7] == 2017  # 17:00Z on 31 Dec is New Year in Hangzhou
    by_street = dict(q(home, """select street_code, sum(deaths)::int from marts.fct_casualty_events
                                where year = 2016 group by 1"""))
    assert {k: v for k, v in by_street.items() if v} == deliveries.EXPECTED_DEATHS_BY_STREET_2016


def test_every_delivered_row_is_loaded_or_quarantined(home):
    recon = q(home, """select source, feed, file_name, rows_delivered, rows_loaded,
                              rows_quarantined, status, duplicate_of from audit.reconciliation""")
    assert len(recon) == deliveries.EXPECTED_FILES
    for source, feed, name, delivered, loaded, quarantined, status, dup in recon:
        assert delivered == loaded + quarantined, name
    dup = [r for r in recon if r[2] == "fires_2016-W04_resend.csv"][0]
    assert dup[6] == "duplicate" and dup[7] == "fires_2016-W04.csv"
    quarantined = dict(((s, f), n) for s, f, n in q(home, """
        select source, feed, count(*)::int from audit.quarantine group by 1, 2"""))
    for key, n in deliveries.EXPECTED_QUARANTINE.items():
        assert quarantined.get(key, 0) == n, key
    reasons = [r[0] for r in q(home, "select reason from audit.quarantine order by reason")]
    assert any("发生时间" in r for r in reasons)
    assert any("死亡人数" in r and "1.5" in r for r in reasons)
    assert any("expected 11 fields, got 10" in r for r in reasons)
    assert any("not valid JSON" in r for r in reasons)


def test_published_warehouse_is_shared_tables_only(home):
    schemas = {r[0] for r in q(home, "select distinct schema_name from duckdb_tables()")}
    assert schemas == {"marts", "audit"}
    gate = q(home, "select count(*), bool_and(success) from audit.quality_results")[0]
    assert gate[0] > 20 and gate[1] is True


def test_overview_page_reads_the_published_mart(home, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CITYSAFETY_AUTH", "off")  # the page without sign-in

    at = AppTest.from_file(str(config.PROJECT_ROOT / "dashboards" / "app.py"), default_timeout=60)
    at.query_params["to"] = "2020"
    at.run()
    assert not at.exception
    values = [m.value for m in at.metric]
    assert "3 人" in values  # 2020 deaths, district-wide
    assert "0.0024 人/亿元" in values


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _marts(home):
    tables = [r[0] for r in q(home, "select table_name from duckdb_tables() where schema_name = 'marts'")]
    return {t: q(home, f"select md5(coalesce(string_agg(t::varchar, '|' order by t::varchar), '')) "
                       f"from marts.{t} t")[0][0] for t in sorted(tables)}


def test_rerunning_the_dags_changes_nothing(home):
    raw_before = {p: _sha(p) for p in sorted((home / "raw").rglob("*")) if p.is_file()}
    marts_before = _marts(home)
    result = subprocess.run([sys.executable, "-m", "citysafety.orchestrate", "pipeline",
                             "ingest_fire", "build_mart"],
                            env=runner.airflow_env(config.settings()),
                            capture_output=True, text=True)
    assert result.returncode == 0, _output(result)[-5000:]
    assert "no new deliveries" in _output(result)  # the ingest task skipped
    assert {p: _sha(p) for p in sorted((home / "raw").rglob("*")) if p.is_file()} == raw_before
    assert _marts(home) == marts_before


def test_failed_gate_keeps_the_last_published_mart(home):
    live = home / "warehouse" / "citysafety.duckdb"
    before = _sha(live)
    deliveries.write_gate_breaker(home / "landing")
    result = subprocess.run([sys.executable, "-m", "citysafety.orchestrate", "pipeline",
                             "ingest_emb", "build_mart"],
                            env=runner.airflow_env(config.settings()),
                            capture_output=True, text=True)
    output = _output(result)
    assert result.returncode != 0
    # Loud in the terminal: the failed DAG, its log, and the gate's reason from that log.
    assert "build_mart 失败 FAILED" in result.stdout and "build_mart.log" in result.stdout
    assert "quality gate failed" in result.stderr
    assert "quality gate failed" in output
    assert "raw.emb__accidents" in output and "150" in output
    assert _sha(live) == before
    assert q(home, "select deaths_total from marts.kpi_safety_targets where year = 2020") == [(3,)]
    gate = json.loads((home / "quality" / "last_gate.json").read_text())
    assert gate["success"] is False
    assert (home / "quality" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").exists()


def test_source_freshness_runs_with_each_build_and_gates_the_publish(home, tmp_path):
    """The build ran dbt source freshness: every spine feed fresh, the feeds that never delivered
    `no_data` (not blocking), published in audit.source_freshness. On a copy of the build copy
    whose fire feed was last loaded 20 days ago (error after 15) and economy 450 days ago (warn
    after 400), the gate stops the publish naming fire and only fire."""
    import shutil

    from citysafety.mart import freshness, quality

    statuses = dict(q(home, "select table_name, status from audit.source_freshness"))
    assert {statuses[t] for t in ("emb__accidents", "fire__fires", "traffic__road_accidents",
                                  "stats__economy")} == {"pass"}
    assert statuses["grid__hazard_reports"] == "no_data"
    cfg = config.Settings(home=tmp_path / "home")
    cfg.build_dir.mkdir(parents=True)
    shutil.copy2(home / "build" / "citysafety.duckdb", cfg.build_db)
    con = duckdb.connect(str(cfg.build_db))
    con.execute("update raw.fire__fires set _loaded_at = _loaded_at - interval 20 day")
    con.execute("update raw.stats__economy set _loaded_at = _loaded_at - interval 450 day")
    con.close()
    assert freshness.check(cfg)["error"] == 1
    con = duckdb.connect(str(cfg.build_db), read_only=True)
    assert dict(con.execute("select table_name, status from audit.source_freshness "
                            "where status <> 'pass'").fetchall()) == {
        "fire__fires": "error", "stats__economy": "warn", **{
            t: "no_data" for t, s in statuses.items() if s == "no_data"}}
    con.close()
    with pytest.raises(quality.QualityGateFailed) as failed:
        quality.validate(cfg)
    message = str(failed.value)
    assert "source freshness: fire.fire__fires" in message and "stats" not in message.split("Data Docs")[0]
