"""marts.fct_inspection_priorities: the inspection ranking, one row per active enterprise."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.fct_inspection_priorities"
# The ranks are the order of the scores (1..n in the district, 1..n in each street); the list is
# the top of the district ranking; the 12 months scored start on the as-of date; one ranker and
# one model version for the whole table, the one the model card says is published.
QUERY = """
select p.*,
       p.district_rank = row_number() over (order by p.risk_score desc, p.uscc)
       and p.street_rank = row_number() over (partition by p.street_code order by p.risk_score desc, p.uscc)
           as ranks_follow_scores,
       p.scored_for_end = (p.scored_for_start + interval 12 month - interval 1 day)::date as twelve_months,
       (select count(distinct ranker) = 1 and count(distinct model_version) = 1
        from marts.fct_inspection_priorities) as one_ranker,
       (select count(*) = 0 from marts.inspection_model_card c
        where c.published_ranker != p.ranker or c.model_version != p.model_version) as ranker_on_the_card,
       not p.on_inspection_list
       or p.district_rank <= (select max(district_rank) from marts.fct_inspection_priorities where on_inspection_list)
           as list_is_the_top
from marts.fct_inspection_priorities as p
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="uscc"),
        gxe.ExpectColumnValuesToNotBeNull(column="uscc"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=[*street_codes(), UNKNOWN_STREET]),
        gxe.ExpectColumnValuesToBeBetween(column="risk_score", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeUnique(column="district_rank"),
        gxe.ExpectColumnValuesToBeInSet(column="ranks_follow_scores", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="twelve_months", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="one_ranker", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="ranker_on_the_card", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="list_is_the_top", value_set=[True]),
    ])
