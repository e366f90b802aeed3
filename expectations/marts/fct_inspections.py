"""marts.fct_inspections: one row per enforcement inspection, latest version."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.fct_inspections"
QUERY = """
select *, round(penalty_yuan / 10000.0, 6) as penalty_10k_expected,
       round(penalty_10k_yuan, 6) as penalty_10k_rounded
from marts.fct_inspections
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="inspection_id"),
        gxe.ExpectColumnValuesToBeUnique(column="inspection_id"),
        # The registry loads an off-list result (dbt warns); many of them mean the code list changed.
        gxe.ExpectColumnValuesToBeInSet(column="result", value_set=["合格", "责令整改", "行政处罚", "停产整顿"],
                                        mostly=0.99),
        gxe.ExpectColumnValuesToBeBetween(column="year", min_value=2000, max_value=2100),
        gxe.ExpectColumnValuesToBeBetween(column="findings", min_value=0, max_value=1000),
        gxe.ExpectColumnValuesToBeBetween(column="penalty_yuan", min_value=0, max_value=100_000_000),
        gxe.ExpectColumnValuesToBeBetween(column="penalty_10k_yuan", min_value=0, max_value=10_000),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="penalty_10k_rounded", column_B="penalty_10k_expected"),
        gxe.ExpectColumnValuesToBeBetween(column="versions", min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="updated_at"),
        gxe.ExpectColumnValuesToNotBeNull(column="source_file"),
    ])
