"""raw.stats__economy: year lines of the 统计局 economy workbooks."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "raw.stats__economy"


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeBetween(column="year", min_value=1990, max_value=2100),
        # 亿元: a district's GDP is hundreds to a few thousand; 1e6 would be yuan or 万元.
        gxe.ExpectColumnValuesToBeBetween(column="gdp_100m_yuan", min_value=1, max_value=100000),
        gxe.ExpectColumnValuesToBeBetween(column="population_10k", min_value=1, max_value=2000),
        gxe.ExpectColumnValuesToBeInSet(column="data_status", value_set=["初步核算", "最终核实"]),
    ])
