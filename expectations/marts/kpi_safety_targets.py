"""marts.kpi_safety_targets: the action plan's headline targets per year."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.config import dbt_project_vars

TABLE = "marts.kpi_safety_targets"
QUERY = """
select *, deaths_workplace + deaths_fire + deaths_road as deaths_sum_of_parts
from marts.kpi_safety_targets
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="year"),
        # the action plan's base year (dbt_project.yml vars: baseline_year)
        gxe.ExpectColumnDistinctValuesToContainSet(column="year", value_set=[dbt_project_vars()["baseline_year"]]),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="deaths_total", column_B="deaths_sum_of_parts"),
        gxe.ExpectColumnValuesToBeBetween(column="deaths_total", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="gdp_100m_yuan", min_value=1, max_value=100000),
        gxe.ExpectColumnValuesToBeBetween(column="deaths_per_100m_gdp", min_value=0, max_value=10),
    ])
