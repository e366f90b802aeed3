"""marts.fct_hazards: one row per hidden hazard, latest version, with its rectification flags."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import feed
from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.fct_hazards"
# Derived check column: the flags must agree with each other.
QUERY = """
select *, (is_open = not is_rectified)
          and (not major_not_supervised or is_major)
          and (not is_overdue or deadline is not null) as flags_consistent
from marts.fct_hazards
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="report_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="report_id"),
        gxe.ExpectColumnValuesToBeInSet(
            column="street_code",
            value_set=[*street_codes(), UNKNOWN_STREET]),
        gxe.ExpectColumnValuesToBeInSet(column="level", value_set=list(feed("grid", "hazard_reports").column("level").choices)),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=["待整改", "整改中", "已整改", "已销号"]),
        gxe.ExpectColumnValuesToBeBetween(column="year", min_value=2000, max_value=2100),
        # Rectification takes days to months; a negative or decades-long span is a typo
        # (tolerated in a few rows, which stay visible).
        gxe.ExpectColumnValuesToBeBetween(column="days_to_rectify", min_value=0, max_value=3650,
                                          mostly=0.99),
        gxe.ExpectColumnValuesToNotBeNull(column="is_overdue"),
        gxe.ExpectColumnValuesToNotBeNull(column="major_not_supervised"),
        gxe.ExpectColumnValuesToBeInSet(column="flags_consistent", value_set=[True]),
        gxe.ExpectColumnValuesToNotBeNull(column="source_file"),
    ])
