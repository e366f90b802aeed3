"""marts.rpt_monitoring_alarm_windows: alarm episodes per recent-alarm window and hazard source."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.config import dbt_project_vars

TABLE = "marts.rpt_monitoring_alarm_windows"
WINDOWS = [int(d) for d in dbt_project_vars()["alarm_window_days"]]  # dbt's var, held once there
# A window spans its days up to the as-of day; a source alarms when it has episodes; the rows of
# a window add up to the daily aggregate over the window's days.
QUERY = """
with windows as (
    select window_days, any_value(window_from) as window_from, any_value(window_to) as window_to,
           sum(episodes) as episodes
    from marts.rpt_monitoring_alarm_windows
    group by window_days
),
daily as (
    select windows.window_days, coalesce(sum(d.episodes), 0) as episodes
    from windows
    left join marts.agg_sensor_alarms_daily as d on d.day between windows.window_from and windows.window_to
    group by windows.window_days
)
select r.*,
       r.window_to - r.window_from = r.window_days - 1
       and r.high_high_episodes <= r.episodes
       and r.hazard_sources_alarming = (r.episodes > 0)::integer as counts_consistent,
       windows.episodes = daily.episodes as adds_up_to_daily
from marts.rpt_monitoring_alarm_windows as r
join windows using (window_days)
join daily using (window_days)
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="report_id"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["window_days", "hazard_source_id"]),
        gxe.ExpectColumnValuesToBeInSet(column="window_days", value_set=WINDOWS),
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToBeBetween(column="episodes", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="counts_consistent", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="adds_up_to_daily", value_set=[True]),
    ])
