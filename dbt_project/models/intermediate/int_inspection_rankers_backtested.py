"""The inspection ranking's backtest: one row per fold (test year, or "overall") and ranker.

Rolling origin by year over the label-complete rows of int_enterprise_features_dated: train on
the as-of years up to t, test on t + 1, for the model and for the baselines a bureau would use
(past incidents and size, the official risk colour, random). The arithmetic (AUC with its
bootstrap interval, the share of next year's events in the top 10 % and 20 %) is
citysafety.mart.ranking, the same code the scores use; the features it reads are those of the
seed inspection_risk_features. Every row carries the ranker `choose` publishes and why
(published_ranker, decision_zh) and the best baseline (`best_baseline`: the one a published
baseline would be, and what the page sets the model against), and every ranker has its overall row even when no year could be
tested yet (its figures empty): the decision is on the model card from a platform's first build.
"""

import pandas as pd

from citysafety.mart import ranking


def model(dbt, session):
    dbt.config(materialized="table")
    features = dbt.ref("int_enterprise_features_dated").df()
    catalogue = dbt.ref("inspection_risk_features").df()
    backtest = ranking.backtest(features, sorted(catalogue["feature"]), seed=ranking.SEED)
    published, why = ranking.choose(backtest)
    untested = [r for r in ranking.RANKERS if not ((backtest["fold"] == "overall") & (backtest["ranker"] == r)).any()]
    if untested:
        empty = pd.DataFrame({"fold": "overall", "ranker": untested})
        backtest = pd.concat([backtest, empty], ignore_index=True)[ranking.BACKTEST_COLUMNS]
    return backtest.assign(published_ranker=published, decision_zh=why,
                           best_baseline=ranking.best_baseline(backtest))
