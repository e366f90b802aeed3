"""marts.fct_emergency_plans: one row per current emergency plan, linked up to the district plan."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.fct_emergency_plans"
# the seed dbt_project/seeds/streets.csv, and ALL for the whole district
STREETS_AND_ALL = [*street_codes(), UNKNOWN_STREET, "ALL"]
# The flags must agree with the figures they summarise.
QUERY = """
select
    *,
    reaches_district_plan = (link_issue is null)
        and reaches_district_plan = (depth is not null)
        and drilled_in_last_12_months = (drills_last_12_months > 0) as flags_consistent,
    (street_code = 'ALL') = coalesce(tier in ('区级', '部门'), false) as street_all_iff_district_wide
from marts.fct_emergency_plans
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="plan_id"),
        gxe.ExpectColumnValuesToBeUnique(column="plan_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="reaches_district_plan"),
        gxe.ExpectColumnValuesToBeInSet(column="link_issue",
                                        value_set=["上级预案不存在", "循环引用", "未衔接到区级预案"]),
        gxe.ExpectColumnValuesToBeInSet(column="flags_consistent", value_set=[True]),
        gxe.ExpectColumnValuesToNotBeNull(column="chain"),
        # Below the 区级 plan: 部门/街道 1, 社区 2, 企业 3 - a chain of 20 is an export loop, not a plan.
        gxe.ExpectColumnValuesToBeBetween(column="depth", min_value=0, max_value=20),
        # Monthly drills of one plan are already a lot.
        gxe.ExpectColumnValuesToBeBetween(column="drills_last_12_months", min_value=0, max_value=60),
        # The plan's street: ALL for district (区级) and department (部门) plans, else a street or UNKNOWN.
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS_AND_ALL),
        gxe.ExpectColumnValuesToBeInSet(column="street_all_iff_district_wide", value_set=[True]),
    ])
