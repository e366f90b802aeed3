"""raw.grid__hazard_reports: hazard-report rows as pulled from the grid-governance database.

The batch leaves out the personal columns (reporter_name, reporter_id_no, reporter_phone):
batches are exported under quality/, and a failed expectation writes samples of unexpected
values into the Data Docs and audit.quality_results, which are shared.
"""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import feed

TABLE = "raw.grid__hazard_reports"
QUERY = """
select * exclude (reporter_name, reporter_id_no, reporter_phone), year(found_on) as found_year
from raw.grid__hazard_reports
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="report_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="report_id", regex=r"^\S+$"),
        gxe.ExpectColumnValuesToNotBeNull(column="found_on"),
        gxe.ExpectColumnValuesToNotBeNull(column="updated_at"),
        gxe.ExpectColumnValuesToBeInSet(column="level", value_set=list(feed("grid", "hazard_reports").column("level").choices)),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=["待整改", "整改中", "已整改", "已销号"]),
        # Grid workers started reporting in the system long after 2000; a year 2100 is a typo.
        gxe.ExpectColumnValuesToBeBetween(column="found_year", min_value=2000, max_value=2100),
        # A deadline or a rectification before the hazard was found is a typing error: a few
        # are tolerated (they are kept and shown), a systematic shift is not.
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="deadline", column_B="found_on",
                                                    or_equal=True, ignore_row_if="either_value_is_missing",
                                                    mostly=0.99),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="rectified_on", column_B="found_on",
                                                    or_equal=True, ignore_row_if="either_value_is_missing",
                                                    mostly=0.99),
        gxe.ExpectColumnValuesToNotBeNull(column="_source_file"),
    ])
