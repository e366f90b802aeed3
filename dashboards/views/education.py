"""宣传教育: how far do safety training and public education reach, and which enterprises are
still to train?

* Coverage by street for the selected year (``marts.agg_education_by_street``): offline
  activities, attendances (people reached), attendances per 1,000 residents and the enterprise
  training coverage (principal and safety manager both assessed in the last 12 months). The
  district row ALL is the whole district (district-wide activities included), not the sum of the
  streets: it is shown as 全区, and read for the cards when no street is chosen, to a user who may
  see the district; a street office reads its own street's row.
* Online courses apart (the ALL row's online courses and views, ``marts.fct_training_activities``
  where ``is_online``): page views, never people reached.
* Activities of the year by type (``marts.fct_training_activities``), with the list.
* The enterprises not yet trained (``marts.fct_enterprise_training_status`` where not
  ``is_covered``, at the as-of date) as a to-do list per street.

Every figure is a published column; the page selects the year and the streets and sums counts
(a rate over several streets: the sum of the numerator over the sum of the denominator).

Filters (sidebar) are kept in the URL: ``?streets=WL,TS&year=2019``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from citysafety.share import labels
from dashboards import charts, components, data, frame

# --- constants --------------------------------------------------------------------------------

KEY_STREETS = "education_streets"
KEY_YEAR = "education_year"
QP_YEAR = "year"

T = labels.EDUCATION_TEXTS
COUNTS = [
    "offline_activities", "attendances", "online_courses", "online_views", "active_enterprises",
    "enterprises_principal_assessed", "enterprises_manager_assessed", "enterprises_covered",
]


# --- small helpers ----------------------------------------------------------------------------


def split_district(by_street: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the district row ALL, the street rows) of ``marts.agg_education_by_street``."""
    is_district = by_street["street_code"].eq(data.DISTRICT)
    return by_street[is_district], by_street[~is_district]


def per_1000(rows: pd.DataFrame) -> float | None:
    """Attendances per 1,000 residents of the rows: the published value of one row; over several
    rows the sum of the attendances over the sum of the residents (in thousands)."""
    if rows.empty:
        return None
    if len(rows) == 1:
        value = rows["attendances_per_1000_residents"].iloc[0]
        return None if components.missing(value) else float(value)
    residents = pd.to_numeric(rows["residents_10k"], errors="coerce")
    if residents.isna().any() or not residents.sum():
        return None
    return round(float(rows["attendances"].fillna(0).sum()) / (float(residents.sum()) * 10.0), 2)


def coverage_table(district_row: pd.DataFrame, streets: pd.DataFrame) -> pd.DataFrame:
    """The district row (as 全区) above the street rows, with the coverage in percent."""
    table = pd.concat([district_row, streets], ignore_index=True)
    table["area_name"] = [
        frame.DISTRICT if code == data.DISTRICT else (name if not components.missing(name) else data.NO_STREET)
        for code, name in zip(table["street_code"], table["street_name"])
    ]
    table["coverage_pct"] = [components.rate_pct(c, a) for c, a in
                             zip(table["enterprises_covered"], table["active_enterprises"])]
    return table


# --- sections ---------------------------------------------------------------------------------


