"""audit.reconciliation: one row per delivered file version; every delivered row loaded or quarantined."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "audit.reconciliation"
QUERY = "select *, rows_loaded + rows_quarantined as rows_accounted from audit.reconciliation"


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnPairValuesToBeEqual(column_A="rows_delivered", column_B="rows_accounted"),
        # A name re-sent with other bytes is its next version (an older version's bytes sent
        # again too, so name and sha256 may repeat): each version of a name is recorded once.
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["source", "feed", "file_name", "file_version"]),
        gxe.ExpectColumnValuesToNotBeNull(column="file_version"),
        gxe.ExpectColumnValuesToBeInSet(
            column="status", value_set=["loaded", "partial", "rejected", "duplicate", "empty"]),
    ])
