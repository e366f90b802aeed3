"""raw.emb__accidents: accident report lines as loaded from 应急管理局's files."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "raw.emb__accidents"


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="accident_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="accident_id", regex=r"^\S+$"),
        gxe.ExpectColumnValuesToNotBeNull(column="occurred_at"),
        # One district accident with over 100 deaths would be national news: a typo, not data.
        gxe.ExpectColumnValuesToBeBetween(column="deaths", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToBeBetween(column="serious_injuries", min_value=0, max_value=1000),
        gxe.ExpectColumnValuesToBeBetween(column="minor_injuries", min_value=0, max_value=1000),
        gxe.ExpectColumnValuesToNotBeNull(column="reported_on"),
        gxe.ExpectColumnValuesToNotBeNull(column="_source_file"),
    ])
