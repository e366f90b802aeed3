"""marts.rpt_enforcement_insurance: active units and units with 安责险 in force, per street."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.rpt_enforcement_insurance"
STREETS = [*street_codes(), UNKNOWN_STREET]  # the seed dbt_project/seeds/streets.csv
# The insured are some of the units and the coverage is their ratio (null without units).
QUERY = """
select *,
       insured <= units
       and coalesce(abs(insurance_coverage - insured / nullif(units, 0)) < 1e-9, units = 0) as counts_consistent
from marts.rpt_enforcement_insurance
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="street_code"),
        gxe.ExpectColumnDistinctValuesToContainSet(column="street_code", value_set=STREETS),
        gxe.ExpectColumnValuesToBeBetween(column="units", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="insurance_coverage", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeInSet(column="counts_consistent", value_set=[True]),
    ])
