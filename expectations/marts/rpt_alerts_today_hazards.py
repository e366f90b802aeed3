"""marts.rpt_alerts_today_hazards: one row per street, the 总览 alerts on hidden hazards."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.rpt_alerts_today_hazards"
# The parts are never more than the wholes they are counted in.
QUERY = """
select *,
       major_overdue_not_supervised <= least(major_overdue_open, major_not_supervised_open)
       and major_overdue_open <= overdue_open and overdue_open <= open_hazards as counts_consistent
from marts.rpt_alerts_today_hazards
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="street_code"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToBeBetween(column="major_overdue_open", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="major_not_supervised_open", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="overdue_open", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="counts_consistent", value_set=[True]),
    ])
