"""marts.dim_streets: the district's streets and UNKNOWN, one row each (the seed streets.csv)."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.dim_streets"
STREETS = [*street_codes(), UNKNOWN_STREET]  # the seed dbt_project/seeds/streets.csv
QUERY = """
select *, is_unknown = (street_code = 'UNKNOWN') as unknown_consistent
from marts.dim_streets
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectTableRowCountToEqual(value=len(STREETS)),
        gxe.ExpectColumnValuesToBeUnique(column="street_code"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS),
        gxe.ExpectColumnDistinctValuesToContainSet(column="street_code", value_set=STREETS),
        gxe.ExpectColumnValuesToBeUnique(column="street_name"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_name"),
        gxe.ExpectColumnValuesToBeInSet(column="unknown_consistent", value_set=[True]),
    ])
