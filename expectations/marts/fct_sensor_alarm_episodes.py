"""marts.fct_sensor_alarm_episodes: one row per alarm episode of a monitoring point (local times)."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import EMB_HAZARD_SOURCES
from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.fct_sensor_alarm_episodes"
STREETS = [*street_codes(), UNKNOWN_STREET]  # the seed dbt_project/seeds/streets.csv
HAZARD_LEVELS = list(EMB_HAZARD_SOURCES.column("hazard_level").choices)
QUERY = """
select *,
       coalesce(peak_value >= high_high_threshold, false) as high_high_expected
from marts.fct_sensor_alarm_episodes
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="episode_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="episode_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="point_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="hazard_source_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="started_at"),
        gxe.ExpectColumnValuesToBeInSet(column="metric", value_set=["temperature", "pressure", "level", "gas"],
                                        mostly=0.95),
        # An episode is made of readings above 高报阈值, at least one.
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="peak_value", column_B="high_threshold"),
        gxe.ExpectColumnValuesToBeBetween(column="readings", min_value=1),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="ended_at", column_B="started_at", or_equal=True),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="cleared_at", column_B="ended_at",
                                                    ignore_row_if="either_value_is_missing"),
        gxe.ExpectColumnValuesToBeBetween(column="duration_minutes", min_value=0),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="reached_high_high", column_B="high_high_expected"),
        # The street of the unit operating the hazard source (by credit code), UNKNOWN without one.
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS),
        # The registry's levels: with the threshold reached they grade an alarm (policy/alarms.yml).
        gxe.ExpectColumnValuesToBeInSet(column="hazard_level", value_set=HAZARD_LEVELS),
    ])
