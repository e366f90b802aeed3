"""marts.fct_demonstration_units: creating units of the demonstration streets and communities per quarter."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import DEMONSTRATION_STAGES
from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.fct_demonstration_units"
# The verdict follows the agreement's rule (>= 80 % overall, no B3 criterion under 60 %) on the
# published shares; and a unit is listed once per quarter, under one street.
QUERY = """
select *,
       passed is null or passed = (assessed_share >= 0.8 and coalesce(b3_min_assessed_share, 1) >= 0.6)
           as verdict_follows_rule,
       count(distinct street_code) over (partition by unit_id) = 1 as one_street_per_unit
from marts.fct_demonstration_units
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="unit_quarter_id"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["unit_id", "snapshot_quarter"]),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=[*street_codes(), UNKNOWN_STREET]),
        gxe.ExpectColumnValuesToBeInSet(column="stage", value_set=list(DEMONSTRATION_STAGES)),
        gxe.ExpectColumnValuesToBeBetween(column="self_share", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="assessed_share", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="weak_criteria_count", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="verdict_follows_rule", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="one_street_per_unit", value_set=[True]),
    ])
