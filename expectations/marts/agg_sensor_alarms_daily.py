"""marts.agg_sensor_alarms_daily: one row per local day and hazard source with readings or episodes."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.agg_sensor_alarms_daily"
STREETS = [*street_codes(), UNKNOWN_STREET]  # the seed dbt_project/seeds/streets.csv


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["day", "hazard_source_id"]),
        gxe.ExpectColumnValuesToNotBeNull(column="day"),
        gxe.ExpectColumnValuesToNotBeNull(column="hazard_source_id"),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="readings", column_B="alarm_readings",
                                                    or_equal=True),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="episodes", column_B="high_high_episodes",
                                                    or_equal=True),
        # The street of the unit operating the hazard source (by credit code), UNKNOWN without one.
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS),
    ])
