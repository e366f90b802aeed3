-- The inspection ranking's features and outcome, one row per enterprise and as-of date, as the
-- model and its backtest read them (int_enterprise_features_dated): published so that anyone
-- entitled can rerun the backtest (python -m citysafety.mart.ranking).
with

features as (
    select * from {{ ref('int_enterprise_features_dated') }}
)

select * from features
