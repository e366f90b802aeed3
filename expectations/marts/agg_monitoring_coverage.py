"""marts.agg_monitoring_coverage: per hazard source, the share of its points reporting in the last 24 h."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.agg_monitoring_coverage"
STREETS = [*street_codes(), UNKNOWN_STREET]  # the seed dbt_project/seeds/streets.csv


def suite() -> gx.ExpectationSuite:
    # No floor on coverage itself: a sensor outage is what this table shows, not a broken build.
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="hazard_source_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="hazard_source_id"),
        gxe.ExpectColumnValuesToBeBetween(column="points", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="coverage_24h", min_value=0, max_value=1),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="points", column_B="points_reporting_24h",
                                                    or_equal=True),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="as_of_time", column_B="last_reading_at",
                                                    or_equal=True, ignore_row_if="either_value_is_missing"),
        # The street of the unit operating the hazard source (by credit code), UNKNOWN without one.
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS),
        # Fully covered (2027-01-04): every point reported in the window.
        gxe.ExpectColumnValuesToNotBeNull(column="fully_covered"),
    ])
