"""raw.emergency__resources: resource lines as loaded from 区应急指挥中心's monthly full lists."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import feed

TABLE = "raw.emergency__resources"


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="resource_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="resource_id", regex=r"^\S+$"),
        gxe.ExpectColumnValuesToBeInSet(column="resource_type", value_set=list(feed("emergency", "resources").column("resource_type").choices),
                                        mostly=0.95),
        # Sandbags run to thousands, flood bags to tens of thousands; ten million is a typing error.
        gxe.ExpectColumnValuesToBeBetween(column="quantity", min_value=0, max_value=1e7),
        gxe.ExpectColumnValuesToNotBeNull(column="_source_file"),
    ])
