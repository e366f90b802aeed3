"""marts.fct_training_activities: safety training and education activities, counted once."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import feed
from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.fct_training_activities"
TYPES = list(feed("emb", "trainings").column("activity_type").choices)
# Online views are never people reached; passed never exceeds attendances once capped.
QUERY = """
select *,
       (not is_online or people_reached = 0) and passed <= coalesce(attendances, 0) as counts_consistent
from marts.fct_training_activities
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="activity_id"),
        gxe.ExpectColumnValuesToBeInSet(column="activity_type", value_set=TYPES),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=[*street_codes(), UNKNOWN_STREET, "ALL"]),
        gxe.ExpectColumnValuesToBeBetween(column="attendances", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="reports", min_value=1),
        gxe.ExpectColumnValuesToBeInSet(column="counts_consistent", value_set=[True], mostly=1.0),
    ])
