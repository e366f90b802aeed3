"""The inspection ranking's scores: one row per enterprise and as-of date whose 12 months are
not over (the ranking to publish and the monthly lists of the last 12 months).

The ranker is the one int_inspection_rankers_backtested says may be published (the model only
when it beats every baseline over at least three folds; else the best baseline). For each as-of
date it is fitted on the rows whose 12 months had ended by that date (nothing it learns from
happened after the rows it scores): the as-of date's own ranking gets the published model, an
earlier monthly list the model that would have been published then. Each row carries the ranker's probability of an accident,
a fire with casualties or a 重大 hidden hazard in the 12 months from its as-of date, its three
strongest reasons (feature names of the seed inspection_risk_features, with their values) and
the model version.
"""

from citysafety.mart import ranking


def model(dbt, session):
    dbt.config(materialized="table")
    features = dbt.ref("int_enterprise_features_dated").df()
    catalogue = dbt.ref("inspection_risk_features").df()
    backtest = dbt.ref("int_inspection_rankers_backtested").df()
    return ranking.score_open_rows(features, sorted(catalogue["feature"]), backtest, seed=ranking.SEED)
