"""The reporting marts' rules (dbt_project/models/marts/rpt_*.sql) on hand numbers, without a build.

Each model's SQL is rendered as dbt renders it (``ref`` → a table, ``var`` → dbt_project.yml's
vars, the project's macros: tests/dashboard_harness.py ``render_model``) and run by DuckDB over
input tables with the published contract's columns. The same rules are dbt unit tests (the models' YAML), run by every `dbt build` (tests/test_pipeline.py).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from dashboard_harness import contract_columns, render_model


def run_model(model: str, inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        con.execute("create schema marts")
        for relation, frame in inputs.items():
            con.execute(f"create table marts.{relation} ({contract_columns(relation)})")
            columns = list(frame.columns)
            con.executemany(
                f"insert into marts.{relation} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
                frame.astype(object).where(frame.notna(), None).values.tolist())
        return con.execute(render_model(model)).df()
    finally:
        con.close()


def projection(kpi: pd.DataFrame) -> dict[tuple[str, int], pd.Series]:
    out = run_model("rpt_targets_projection", {"kpi_safety_targets": kpi})
    return {(r["indicator"], int(r["seen_from_year"])): r for _, r in out.iterrows()}


def test_project_2020_rules():
    kpi = pd.DataFrame({
        "year": [2016, 2017],
        "deaths_total": [40, 39],
        "deaths_target_2020": [24.0, 24.0],
    })
    rows = projection(kpi)
    slow = rows[("deaths_total", 2017)]
    assert slow["mode"] == "projected" and slow["target_met"] is not None and not slow["target_met"]
    assert round(slow["value_2020"], 2) == round(39 * (39 / 40) ** 3, 2)  # 36.15 > 24
    assert round(slow["annual_change"], 4) == -0.025
    assert "年均变化率" in slow["method"]
    # A selected year after 2020 without a 2020 value projects from the last year before 2020:
    # the page reads the row of the latest year not after it (2017), whose last year is 2017.
    assert int(slow["last_year"]) == 2017
    # No year after 2016 yet, or no 2016 base: nothing to project.
    assert rows[("deaths_total", 2016)]["mode"] == "unavailable"
    no_base = projection(kpi[kpi["year"] > 2016])
    assert no_base[("deaths_total", 2017)]["mode"] == "unavailable"
    assert no_base[("deaths_total", 2017)]["unavailable_reason"] == "缺少2016年基数"
    # From 2020 on with a 2020 value: the actual outcome.
    actual = projection(pd.concat([kpi, pd.DataFrame({"year": [2020, 2021], "deaths_total": [25, 23],
                                                      "deaths_target_2020": [24.0, 24.0]})]))
    for year in (2020, 2021):
        row = actual[("deaths_total", year)]
        assert row["mode"] == "actual" and row["value_2020"] == 25 and row["target_met"] is not None and not row["target_met"]
    # Before 2020 the 2020 value is not used: seen from 2017 it is still a projection.
    assert actual[("deaths_total", 2017)]["mode"] == "projected"


def test_projection_of_the_overview_fixture():
    """The 总览 fixture's KPI rows (tests/test_dashboard_overview.py) give its projection rows."""
    from test_dashboard_overview import KPI_ROWS, PROJECTION_ROWS

    columns = [c.split(" ")[0] for c in contract_columns("marts.kpi_safety_targets").split(", ")]
    kpi = pd.DataFrame(KPI_ROWS, columns=columns)
    out = run_model("rpt_targets_projection", {"kpi_safety_targets": kpi})
    published = [c.split(" ")[0] for c in contract_columns("marts.rpt_targets_projection").split(", ")]
    assert list(out.columns) == published
    expected = pd.DataFrame(PROJECTION_ROWS, columns=published).drop(columns=["method"])
    got = out.drop(columns=["method"]).sort_values(["indicator", "seen_from_year"], ignore_index=True)
    expected = expected.sort_values(["indicator", "seen_from_year"], ignore_index=True)
    for frame in (got, expected):
        for column in ("seen_from_year", "base_year", "last_year"):
            frame[column] = frame[column].astype("float64")
        frame["target_met"] = frame["target_met"].astype(object).where(frame["target_met"].notna(), None)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=False, rtol=1e-9)
    # 29 × (29/40) = 21.025 ≤ 24, sqrt(29/40) − 1 = −14.9 %, sqrt(24/29) − 1 = −9.0 %.
    row = got[(got["indicator"] == "deaths_total") & (got["seen_from_year"] == 2018)].iloc[0]
    assert round(row["value_2020"], 3) == 21.025 and round(row["annual_change"], 3) == -0.149
    assert round(row["required_change"], 3) == -0.090




def test_risk_by_street_highest_level_and_labels():
    """agg_risk_points_by_street on hand rows: levels counted by fct_risk_points' label and order,
    the street's reddest level on each of its rows (未定级 only when nothing else)."""
    points = pd.DataFrame({
        "risk_point_id": ["A", "B", "C", "D", "E"],
        "street_code": ["WL", "WL", "WL", "TS", "DX"],
        "flagged": [False, True, False, False, True],
        "snapshot_quarter": ["2024Q2"] * 5,
        "risk_level_label": ["黄", "橙", "黄", "蓝", "未定级"],
        "risk_level_order": [3, 2, 3, 4, 5],
    })
    out = run_model("agg_risk_points_by_street", {"fct_risk_points": points})
    rows = {(r["street_code"], r["risk_level"]): r for _, r in out.iterrows()}
    assert set(rows) == {("WL", "黄"), ("WL", "橙"), ("TS", "蓝"), ("DX", "未定级")}
    assert (rows[("WL", "黄")]["risk_points"], rows[("WL", "黄")]["flagged_points"]) == (2, 0)
    assert (rows[("WL", "橙")]["risk_points"], rows[("WL", "橙")]["flagged_points"]) == (1, 1)
    assert rows[("WL", "黄")]["street_highest_level"] == rows[("WL", "橙")]["street_highest_level"] == "橙"
    assert rows[("TS", "蓝")]["street_highest_level"] == "蓝"
    assert rows[("DX", "未定级")]["street_highest_level"] == "未定级"
