"""marts.rpt_hazards_by_month: hidden hazards per month found and street, counts that add up."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.rpt_hazards_by_month"
# Each count is a part of what it is counted among, and the rows add up to marts.fct_hazards.
QUERY = """
select *,
       rectified + open_hazards <= found
       and open_overdue <= open_hazards and rectified_late <= rectified and overdue <= found
       and major <= found and major_supervised + major_not_supervised <= major
       and major_not_supervised_open <= major_not_supervised as counts_consistent,
       (select sum(found) from marts.rpt_hazards_by_month)
           = (select count(*) from marts.fct_hazards) as adds_up_to_hazards
from marts.rpt_hazards_by_month
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="report_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_name"),
        gxe.ExpectColumnValuesToMatchRegex(column="found_month", regex=r"^\d{4}-\d{2}$"),
        gxe.ExpectColumnValuesToBeBetween(column="found", min_value=1),
        gxe.ExpectColumnValuesToBeInSet(column="counts_consistent", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="adds_up_to_hazards", value_set=[True]),
    ])
