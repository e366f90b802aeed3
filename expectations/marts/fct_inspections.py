"""marts.fct_inspections: one row per enforcement inspection, latest version.

The expectations of both published versions of the table are defined once, here, by
`expectations(version)`: this module validates version 1 (`marts.fct_inspections`);
`fct_inspections_v2.py` validates version 2 (`marts.fct_inspections_v2`, during the overlap
release, dbt_project/CHANGELOG.md) with `expectations(2)` from this module. Version 2 is version
1 without `penalty_10k_yuan`, so it has the same expectations without the 万元 ones. When version
2 takes the table's name, this module validates it (`expectations(2)`, no `QUERY`) and
`fct_inspections_v2.py` is deleted with its relation.
"""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.sources import feed
from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.fct_inspections"
STREETS = [*street_codes(), UNKNOWN_STREET]  # the seed dbt_project/seeds/streets.csv
RESULTS = list(feed("emb", "inspections").column("result").choices)  # the registry's
QUERY = """
select *, round(penalty_yuan / 10000.0, 6) as penalty_10k_expected,
       round(penalty_10k_yuan, 6) as penalty_10k_rounded
from marts.fct_inspections
"""


def expectations(version: int) -> list:
    """The expectations of version `version` of the table (1 or 2)."""
    if version not in (1, 2):
        raise ValueError(f"{TABLE}: no version {version}")
    common = [
        gxe.ExpectColumnValuesToNotBeNull(column="inspection_id"),
        gxe.ExpectColumnValuesToBeUnique(column="inspection_id"),
        # The registry loads an off-list result (dbt warns); many of them mean the code list changed.
        gxe.ExpectColumnValuesToBeInSet(column="result", value_set=RESULTS, mostly=0.99),
        gxe.ExpectColumnValuesToBeBetween(column="year", min_value=2000, max_value=2100),
        gxe.ExpectColumnValuesToBeBetween(column="findings", min_value=0, max_value=1000),
        gxe.ExpectColumnValuesToBeBetween(column="penalty_yuan", min_value=0, max_value=100_000_000),
        gxe.ExpectColumnValuesToBeBetween(column="versions", min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="updated_at"),
        gxe.ExpectColumnValuesToNotBeNull(column="source_file"),
        # The street of the inspected unit (by credit code), UNKNOWN without one; both versions.
        gxe.ExpectColumnValuesToNotBeNull(column="street_code"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS),
        # The page's rules, published (2027-01-04): the result as counted (未填写 when empty) and
        # whether a fine was imposed (penalty_yuan > 0); both versions.
        gxe.ExpectColumnValuesToNotBeNull(column="result_category"),
        gxe.ExpectColumnValuesToBeInSet(column="result_category", value_set=[*RESULTS, "未填写"], mostly=0.99),
        gxe.ExpectColumnValuesToNotBeNull(column="penalised"),
    ]
    if version == 1:  # the penalty again in 万元 (QUERY adds the two rounded columns)
        common[6:6] = [
            gxe.ExpectColumnValuesToBeBetween(column="penalty_10k_yuan", min_value=0, max_value=10_000),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="penalty_10k_rounded", column_B="penalty_10k_expected"),
        ]
    return common


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=expectations(1))
