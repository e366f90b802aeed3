"""marts.agg_demonstration_by_street: demonstration creation per street and year."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.agg_demonstration_by_street"
STREETS = [*street_codes(), UNKNOWN_STREET]
# Each year's rows add up to the units of fct_demonstration_units listed that year, and the
# standing counts never exceed the units listed.
QUERY = """
with listed as (
    select snapshot_year as year, count(distinct unit_id) as units
    from marts.fct_demonstration_units group by snapshot_year
),
summed as (
    select year, sum(units_listed) as units_listed
    from marts.agg_demonstration_by_street group by year
)
select agg.*,
       coalesce(summed.units_listed, 0) = coalesce(listed.units, 0) as adds_up_to_units,
       agg.units_not_started + agg.units_in_progress + agg.units_named <= agg.units_listed
           and agg.units_planned_named <= agg.units_planned as standing_within_listed
from marts.agg_demonstration_by_street as agg
left join summed on agg.year = summed.year
left join listed on agg.year = listed.year
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="street_year_id"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS),
        gxe.ExpectColumnValuesToBeBetween(column="units_listed", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="adds_up_to_units", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="standing_within_listed", value_set=[True]),
    ])
