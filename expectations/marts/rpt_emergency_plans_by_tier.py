"""marts.rpt_emergency_plans_by_tier: current plans per tier and street of the plans."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.rpt_emergency_plans_by_tier"
# Every plan reaches the district plan or not; the rows add up to marts.fct_emergency_plans.
QUERY = """
select *,
       reaching_district + not_reaching_district = plans
       and drilled_last_12_months <= plans as counts_consistent,
       (select sum(plans) from marts.rpt_emergency_plans_by_tier)
           = (select count(*) from marts.fct_emergency_plans) as adds_up_to_plans
from marts.rpt_emergency_plans_by_tier
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="report_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToNotBeNull(column="tier_order"),
        gxe.ExpectColumnValuesToBeBetween(column="plans", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="drill_coverage_12_months", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeInSet(column="counts_consistent", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="adds_up_to_plans", value_set=[True]),
    ])
