"""raw.fire__fires: fire report lines as loaded from 消防救援大队's files."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "raw.fire__fires"


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="fire_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="occurred_at"),
        gxe.ExpectColumnValuesToBeBetween(column="deaths", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToBeBetween(column="injuries", min_value=0, max_value=1000),
        # Losses are in yuan; a fire over 10 billion yuan is a unit or typing error.
        gxe.ExpectColumnValuesToBeBetween(column="direct_loss_yuan", min_value=0, max_value=1e10),
        gxe.ExpectColumnValuesToNotBeNull(column="reported_at"),
    ])
