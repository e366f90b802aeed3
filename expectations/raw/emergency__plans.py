"""raw.emergency__plans: plan lines as loaded from 区应急指挥中心's monthly full lists."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import feed

TABLE = "raw.emergency__plans"
QUERY = """
select *, year(published_on) as published_year, year(revised_on) as revised_year
from raw.emergency__plans
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="plan_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="plan_id", regex=r"^\S+$"),
        # The agreement's five tiers; a stray spelling is a warning in dbt, a flood is a broken export.
        gxe.ExpectColumnValuesToBeInSet(column="tier", value_set=list(feed("emergency", "plans").column("tier").choices),
                                        mostly=0.95),
        # A plan is a document of this century; a year outside is a typing error in the export.
        gxe.ExpectColumnValuesToBeBetween(column="published_year", min_value=1990, max_value=2100),
        gxe.ExpectColumnValuesToBeBetween(column="revised_year", min_value=1990, max_value=2100),
        gxe.ExpectColumnValuesToNotBeNull(column="_source_file"),
    ])
