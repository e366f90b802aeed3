"""raw.emb__enterprises: unit lines of the monthly registry snapshots as loaded from 应急管理局's workbooks.

Invalid and empty 统一社会信用代码 are expected (flagged downstream, never dropped), so the code
checks here only catch a broken delivery: a shifted column or a sheet of something else.
"""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "raw.emb__enterprises"


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="unit_name"),
        # Most codes look like codes (18 characters, give or take a typo); a few are empty.
        gxe.ExpectColumnValuesToNotBeNull(column="uscc", mostly=0.9),
        gxe.ExpectColumnValuesToMatchRegex(column="uscc", regex=r"^\s*[0-9A-Za-z]{16,20}\s*$", mostly=0.9),
        gxe.ExpectColumnValuesToBeBetween(column="employees", min_value=0, max_value=100000),
        gxe.ExpectColumnValuesToBeInSet(column="standardisation_grade", value_set=["一级", "二级", "三级", "未达标"],
                                        mostly=0.95),
        gxe.ExpectColumnValuesToMatchRegex(column="_source_file", regex=r"^enterprises_"),
        gxe.ExpectColumnValuesToNotBeNull(column="_source_file"),
    ])
