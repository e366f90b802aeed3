"""marts.fct_drills: one row per emergency drill, with its plan and street."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.fct_drills"
STREETS_AND_ALL = ["WL", "TS", "CH", "CM", "CQ", "SQ", "DX", "WH", "UNKNOWN", "ALL"]


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
