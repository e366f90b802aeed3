"""raw.emb__hazard_sources: major hazard sources and their monitoring points, as loaded from the snapshots."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "raw.emb__hazard_sources"

METRIC_UNITS = [("temperature", "℃"), ("pressure", "MPa"), ("level", "m"), ("gas", "%LEL")]


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="hazard_source_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="point_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="point_id", regex=r"^\S+$"),
        gxe.ExpectColumnValuesToNotBeNull(column="high_threshold"),
        # The code lists of the agreement; the registry keeps these as text, so a stray spelling
        # is tolerated here (mostly) rather than blocking every mart.
        gxe.ExpectColumnValuesToBeInSet(column="hazard_level", value_set=["一级", "二级", "三级", "四级"],
                                        mostly=0.95),
        gxe.ExpectColumnPairValuesToBeInSet(column_A="metric", column_B="unit", value_pairs_set=METRIC_UNITS,
                                            ignore_row_if="either_value_is_missing", mostly=0.95),
        # 高高报 is the second, higher alarm level.
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high_high_threshold", column_B="high_threshold",
                                                    or_equal=True, ignore_row_if="either_value_is_missing",
                                                    mostly=0.99),
        # One row per monitoring point per delivered snapshot.
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["_source_file", "_loaded_at", "point_id"], mostly=0.99),
        gxe.ExpectColumnValuesToNotBeNull(column="_source_file"),
    ])
