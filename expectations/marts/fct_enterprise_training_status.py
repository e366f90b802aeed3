"""marts.fct_enterprise_training_status: active enterprises and their principal's and safety manager's assessments."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.fct_enterprise_training_status"
# Covered exactly when both roles passed, and the roles missing name the ones that did not; the
# dates lie in the 12 months up to the as-of date.
QUERY = """
select *,
       is_covered = (is_principal_assessed and is_manager_assessed)
       and (roles_missing is null) = is_covered
       and coalesce(principal_passed_on > as_of_date - interval 12 month and principal_passed_on <= as_of_date, true)
       and coalesce(manager_passed_on > as_of_date - interval 12 month and manager_passed_on <= as_of_date, true)
           as status_consistent
from marts.fct_enterprise_training_status
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="enterprise_key"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=[*street_codes(), UNKNOWN_STREET]),
        gxe.ExpectColumnValuesToBeInSet(column="status_consistent", value_set=[True]),
    ])
