"""raw.emb__inspections: inspection items as pulled from 区应急管理局's API (one row a version)."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import feed

TABLE = "raw.emb__inspections"
QUERY = """
select *, year(inspected_on) as inspected_year
from raw.emb__inspections
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="inspection_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="inspection_id", regex=r"^\S+$"),
        gxe.ExpectColumnValuesToNotBeNull(column="inspected_on"),
        # The bureau's system went live long after 2000; a date beyond next year is a typo.
        gxe.ExpectColumnValuesToBeBetween(column="inspected_year", min_value=2000, max_value=2100),
        gxe.ExpectColumnValuesToNotBeNull(column="updated_at"),
        # The registry loads an off-list result (dbt warns); many of them mean the code list changed.
        gxe.ExpectColumnValuesToBeInSet(column="result", value_set=list(feed("emb", "inspections").column("result").choices),
                                        mostly=0.99),
        # Dozens of findings happen; thousands in one visit are a typo.
        gxe.ExpectColumnValuesToBeBetween(column="findings", min_value=0, max_value=1000),
        # The Work Safety Law's largest fine is 100 million yuan (an especially grave accident).
        gxe.ExpectColumnValuesToBeBetween(column="penalty_yuan", min_value=0, max_value=100_000_000),
        gxe.ExpectColumnValuesToNotBeNull(column="_source_file"),
    ])
