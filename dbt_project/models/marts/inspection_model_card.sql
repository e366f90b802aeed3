-- The inspection ranking's model card: one row per backtest fold (a test year, or overall) and
-- ranker (the model and each baseline), beside what a reader needs to judge them: the data
-- window, the features, the outcome, which ranker is published and why, and the known limits.
with

backtest as (
    select * from {{ ref('int_inspection_rankers_backtested') }}
),

scores as (
    select * from {{ ref('int_inspection_scores_predicted') }}
),

features as (
    select * from {{ ref('int_enterprise_features_dated') }}
),

catalogue as (
    select * from {{ ref('inspection_risk_features') }}
),

rankers as (
    select * from {{ ref('inspection_rankers') }}
),

published as (
    -- the ranker the backtest lets publish, and why (the same on every backtest row)
    select
        (select any_value(backtest.published_ranker) from backtest) as published_ranker,
        (select any_value(backtest.decision_zh) from backtest) as decision_zh,
        (select any_value(backtest.best_baseline) from backtest) as best_baseline,
        (select any_value(scores.model_version order by scores.as_of_date desc) from scores) as model_version,
        (select max(scores.as_of_date)::date from scores) as scored_for_start
),

window_ as (
    select
        min(as_of_date) filter (where label_complete) as data_window_start,
        max(as_of_date + interval 12 month - interval 1 day) filter (where label_complete) as data_window_end,
        count(*) filter (where label_complete) as training_rows
    from features
),

feature_list as (
    select string_agg(label_zh, '、' order by feature) as features_zh
    from catalogue
),

folds as (
    -- every ranker has a row in every fold, and an overall row even before any fold can be
    -- tested (too few years of history): the card still says which ranker is published and why
    select
        fold,
        ranker
    from (
        select fold from backtest
        union
        select 'overall'
    ) as fold_names
    cross join (select ranker from rankers) as ranker_names
),

final as (
    select
        folds.fold::varchar as fold,
        folds.ranker::varchar as ranker,
        rankers.label_zh::varchar as ranker_zh,
        (folds.ranker = published.published_ranker)::boolean as is_published_ranker,
        backtest.train_years::varchar as train_years,
        backtest.test_year::integer as test_year,
        backtest.units::integer as units,
        backtest.positives::integer as positives,
        backtest.events::integer as events,
        backtest.auc::double as auc,
        backtest.auc_low::double as auc_low,
        backtest.auc_high::double as auc_high,
        backtest.top10_capture::double as top10_capture,
        backtest.top20_capture::double as top20_capture,
        published.published_ranker::varchar as published_ranker,
        published.model_version::varchar as model_version,
        published.decision_zh::varchar as decision_zh,
        window_.data_window_start::date as data_window_start,
        window_.data_window_end::date as data_window_end,
        window_.training_rows::integer as training_rows,
        published.scored_for_start::date as scored_for_start,
        (published.scored_for_start + interval 12 month - interval 1 day)::date as scored_for_end,
        feature_list.features_zh::varchar as features_zh,
        '评估日起12个月内发生至少一起生产安全事故、有人员伤亡的火灾或重大隐患（按统一社会信用代码关联）'::varchar
            as outcome_zh,
        (
            '只覆盖在册且统一社会信用代码有效的单位，代码缺失或错误的记录无法关联；'
            || '排序反映历史数据中的相关性，不是因果判断；'
            || '依赖各部门报送的完整与及时，漏报的单位风险会被低估；'
            || '执法检查的对象本身受既往排序影响，发现问题的多少带有选择偏差；'
            || '年度回测样本较小，区间较宽，排名靠近的单位之间差别不显著。'
        )::varchar as known_limits_zh,
        (folds.ranker = published.best_baseline)::boolean as is_best_baseline
    from folds
    left join backtest on folds.fold = backtest.fold and folds.ranker = backtest.ranker
    left join rankers on folds.ranker = rankers.ranker
    cross join published
    cross join window_
    cross join feature_list
)

select * from final
