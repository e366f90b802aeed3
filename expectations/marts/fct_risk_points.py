"""marts.fct_risk_points: one row per risk point of the current inventory, L x S checked."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.fct_risk_points"


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="risk_point_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="risk_point_id"),
        gxe.ExpectColumnValuesToBeInSet(
            column="street_code",
            value_set=[*street_codes(), UNKNOWN_STREET]),
        gxe.ExpectColumnValuesToBeInSet(column="risk_level_computed", value_set=["红", "橙", "黄", "蓝"]),
        gxe.ExpectColumnValuesToNotBeNull(column="flagged"),
        # A few inconsistent rows are normal; a third flagged means the inventory is broken.
        gxe.ExpectColumnValuesToBeInSet(column="flagged", value_set=[False], mostly=0.7),
        gxe.ExpectColumnValuesToMatchRegex(column="snapshot_quarter", regex=r"^\d{4}Q[1-4]$"),
        gxe.ExpectColumnValuesToNotBeNull(column="source_file"),
        # The labels counted by (2027-01-04): 未分类 / 未定级 when none, red first.
        gxe.ExpectColumnValuesToNotBeNull(column="risk_category_label"),
        gxe.ExpectColumnValuesToBeInSet(column="risk_level_label", value_set=["红", "橙", "黄", "蓝", "未定级"]),
        gxe.ExpectColumnValuesToBeBetween(column="risk_level_order", min_value=1, max_value=5),
        gxe.ExpectColumnValuesToNotBeNull(column="risk_level_order"),
    ])
