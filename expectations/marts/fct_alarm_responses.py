"""marts.fct_alarm_responses: one row per alarm of the operations database, its response."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.fct_alarm_responses"
STREETS = [*street_codes(), UNKNOWN_STREET]
# The steps keep the state machine's order (签收 → 到场 → 处置完毕 → 归档); open means not
# archived; the flags agree with the times and counts they summarise. (No comparison with
# operations.alarms: a build whose plan does not reselect this table would fail the gate on
# alarms raised since, rather than publish the figures of the last build that did.)
QUERY = """
select *,
       (acknowledged_at is not null or arrived_at is null)
       and (arrived_at is not null or handled_at is null)
       and (closed_at is null) = (closed_by is null)
       and is_open = (status != '已归档')
       and is_open = (archived_at is null)
       and is_open = (open_age_minutes is not null)
       and escalated = (escalations > 0)
       and escalated = (escalated_at is not null)
       and notifications_sent <= notifications
       and (notified_at is not null) = (notifications_sent > 0) as steps_consistent
from marts.fct_alarm_responses
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="alarm_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="grade"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS),
        gxe.ExpectColumnValuesToMatchRegex(column="alarm_month", regex=r"^\d{4}-\d{2}$"),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=["待签收", "已签收", "已到场", "已处置", "已归档"]),
        gxe.ExpectColumnValuesToBeBetween(column="minutes_to_acknowledge", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="minutes_to_close", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="open_age_minutes", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="steps_consistent", value_set=[True]),
    ])
