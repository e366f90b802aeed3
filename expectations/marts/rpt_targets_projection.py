"""marts.rpt_targets_projection: one row per headline target and year seen from (district)."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.rpt_targets_projection"
# A projected or actual outcome has a value and a verdict; an unavailable one says why.
QUERY = """
select *,
       case mode when 'unavailable' then unavailable_reason is not null and value_2020 is null
                 else value_2020 is not null and target_met is not null end as mode_consistent
from marts.rpt_targets_projection
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="projection_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="projection_id"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["indicator", "seen_from_year"]),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=["ALL"]),
        gxe.ExpectColumnValuesToBeInSet(column="indicator", value_set=["deaths_total", "deaths_per_100m_gdp"]),
        gxe.ExpectColumnValuesToBeInSet(column="mode", value_set=["actual", "projected", "unavailable"]),
        gxe.ExpectColumnValuesToBeInSet(column="mode_consistent", value_set=[True]),
        gxe.ExpectColumnValuesToBeBetween(column="value_2020", min_value=0),
    ])
