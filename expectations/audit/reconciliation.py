"""audit.reconciliation: one row per delivered file; every delivered row loaded or quarantined."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "audit.reconciliation"
QUERY = "select *, rows_loaded + rows_quarantined as rows_accounted from audit.reconciliation"


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnPairValuesToBeEqual(column_A="rows_delivered", column_B="rows_accounted"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["source", "feed", "file_name", "file_sha256"]),
        gxe.ExpectColumnValuesToBeInSet(
            column="status", value_set=["loaded", "partial", "rejected", "duplicate", "empty"]),
    ])
