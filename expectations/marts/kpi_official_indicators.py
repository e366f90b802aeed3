"""marts.kpi_official_indicators: the official safety indicators per year (and street)."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.kpi_official_indicators"


def suite() -> gx.ExpectationSuite:
    rates = ["hazard_rectification_rate", "major_hazard_supervised_rate", "monitoring_coverage",
             "insurance_coverage", "drill_coverage"]
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="indicator_id"),
        gxe.ExpectColumnValuesToBeInSet(
            column="street_code",
            value_set=["ALL", *street_codes(), UNKNOWN_STREET]),
        gxe.ExpectColumnValuesToBeBetween(column="deaths", min_value=0),
        *[gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1) for c in rates],
        # No upper bound: on a street with a few hundred registered employees one death is
        # already hundreds per 100k. Rates are never negative.
        gxe.ExpectColumnValuesToBeBetween(column="workplace_deaths_per_100k_employees", min_value=0),
        # District rates: residents and vehicles number in the hundreds of thousands.
        gxe.ExpectColumnValuesToBeBetween(column="fire_deaths_per_100k_residents", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToBeBetween(column="road_deaths_per_10k_vehicles", min_value=0, max_value=100),
    ])
