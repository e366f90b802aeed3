"""marts.rpt_monthly_briefing: one row per street, month and indicator of the monthly briefing."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.rpt_monthly_briefing"
# Counts are never negative, a share lies in [0, 1], and the report month is the last complete
# month before the as-of date on every row.
QUERY = """
select *,
       (unit = '比例' and (value is null or value between 0 and 1))
       or (unit != '比例' and value >= 0) as value_in_range,
       report_month = (date_trunc('month', as_of_date) - interval 1 month)::date as month_consistent
from marts.rpt_monthly_briefing
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="briefing_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToBeInSet(column="value_in_range", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="month_consistent", value_set=[True]),
    ])
