"""marts.agg_resources_by_street: current emergency resources per street and resource type."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import feed
from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.agg_resources_by_street"
STREETS = [*street_codes(), UNKNOWN_STREET]  # the seed dbt_project/seeds/streets.csv
TYPES = list(feed("emergency", "resources").column("resource_type").choices)  # the registry's


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        # Every street (and UNKNOWN) times every agreed type, even with no resources at all.
        gxe.ExpectTableRowCountToBeBetween(min_value=len(STREETS) * len(TYPES)),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["street_code", "resource_type"]),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS),
        gxe.ExpectColumnDistinctValuesToContainSet(column="street_code", value_set=STREETS),
        gxe.ExpectColumnDistinctValuesToContainSet(column="resource_type", value_set=TYPES),
        gxe.ExpectColumnValuesToBeBetween(column="resources", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="quantity_total", min_value=0),
    ])
