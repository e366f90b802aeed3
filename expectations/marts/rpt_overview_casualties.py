"""marts.rpt_overview_casualties: casualty events per year, street and department of record."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.rpt_overview_casualties"
# The rows add up to marts.fct_casualty_events: events and deaths.
QUERY = """
select *,
       (select sum(events) from marts.rpt_overview_casualties)
           = (select count(*) from marts.fct_casualty_events)
       and (select sum(deaths) from marts.rpt_overview_casualties)
           = (select coalesce(sum(deaths), 0) from marts.fct_casualty_events) as adds_up_to_events
from marts.rpt_overview_casualties
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="report_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToNotBeNull(column="department_name"),
        gxe.ExpectColumnValuesToBeBetween(column="events", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="deaths", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="injuries", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="direct_loss_10k_yuan", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="adds_up_to_events", value_set=[True]),
    ])
