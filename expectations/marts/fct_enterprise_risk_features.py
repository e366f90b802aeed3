"""marts.fct_enterprise_risk_features: the inspection ranking's features and outcome per unit and date."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.fct_enterprise_risk_features"
# One scoring date; only dates before it; the outcome is known (complete) only for dates whose
# 12 months are over; every count is a count; the outcome flag follows the count.
QUERY = """
select f.*,
       (select count(distinct as_of_date) = 1 from marts.fct_enterprise_risk_features where is_scoring_row)
           as one_scoring_date,
       f.as_of_date <= (select max(as_of_date) from marts.fct_enterprise_risk_features where is_scoring_row)
           as not_after_scoring_date,
       not f.label_complete
       or f.as_of_date + interval 12 month
          <= (select max(as_of_date) from marts.fct_enterprise_risk_features where is_scoring_row)
           as complete_when_over,
       f.had_event_next_12m = (f.events_next_12m > 0) as outcome_consistent,
       least(f.incidents_3y, f.accidents_12m, f.fires_12m, f.hazards_12m, f.major_hazards_12m,
             f.hazards_overdue, f.hazards_rectified_late_12m, f.inspections_12m, f.findings_12m,
             f.penalties_12m, f.sensor_alarms_12m, f.risk_points, f.events_next_12m) >= 0 as counts_not_negative
from marts.fct_enterprise_risk_features as f
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["uscc", "as_of_date"]),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=[*street_codes(), UNKNOWN_STREET]),
        gxe.ExpectColumnValuesToBeBetween(column="risk_colour", min_value=0, max_value=4),
        gxe.ExpectColumnValuesToBeBetween(column="standardisation_gap", min_value=0, max_value=3),
        gxe.ExpectColumnValuesToBeInSet(column="one_scoring_date", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="not_after_scoring_date", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="complete_when_over", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="outcome_consistent", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="counts_not_negative", value_set=[True]),
    ])
