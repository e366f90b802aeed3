"""marts.rpt_enforcement_inspections: inspections per month, street of the unit and result."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.rpt_enforcement_inspections"
# Penalised inspections are some of the inspections; the rows add up to marts.fct_inspections.
QUERY = """
select *,
       penalised <= inspections and blacklistings <= inspections as counts_consistent,
       (select sum(inspections) from marts.rpt_enforcement_inspections)
           = (select count(*) from marts.fct_inspections) as adds_up_to_inspections
from marts.rpt_enforcement_inspections
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="report_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToNotBeNull(column="result_category"),
        gxe.ExpectColumnValuesToBeBetween(column="inspections", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="findings", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="penalty_10k_yuan", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="counts_consistent", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="adds_up_to_inspections", value_set=[True]),
    ])
