"""raw.safety_office__risk_points: risk-point lines of the quarterly inventory snapshots as loaded.

L, S, 风险值 and 风险等级 that disagree are expected (flagged downstream), so these bounds only
catch a broken delivery: columns swapped, a scale other than 1-5, another sheet.
"""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "raw.safety_office__risk_points"


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="risk_point_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="risk_point_id", regex=r"^\S+$"),
        gxe.ExpectColumnValuesToBeBetween(column="likelihood", min_value=1, max_value=5, mostly=0.9),
        gxe.ExpectColumnValuesToBeBetween(column="severity", min_value=1, max_value=5, mostly=0.9),
        gxe.ExpectColumnValuesToBeBetween(column="likelihood", min_value=0, max_value=10),
        gxe.ExpectColumnValuesToBeBetween(column="severity", min_value=0, max_value=10),
        gxe.ExpectColumnValuesToBeBetween(column="risk_value", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToBeInSet(column="risk_level", value_set=["红", "橙", "黄", "蓝"], mostly=0.95),
        gxe.ExpectColumnValuesToBeInSet(
            column="risk_category",
            value_set=["工业企业", "人员密集场所", "城市建设", "交通运输", "城市生命线", "自然灾害", "其他"],
            mostly=0.95),
        gxe.ExpectColumnValuesToNotBeNull(column="_source_file"),
    ])