def _coverage_section(by_street: pd.DataFrame, year: int, selected: list[str], district: bool,
                      scope: str) -> None:
    st.subheader(T["coverage_title"].format(year=year, scope=scope))
    whole, streets = split_district(by_street)
    use_district = district and not selected and not whole.empty
    st.caption(T["coverage_caption_district"] if use_district else T["coverage_caption_streets"])
    basis = whole if use_district else streets
    if basis.empty:
        st.info(T["no_streets"].format(year=year))
        return
    # the counts: the district row, or marts.agg_education_by_street summed over the streets
    activities = int(basis["offline_activities"].fillna(0).sum())
    attendances = int(basis["attendances"].fillna(0).sum())
    covered = int(basis["enterprises_covered"].fillna(0).sum())
    active = int(basis["active_enterprises"].fillna(0).sum())
    rate = per_1000(basis)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(T["activities"], T["activities_value"].format(n=f"{activities:,}"), border=True)
    c2.metric(T["attendances"], T["attendances_value"].format(n=f"{attendances:,}"), border=True)
    c3.metric(T["per_1000"], frame.MISSING if rate is None else f"{rate:,.2f}", help=T["per_1000_help"],
              border=True)
    c4.metric(T["coverage"], components.pct(covered, active), border=True)
    c4.caption(T["coverage_detail"].format(covered=f"{covered:,}", active=f"{active:,}"))
    components.show_definition("agg_education_by_street", "enterprise_training_coverage", c4)

    table = coverage_table(whole if district else whole.iloc[0:0], streets)
    if not streets.empty:
        shown = streets.assign(
            street_name=streets["street_name"].fillna(data.NO_STREET),
            coverage_pct=[components.rate_pct(c, a) for c, a in
                          zip(streets["enterprises_covered"], streets["active_enterprises"])],
        )
        left, right = st.columns(2)
        with left:
            st.altair_chart(
                charts.education_per_1000_by_street(shown, T["chart_per_1000_subtitle"].format(year=year, scope=scope)),
                width="stretch",
            )
        with right:
            st.altair_chart(
                charts.education_coverage_by_street(shown, T["chart_coverage_subtitle"].format(year=year, scope=scope)),
                width="stretch",
            )
    headers = labels.EDUCATION_STREET_HEADERS
    frame.table(
        table,
        headers,
        column_config={
            headers["attendances_per_1000_residents"]: st.column_config.NumberColumn(format="%.2f"),
            headers["coverage_pct"]: st.column_config.NumberColumn(format="%.1f"),
            headers["coverage_reference_date"]: st.column_config.DateColumn(format="YYYY-MM-DD"),
        },
    )
    frame.download_buttons(table, T["coverage_file"].format(year=year), headers, key="education_coverage",
                           sheet_name=T["coverage_sheet"])


def _online_section(by_street: pd.DataFrame, year: int, district: bool) -> None:
    st.subheader(T["online_title"].format(year=year))
    if not district:  # a street office: online courses are the district's (street ALL)
        st.info(T["online_not_in_scope"].format(not_in_scope=frame.NOT_IN_SCOPE), icon=":material/visibility_off:")
        return
    st.caption(T["online_caption"])
    whole, _streets = split_district(by_street)
    try:
        courses = data.load_education_activities(year, [], "online")
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    # the district row's counts (online courses are published under ALL only)
    c1, c2 = st.columns(2)
    if whole.empty:
        c1.metric(T["online_courses"], frame.MISSING, border=True)
        c2.metric(T["online_views"], frame.MISSING, border=True)
    else:
        count, views = int(whole["online_courses"].fillna(0).sum()), int(whole["online_views"].fillna(0).sum())
        c1.metric(T["online_courses"], T["online_courses_value"].format(n=f"{count:,}"), border=True)
        c2.metric(T["online_views"], T["online_views_value"].format(n=f"{views:,}"), border=True)
    if courses.empty:
        st.info(T["no_online"].format(year=year))
        return
    headers = labels.EDUCATION_ONLINE_HEADERS
    frame.table(courses, headers,
                column_config={headers["activity_date"]: st.column_config.DateColumn(format="YYYY-MM-DD")})
    frame.download_buttons(courses, T["online_file"].format(year=year), headers, key="education_online",
                           sheet_name=T["online_sheet"])


