"""marts.fct_drills: one row per emergency drill, with its plan and street."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.fct_drills"
# the seed dbt_project/seeds/streets.csv, and ALL for the whole district
STREETS_AND_ALL = [*street_codes(), UNKNOWN_STREET, "ALL"]


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="drill_id"),
        gxe.ExpectColumnValuesToBeUnique(column="drill_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="drilled_on"),
        gxe.ExpectColumnValuesToBeBetween(column="drill_year", min_value=2000, max_value=2100),
        gxe.ExpectColumnValuesToBeBetween(column="participants", min_value=0, max_value=10000),
        # The plan's street: ALL for district and department plans, UNKNOWN without one.
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS_AND_ALL),
        gxe.ExpectColumnValuesToNotBeNull(column="source_file"),
    ])
