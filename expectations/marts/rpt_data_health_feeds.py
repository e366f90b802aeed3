"""marts.rpt_data_health_feeds: one row per feed, its latest delivery, due time and status."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import all_feeds

TABLE = "marts.rpt_data_health_feeds"
STATUSES = ["on_time", "overdue", "not_received", "unregistered"]
# Every registered feed has its row; the due time is the last delivery plus the cadence, and the
# status agrees with it at as_of_at (days_late only when overdue, at least 1).
QUERY = """
select *,
       (select count(*) filter (where registered) from marts.rpt_data_health_feeds) = {feeds}
           as one_row_per_registered_feed,
       coalesce(due_at = last_loaded_at + to_days(cadence_days), due_at is null
                and (last_loaded_at is null or cadence_days is null)) as due_consistent,
       coalesce(case status
           when 'not_received' then registered and last_loaded_at is null and days_late is null
           when 'unregistered' then not registered and cadence_days is null and days_late is null
           when 'on_time' then as_of_at <= due_at and days_late is null
           when 'overdue' then as_of_at > due_at and days_late >= 1
       end, false) as status_consistent
from marts.rpt_data_health_feeds
""".format(feeds=len(all_feeds()))


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="feed_id"),
        gxe.ExpectColumnValuesToBeUnique(column="feed_order"),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=STATUSES),
        gxe.ExpectColumnValuesToNotBeNull(column="department"),
        gxe.ExpectColumnValuesToNotBeNull(column="title"),
        gxe.ExpectColumnValuesToBeInSet(column="one_row_per_registered_feed", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="due_consistent", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="status_consistent", value_set=[True]),
    ])