def _types_section(year: int, selected: list[str], scope: str) -> None:
    st.subheader(T["types_title"].format(year=year, scope=scope))
    st.caption(T["types_caption"])
    try:
        types = data.load_education_activity_types(year, selected)
        activities = data.load_education_activities(year, selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    if types.empty:
        st.info(T["no_activities"].format(year=year))
        return
    types = types.assign(activity_type=types["activity_type"].fillna(frame.MISSING))
    st.altair_chart(
        charts.education_people_by_type(types, T["chart_types_subtitle"].format(year=year, scope=scope)),
        width="stretch",
    )
    headers = labels.EDUCATION_TYPE_HEADERS
    frame.table(types, headers)
    frame.download_buttons(types, T["types_file"].format(year=year), headers, key="education_types",
                           sheet_name=T["types_sheet"])
    activities = activities.assign(
        street_label=[frame.DISTRICT if code == data.DISTRICT else name
                      for code, name in zip(activities["street_code"], activities["street_name"])])
    with st.expander(T["activities_expander"].format(year=year, scope=scope, n=len(activities))):
        headers = labels.EDUCATION_ACTIVITY_HEADERS
        frame.table(activities, headers, keys=2,
                    column_config={headers["activity_date"]: st.column_config.DateColumn(format="YYYY-MM-DD")})
        frame.download_buttons(activities, T["activities_file"].format(year=year), headers,
                               key="education_activities", sheet_name=T["activities_sheet"])


def _todo_section(selected: list[str], scope: str) -> None:
    try:
        todo = data.load_education_todo(selected)
        per_street = data.load_education_todo_by_street(selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return
    dates = per_street["as_of_date"].dropna()
    as_of = pd.Timestamp(dates.max()).date().isoformat() if not dates.empty else frame.MISSING
    st.subheader(T["todo_title"].format(as_of=as_of, scope=scope))
    st.caption(T["todo_caption"])
    if per_street.empty:
        st.info(T["todo_no_enterprises"])
        return
    companies = T["companies_value"]
    # the counts: marts.fct_enterprise_training_status counted per street, summed
    active = int(per_street["active_enterprises"].sum())
    covered = int(per_street["covered"].sum())
    not_covered = int(per_street["not_covered"].sum())
    c1, c2, c3 = st.columns(3)
    c1.metric(T["active"], companies.format(n=f"{active:,}"), border=True)
    c2.metric(T["covered"], companies.format(n=f"{covered:,}"), border=True)
    c3.metric(T["not_covered"], companies.format(n=f"{not_covered:,}"), border=True)
    per_street = per_street.assign(street_name=per_street["street_name"].fillna(data.NO_STREET))
    frame.table(per_street, labels.EDUCATION_TODO_STREET_HEADERS)
    frame.download_buttons(per_street, T["todo_summary_file"].format(as_of=as_of),
                           labels.EDUCATION_TODO_STREET_HEADERS, key="education_todo_streets",
                           sheet_name=T["todo_summary_sheet"])
    if todo.empty:
        st.success(T["todo_none"], icon=":material/check_circle:")
        return
    todo = todo.assign(street_name=todo["street_name"].fillna(data.NO_STREET))
    headers = labels.EDUCATION_TODO_HEADERS
    config = {headers["principal_passed_on"]: st.column_config.DateColumn(format="YYYY-MM-DD"),
              headers["manager_passed_on"]: st.column_config.DateColumn(format="YYYY-MM-DD")}
    streets = list(dict.fromkeys(todo["street_name"]))
    for street in streets:
        rows = todo[todo["street_name"] == street]
        with st.expander(T["todo_street"].format(street=street, n=len(rows)), expanded=len(streets) == 1):
            frame.table(rows, {k: v for k, v in headers.items() if k != "street_name"}, column_config=config)
    frame.download_buttons(todo, T["todo_file"].format(as_of=as_of), headers, key="education_todo",
                           sheet_name=T["todo_sheet"])


# --- page -------------------------------------------------------------------------------------


def render() -> None:
    frame.header(T["title"], T["caption"])
    try:
        streets_df = data.load_streets()
        years = data.load_education_years()
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
    # A street office sees its own streets' rows only: never the district row (ALL), nor the
    # district-wide and online activities.
    district = frame.viewer_streets() is None
    try:
        by_street = data.load_education_by_street(year, selected)
    except data.DataUnavailable as exc:
        components.show_unavailable(exc)
        return

    _coverage_section(by_street, year, selected, district, scope)
    st.divider()
    _online_section(by_street, year, district)
    st.divider()
    _types_section(year, selected, scope)
    st.divider()
    _todo_section(selected, scope)


if __name__ == "__main__":
    render()
