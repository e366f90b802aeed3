"""marts.dim_enterprises: one row per production and business unit (active and closed)."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.dim_enterprises"


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="enterprise_key"),
        gxe.ExpectColumnValuesToNotBeNull(column="enterprise_key"),
        gxe.ExpectColumnValuesToNotBeNull(column="unit_name"),
        gxe.ExpectColumnValuesToNotBeNull(column="uscc_valid"),
        # A few invalid codes are the registry's reality; most failing means a broken delivery.
        gxe.ExpectColumnValuesToBeInSet(column="uscc_valid", value_set=[True], mostly=0.85),
        gxe.ExpectColumnValuesToMatchRegex(column="enterprise_key", regex=r"^(?:[0-9A-HJ-NP-RTUWXY]{18}|X-[0-9a-f]{16})$"),
        gxe.ExpectColumnValuesToBeInSet(
            column="street_code",
            value_set=[*street_codes(), UNKNOWN_STREET]),
        gxe.ExpectColumnValuesToBeBetween(column="employees", min_value=0, max_value=100000),
        gxe.ExpectColumnValuesToNotBeNull(column="is_active"),
        gxe.ExpectColumnValuesToNotBeNull(column="insurance_current"),
        gxe.ExpectColumnValuesToNotBeNull(column="snapshot_date"),
        gxe.ExpectColumnValuesToNotBeNull(column="source_file"),
    ])
