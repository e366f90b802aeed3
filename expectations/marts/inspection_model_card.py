"""marts.inspection_model_card: the inspection ranking's backtest, per fold and ranker."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.inspection_model_card"
RANKERS = ["model", "baseline_past_incidents", "baseline_risk_colour", "baseline_random"]
# Every fold has every ranker; an AUC lies inside its interval; the top 10 % never catches more
# than the top 20 %; one published ranker, and the model is published only when its overall AUC
# and top-20 % capture beat every baseline's.
QUERY = """
with overall as (
    select ranker, auc, top20_capture from marts.inspection_model_card where fold = 'overall'
)
select c.*,
       (select count(distinct ranker) from marts.inspection_model_card d where d.fold = c.fold) = 4
           as every_ranker,
       c.auc is null or (c.auc_low <= c.auc and c.auc <= c.auc_high) as auc_in_interval,
       c.top10_capture is null or c.top10_capture <= c.top20_capture as capture_ordered,
       (select count(distinct published_ranker) = 1 from marts.inspection_model_card) as one_published,
       c.published_ranker != 'model'
       or (select bool_and(m.auc > b.auc and m.top20_capture > b.top20_capture)
           from overall m, overall b where m.ranker = 'model' and b.ranker != 'model') as model_beats_baselines
from marts.inspection_model_card as c
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["fold", "ranker"]),
        gxe.ExpectColumnValuesToBeInSet(column="ranker", value_set=RANKERS),
        gxe.ExpectColumnValuesToBeInSet(column="published_ranker", value_set=RANKERS),
        gxe.ExpectColumnValuesToBeBetween(column="auc", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="top20_capture", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeInSet(column="every_ranker", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="auc_in_interval", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="capture_ordered", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="one_published", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="model_beats_baselines", value_set=[True]),
    ])
