"""marts.rpt_data_health_quarantine_reasons: quarantined rows per feed, masked reason, file and day."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.rpt_data_health_quarantine_reasons"
# The rows add up to the quarantine (audit.quarantine).
QUERY = """
select report_id, source, feed, quarantined_on, rows_quarantined,
       (select sum(rows_quarantined) from marts.rpt_data_health_quarantine_reasons)
           = (select count(*) from audit.quarantine) as adds_up_to_quarantine
from marts.rpt_data_health_quarantine_reasons
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="report_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="quarantined_on"),
        gxe.ExpectColumnValuesToBeBetween(column="rows_quarantined", min_value=1),
        gxe.ExpectColumnValuesToBeInSet(column="adds_up_to_quarantine", value_set=[True]),
    ])
