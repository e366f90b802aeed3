-- One row per active enterprise (valid credit code, in the last registry snapshot before the
-- as-of date): the published ranker's probability of an accident, a fire with casualties or a
-- 重大 hidden hazard in the 12 months from the as-of date, its rank in the district and in its
-- street, its three strongest reasons in Chinese, and whether it is on 下月检查建议清单 (the top
-- var('inspection_list_share') of the district ranking).
with

ranked as (
    select * from {{ ref('int_inspection_scores_ranked') }}
    where is_scoring_row
),

catalogue as (
    select * from {{ ref('inspection_risk_features') }}
),

rankers as (
    select * from {{ ref('inspection_rankers') }}
),

streets as (
    select * from {{ ref('streets') }}
),

reasons as (
    -- reason n: the feature's sentence with the unit's value (whole numbers without decimals)
    select
        ranked.uscc,
        reason.n,
        replace(
            catalogue.reason_zh, '{value}',
            case
                when reason.value = round(reason.value) then cast(cast(reason.value as bigint) as varchar)
                else cast(round(reason.value, 1) as varchar)
            end
        ) as reason_zh
    from ranked
    cross join
        lateral (
            values
            (1, ranked.reason_1, ranked.reason_1_value),
            (2, ranked.reason_2, ranked.reason_2_value),
            (3, ranked.reason_3, ranked.reason_3_value)
        ) as reason (n, feature, value)
    inner join catalogue on reason.feature = catalogue.feature
),

final as (
    select
        cast(ranked.uscc as varchar) as uscc,
        cast(ranked.unit_name as varchar) as unit_name,
        cast(ranked.street_code as varchar) as street_code,
        cast(streets.street_name as varchar) as street_name,
        cast(ranked.risk_score as double) as risk_score,
        cast(ranked.district_rank as integer) as district_rank,
        cast(ranked.street_rank as integer) as street_rank,
        ranked.on_inspection_list::boolean as on_inspection_list,
        cast(max(reasons.reason_zh) filter (where reasons.n = 1) as varchar) as reason_1_zh,
        cast(max(reasons.reason_zh) filter (where reasons.n = 2) as varchar) as reason_2_zh,
        cast(max(reasons.reason_zh) filter (where reasons.n = 3) as varchar) as reason_3_zh,
        cast(ranked.as_of_date as date) as scored_for_start,
        cast((ranked.as_of_date + interval 12 month - interval 1 day) as date) as scored_for_end,
        cast(ranked.ranker as varchar) as ranker,
        cast(rankers.label_zh as varchar) as ranker_zh,
        cast(ranked.model_version as varchar) as model_version
    from ranked
    left join reasons on ranked.uscc = reasons.uscc
    left join streets on ranked.street_code = streets.street_code
    left join rankers on ranked.ranker = rankers.ranker
    group by all
)

select * from final
