"""marts.agg_risk_points_by_street: risk points of the current inventory per street and level."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.agg_risk_points_by_street"
# Flagged points are some of the points; the rows add up to the inventory (marts.fct_risk_points).
QUERY = """
select *,
       flagged_points <= risk_points as flagged_within_points,
       (select sum(risk_points) from marts.agg_risk_points_by_street)
           = (select count(*) from marts.fct_risk_points) as adds_up_to_inventory
from marts.agg_risk_points_by_street
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["street_code", "risk_level"]),
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToBeBetween(column="risk_points", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="flagged_points", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="flagged_within_points", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="adds_up_to_inventory", value_set=[True]),
    ])
