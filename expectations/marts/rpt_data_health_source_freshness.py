"""marts.rpt_data_health_source_freshness: this build's source freshness verdicts, one per table."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.mart import freshness

TABLE = "marts.rpt_data_health_source_freshness"
STATUSES = [freshness.ERROR, freshness.WARN, freshness.NO_DATA, freshness.PASS]  # most urgent first
# One row per row of audit.source_freshness; the urgency order follows the status.
QUERY = """
select *,
       (select count(*) from marts.rpt_data_health_source_freshness)
           = (select count(*) from audit.source_freshness) as one_row_per_check
from marts.rpt_data_health_source_freshness
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="report_id"),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=STATUSES),
        gxe.ExpectColumnPairValuesToBeInSet(
            column_A="status", column_B="status_order",
            value_pairs_set=[(s, i) for i, s in enumerate(STATUSES, start=1)]),
        gxe.ExpectColumnValuesToNotBeNull(column="feed"),
        gxe.ExpectColumnValuesToBeInSet(column="one_row_per_check", value_set=[True]),
    ])
