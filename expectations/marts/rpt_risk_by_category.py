"""marts.rpt_risk_by_category: risk points of the current inventory per street, category and level."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.rpt_risk_by_category"
# Flagged points are some of the points; the rows add up to marts.fct_risk_points.
QUERY = """
select *,
       flagged_points <= risk_points as flagged_within_points,
       (select sum(risk_points) from marts.rpt_risk_by_category)
           = (select count(*) from marts.fct_risk_points) as adds_up_to_inventory
from marts.rpt_risk_by_category
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="report_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToNotBeNull(column="risk_category"),
        gxe.ExpectColumnValuesToBeBetween(column="risk_points", min_value=1),
        gxe.ExpectColumnValuesToBeInSet(column="flagged_within_points", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="adds_up_to_inventory", value_set=[True]),
    ])
