"""raw.emb__trainings: activity lines as loaded from 区应急管理局宣教科's monthly training and education lists."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import feed

TABLE = "raw.emb__trainings"
FEED = feed("emb", "trainings")


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="activity_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="activity_date"),
        gxe.ExpectColumnValuesToBeInSet(column="activity_type",
                                        value_set=list(FEED.column("activity_type").choices)),
        gxe.ExpectColumnValuesToBeInSet(column="audience", value_set=list(FEED.column("audience").choices)),
        # The ingest kept only counts it can read (plain or 约200人 / 200余人).
        gxe.ExpectColumnValuesToMatchRegex(column="attendances", regex=r"\d"),
        gxe.ExpectColumnValuesToBeBetween(column="passed", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="hours", min_value=0, max_value=200),
        gxe.ExpectColumnValuesToNotBeNull(column="_source_file"),
    ])
