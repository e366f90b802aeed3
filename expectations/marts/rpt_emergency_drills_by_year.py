"""marts.rpt_emergency_drills_by_year: drills per year, tier of the plan drilled and street."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.rpt_emergency_drills_by_year"
# The rows add up to marts.fct_drills: drills and participants.
QUERY = """
select *,
       (select sum(drills) from marts.rpt_emergency_drills_by_year)
           = (select count(*) from marts.fct_drills)
       and (select sum(participants) from marts.rpt_emergency_drills_by_year)
           = (select coalesce(sum(participants), 0) from marts.fct_drills) as adds_up_to_drills
from marts.rpt_emergency_drills_by_year
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="report_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToNotBeNull(column="plan_tier_label"),
        gxe.ExpectColumnValuesToBeBetween(column="drills", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="participants", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="adds_up_to_drills", value_set=[True]),
    ])
