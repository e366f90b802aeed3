"""marts.agg_education_by_street: education coverage per street and the district, per year."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.agg_education_by_street"
STREETS = [*street_codes(), UNKNOWN_STREET, "ALL"]
# The district row counts every activity of the year (fct_training_activities up to the as-of
# date): offline attendances and online views; covered enterprises never exceed active ones.
QUERY = """
with facts as (
    select activity_year as year,
           sum(people_reached) as attendances,
           coalesce(sum(attendances) filter (where is_online), 0) as online_views
    from marts.fct_training_activities
    where activity_date <= (select max(coverage_reference_date) from marts.agg_education_by_street)
       or (select max(coverage_reference_date) from marts.agg_education_by_street) is null
    group by activity_year
)
select agg.*,
       agg.street_code != 'ALL'
           or (agg.attendances = coalesce(facts.attendances, 0)
               and agg.online_views = coalesce(facts.online_views, 0)) as district_adds_up,
       agg.enterprises_covered <= least(agg.enterprises_principal_assessed, agg.enterprises_manager_assessed)
           and greatest(agg.enterprises_principal_assessed, agg.enterprises_manager_assessed) <= agg.active_enterprises
           as coverage_within_active
from marts.agg_education_by_street as agg
left join facts on agg.year = facts.year
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="street_year_id"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS),
        gxe.ExpectColumnValuesToBeBetween(column="enterprise_training_coverage", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="attendances_per_1000_residents", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="district_adds_up", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="coverage_within_active", value_set=[True]),
    ])
