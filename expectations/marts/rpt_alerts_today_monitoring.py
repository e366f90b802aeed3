"""marts.rpt_alerts_today_monitoring: one row per street, the 总览 alerts on monitored hazard sources."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.rpt_alerts_today_monitoring"
QUERY = """
select *,
       sources_below_full_coverage <= hazard_sources
       and coalesce(high_high_episodes_last_24h <= episodes_last_24h, true) as counts_consistent
from marts.rpt_alerts_today_monitoring
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="street_code"),
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToBeBetween(column="hazard_sources", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="episodes_last_24h", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="counts_consistent", value_set=[True]),
    ])
