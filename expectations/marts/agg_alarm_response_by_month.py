"""marts.agg_alarm_response_by_month: response figures per month, grade and street, and the district."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.agg_alarm_response_by_month"
STREETS = [*street_codes(), UNKNOWN_STREET, "ALL"]
# Each count is a part of the one before it (the state machine's order); still open is what is
# not archived; p50 <= p95; the district row (ALL) is the sum of its streets for every count;
# the district rows add up to marts.fct_alarm_responses.
QUERY = """
with streets as (
    select alarm_month, grade,
           sum(alarms) as alarms, sum(notified) as notified, sum(acknowledged) as acknowledged,
           sum(on_site) as on_site, sum(closed) as closed, sum(archived) as archived,
           sum(escalated) as escalated, sum(still_open) as still_open
    from marts.agg_alarm_response_by_month
    where street_code != 'ALL'
    group by alarm_month, grade
)
select agg.*,
       agg.notified <= agg.alarms and agg.acknowledged <= agg.alarms
       and agg.on_site <= agg.acknowledged and agg.closed <= agg.on_site and agg.archived <= agg.closed
       and agg.escalated <= agg.alarms and agg.still_open = agg.alarms - agg.archived as counts_consistent,
       coalesce(agg.p50_minutes_to_acknowledge <= agg.p95_minutes_to_acknowledge, true)
       and coalesce(agg.p50_minutes_to_close <= agg.p95_minutes_to_close, true)
       and (agg.p50_minutes_to_acknowledge is null) = (agg.acknowledged = 0)
       and (agg.p50_minutes_to_close is null) = (agg.closed = 0) as percentiles_ordered,
       agg.street_code != 'ALL'
       or (streets.alarms, streets.notified, streets.acknowledged, streets.on_site, streets.closed,
           streets.archived, streets.escalated, streets.still_open)
          = (agg.alarms, agg.notified, agg.acknowledged, agg.on_site, agg.closed,
             agg.archived, agg.escalated, agg.still_open) as district_adds_up,
       (select coalesce(sum(alarms), 0) from marts.agg_alarm_response_by_month where street_code = 'ALL')
           = (select count(*) from marts.fct_alarm_responses) as adds_up_to_alarms
from marts.agg_alarm_response_by_month as agg
left join streets on agg.alarm_month = streets.alarm_month and agg.grade = streets.grade
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="report_id"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["alarm_month", "grade", "street_code"]),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS),
        gxe.ExpectColumnValuesToMatchRegex(column="alarm_month", regex=r"^\d{4}-\d{2}$"),
        gxe.ExpectColumnValuesToBeBetween(column="alarms", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="p50_minutes_to_acknowledge", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="p50_minutes_to_close", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="counts_consistent", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="percentiles_ordered", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="district_adds_up", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="adds_up_to_alarms", value_set=[True]),
    ])
