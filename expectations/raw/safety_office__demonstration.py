"""raw.safety_office__demonstration: unit-criterion lines as loaded from 区安委办's quarterly creation sheets."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import feed

TABLE = "raw.safety_office__demonstration"
FEED = feed("safety_office", "demonstration")


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="unit_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="unit_id", regex=r"^\S+$"),
        gxe.ExpectColumnValuesToNotBeNull(column="criterion_id"),
        gxe.ExpectColumnValuesToBeInSet(column="stage", value_set=list(FEED.column("stage").choices)),
        gxe.ExpectColumnValuesToBeInSet(column="unit_tier", value_set=list(FEED.column("unit_tier").choices)),
        gxe.ExpectColumnValuesToBeBetween(column="full_points", min_value=0, max_value=100),
        # A score outside 0..满分 is a known defect, flagged and clamped by the mart; more than a
        # few in a hundred means the sheet's columns were shifted.
        gxe.ExpectColumnValuesToBeBetween(column="self_points", min_value=0, max_value=100, mostly=0.95),
        gxe.ExpectColumnValuesToBeBetween(column="assessed_points", min_value=0, max_value=100, mostly=0.95),
        gxe.ExpectColumnValuesToBeBetween(column="target_year", min_value=2016, max_value=2035),
        gxe.ExpectColumnValuesToNotBeNull(column="_source_file"),
    ])
