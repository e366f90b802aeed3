"""raw.emergency__drills: drill lines as loaded from 区应急指挥中心's monthly files."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import feed

TABLE = "raw.emergency__drills"
QUERY = "select *, year(drilled_on) as drilled_year from raw.emergency__drills"


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="drill_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="drill_id", regex=r"^\S+$"),
        gxe.ExpectColumnValuesToNotBeNull(column="drilled_on"),
        gxe.ExpectColumnValuesToBeBetween(column="drilled_year", min_value=2000, max_value=2100),
        gxe.ExpectColumnValuesToBeInSet(column="drill_form", value_set=list(feed("emergency", "drills").column("drill_form").choices), mostly=0.95),
        # The district's largest exercise involves hundreds, not tens of thousands, of people.
        gxe.ExpectColumnValuesToBeBetween(column="participants", min_value=0, max_value=10000),
        gxe.ExpectColumnValuesToNotBeNull(column="_source_file"),
    ])
