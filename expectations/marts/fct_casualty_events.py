"""marts.fct_casualty_events: one row per casualty event, counted once across departments."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import casualty_departments
from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.fct_casualty_events"


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="event_id"),
        # the departments of record and the accident type each records (the registry)
        gxe.ExpectColumnValuesToBeInSet(column="department", value_set=list(casualty_departments())),
        gxe.ExpectColumnPairValuesToBeInSet(column_A="department", column_B="department_name",
                                            value_pairs_set=list(casualty_departments().items())),
        gxe.ExpectColumnValuesToBeInSet(
            column="street_code",
            value_set=[*street_codes(), UNKNOWN_STREET]),
        gxe.ExpectColumnValuesToBeBetween(column="deaths", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToNotBeNull(column="occurred_at"),
        gxe.ExpectColumnValuesToNotBeNull(column="source_file"),
    ])
