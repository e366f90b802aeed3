"""marts.agg_street_values: one row per source, feed and delivered street value, with its street."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.agg_street_values"
STREETS = [*street_codes(), UNKNOWN_STREET]  # the seed dbt_project/seeds/streets.csv
# A value is UNKNOWN exactly when it matched no accepted spelling.
QUERY = """
select *, (street_code = 'UNKNOWN') = (match_method = 'unmapped') as method_consistent
from marts.agg_street_values
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["source", "feed", "street_raw"]),
        gxe.ExpectColumnValuesToNotBeNull(column="source"),
        gxe.ExpectColumnValuesToNotBeNull(column="feed"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_raw"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS),
        gxe.ExpectColumnValuesToBeInSet(column="match_method", value_set=["exact", "unmapped"]),
        gxe.ExpectColumnValuesToBeInSet(column="method_consistent", value_set=[True]),
        gxe.ExpectColumnValuesToBeBetween(column="rows", min_value=1),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="last_seen_on", column_B="first_seen_on",
                                                    or_equal=True, ignore_row_if="either_value_is_missing"),
    ])
