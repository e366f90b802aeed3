"""marts.rpt_alerts_today_plans: one row per street of the plans, the 总览 alert on emergency plans."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.rpt_alerts_today_plans"
QUERY = """
select *, plans_not_reaching_district <= plans as counts_consistent
from marts.rpt_alerts_today_plans
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="street_code"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToBeBetween(column="plans", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="counts_consistent", value_set=[True]),
    ])
