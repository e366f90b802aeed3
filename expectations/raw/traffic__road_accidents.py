"""raw.traffic__road_accidents: road accident lines as loaded from 交警大队's files."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "raw.traffic__road_accidents"


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="accident_no"),
        gxe.ExpectColumnValuesToNotBeNull(column="occurred_at"),
        gxe.ExpectColumnValuesToBeBetween(column="deaths_7d", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToBeBetween(column="injuries", min_value=0, max_value=1000),
        gxe.ExpectColumnValuesToNotBeNull(column="reported_at"),
    ])
