"""示范创建: are the streets' demonstration units named on plan, and what holds each unit back?

* Progress by street against the plan (``marts.agg_demonstration_by_street``, the selected
  year): units planned to be named in the year and, of them, named by its last snapshot; units in
  progress, named, and failed at a district assessment or a 复评 during the year. One row per
  street (the district is the sum of the streets: the table has no district row); a chart of
  planned against planned-and-named by street.
* Each unit's weakest criteria at the latest snapshot (``marts.fct_demonstration_units`` where
  ``is_latest_snapshot``): tier, type, street, stage, assessed and self-assessed share, the
  verdict and the criteria under 60 %, most weak criteria first.

Every figure is a published column: the stage as counted, ``is_named``, ``passed`` and the weak
criteria are dbt's; the page selects the year and the streets and sums the counts.

Filters (sidebar) are kept in the URL: ``?streets=WL,TS&year=2019``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from citysafety.share import labels
from dashboards import charts, components, data, frame

# --- constants --------------------------------------------------------------------------------

KEY_STREETS = "demonstration_streets"
KEY_YEAR = "demonstration_year"
QP_YEAR = "year"

T = labels.DEMONSTRATION_TEXTS
COUNTS = [
    "units_listed", "units_planned", "units_planned_named", "units_not_started", "units_in_progress",
    "units_named", "units_named_in_year", "units_failed_assessment", "units_failed_reassessment",
]


# --- small helpers ----------------------------------------------------------------------------


def progress_table(by_street: pd.DataFrame, total_label: str) -> pd.DataFrame:
    """The streets' rows with their plan rate, and a total row (the sum of the streets) when
    there is more than one street."""
    table = by_street.copy()
    table[COUNTS] = table[COUNTS].fillna(0).astype("int64")
    if len(table) > 1:
        total = {c: int(table[c].sum()) for c in COUNTS}
        table = pd.concat([table, pd.DataFrame([{"street_code": "", "street_name": total_label, **total}])],
                          ignore_index=True)
    table["plan_pct"] = [components.rate_pct(n, p) for n, p in zip(table["units_planned_named"],
                                                                      table["units_planned"])]
    return table


def share_pct(values: pd.Series) -> pd.Series:
    """A published share (0..1) as a percentage with one decimal, for display."""
    return pd.to_numeric(values, errors="coerce").mul(100.0).round(1)


def units_table(units: pd.DataFrame) -> pd.DataFrame:
    """The latest snapshot's units as the page lists them (shares in %, the verdict in words)."""
    table = units.copy()
    table["assessed_pct"] = share_pct(table["assessed_share"])
    table["self_pct"] = share_pct(table["self_share"])
    table["passed_text"] = [
        T["not_assessed"] if components.missing(v) else labels.DEMONSTRATION_PASSED[bool(v)]
        for v in table["passed"]
    ]
    return table


# --- sections ---------------------------------------------------------------------------------


def _progress_section(selected: list[str], year: int, scope: str) -> None:
    st.subheader(T["progress_title"].format(year=year, scope=scope))
    st.caption(T["progress_caption"])
    try:
        by_street = data.load_demonstration_by_street(year, selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if by_street.empty or not int(by_street["units_listed"].fillna(0).sum()):
        st.info(T["no_streets"].format(year=year))
        if by_street.empty:
            return
    # the counts: marts.agg_demonstration_by_street summed over the chosen streets
    totals = {c: int(by_street[c].fillna(0).sum()) for c in COUNTS}
    count = T["count"]
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.metric(T["planned"].format(year=year), count.format(n=totals["units_planned"]), border=True)
    c2.metric(T["planned_named"], count.format(n=totals["units_planned_named"]),
              help=T["planned_named_help"], border=True)
    c2.caption(T["plan_rate"].format(rate=components.pct(totals["units_planned_named"], totals["units_planned"])))
    c3.metric(T["in_progress"], count.format(n=totals["units_in_progress"]), border=True)
    c4.metric(T["named"], count.format(n=totals["units_named"]), border=True)
    c5.metric(T["failed_reassessment"], count.format(n=totals["units_failed_reassessment"]),
              help=T["failed_reassessment_help"], border=True)

    streets = by_street.assign(street_name=by_street["street_name"].fillna(data.NO_STREET))
    st.altair_chart(
        charts.demonstration_progress_by_street(
            streets.assign(**{c: streets[c].fillna(0).astype("int64") for c in COUNTS}),
            T["chart_subtitle"].format(year=year, scope=scope)),
        width="stretch",
    )
    district = not selected and frame.viewer_streets() is None
    table = progress_table(streets, frame.DISTRICT if district else T["total_row"])
    frame.table(
        table,
        labels.DEMONSTRATION_STREET_HEADERS,
        column_config={labels.DEMONSTRATION_STREET_HEADERS["plan_pct"]: st.column_config.NumberColumn(format="%.1f")},
    )
    frame.download_buttons(
        table, T["progress_file"].format(year=year), labels.DEMONSTRATION_STREET_HEADERS,
        key="demonstration_progress", sheet_name=T["progress_sheet"],
    )


def _units_section(selected: list[str], scope: str) -> None:
    try:
        units = data.load_demonstration_units(selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    quarters = units["snapshot_quarter"].dropna()
    quarter = str(quarters.max()) if not quarters.empty else frame.MISSING
    st.subheader(T["units_title"].format(quarter=quarter, scope=scope))
    st.caption(T["units_caption"])
    if units.empty:
        st.info(T["no_units"])
        return
    count = T["count"]
    named = units["is_named"].fillna(False).astype(bool)
    failed = units["passed"].map(lambda v: not components.missing(v) and not bool(v))
    weak = pd.to_numeric(units["weak_criteria_count"], errors="coerce").fillna(0) > 0
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(T["units"], count.format(n=len(units)), border=True)
    c2.metric(T["units_named"], count.format(n=int(named.sum())), border=True)
    c3.metric(T["units_failed"], count.format(n=int(failed.sum())), border=True)
    c4.metric(T["units_weak"], count.format(n=int(weak.sum())), border=True)
    table = units_table(units)
    headers = labels.DEMONSTRATION_UNIT_HEADERS
    frame.table(
        table,
        headers,
        keys=2,  # the unit's name and number in every part
        column_config={
            headers["assessed_pct"]: st.column_config.NumberColumn(format="%.1f"),
            headers["self_pct"]: st.column_config.NumberColumn(format="%.1f"),
            headers["target_year"]: st.column_config.NumberColumn(format="%d"),
            headers["stage_date"]: st.column_config.DateColumn(format="YYYY-MM-DD"),
        },
    )
    frame.download_buttons(
        table, T["units_file"].format(quarter=quarter), headers,
        key="demonstration_units", sheet_name=T["units_sheet"],
    )


# --- page -------------------------------------------------------------------------------------


def render() -> None:
    frame.header(T["title"], T["caption"])
    try:
        streets_df = data.load_streets()
        years = data.load_demonstration_years()
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if not years:
        st.info(T["no_data"])
        return
    selected, year = frame.streets_and_year_sidebar(
        streets_df, years, key_streets=KEY_STREETS, key_year=KEY_YEAR, texts=T, param=QP_YEAR)
    names = components.street_names(streets_df)
    scope = frame.scope_text(names, selected, frame.DISTRICT)

    _progress_section(selected, year, scope)
    st.divider()
    _units_section(selected, scope)


if __name__ == "__main__":
    render()
