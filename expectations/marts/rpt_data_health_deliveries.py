"""marts.rpt_data_health_deliveries: delivered files per feed and Beijing day, by status."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.rpt_data_health_deliveries"
# The files of a day are the sum of its statuses, rows delivered = loaded + quarantined, and the
# rows add up to the load ledger (audit.reconciliation).
QUERY = """
select *,
       files = files_loaded + files_partial + files_rejected + files_duplicate + files_empty + files_other
       and files_resent <= files as files_consistent,
       (select sum(files) from marts.rpt_data_health_deliveries)
           = (select count(*) from audit.reconciliation) as adds_up_to_ledger
from marts.rpt_data_health_deliveries
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="report_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="loaded_on"),
        gxe.ExpectColumnValuesToBeBetween(column="files", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="rows_delivered", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="files_consistent", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="adds_up_to_ledger", value_set=[True]),
    ])
