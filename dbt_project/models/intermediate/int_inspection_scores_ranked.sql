-- The ranking of every scored as-of date (int_inspection_scores_predicted: the as-of date itself
-- and the first day of each of the 12 months before it), one row per enterprise and date: its
-- rank in the district and in its street, and whether it is on that date's 下月检查建议清单 (the
-- top var('inspection_list_share') of the district). The one place the list is decided:
-- fct_inspection_priorities publishes the as-of date's rows, rpt_inspection_list_followup follows
-- up the months' lists.
with

scores as (
    select * from {{ ref('int_inspection_scores_predicted') }}
),

features as (
    select * from {{ ref('int_enterprise_features_dated') }}
),

ranked as (
    select
        features.uscc,
        features.as_of_date,
        features.is_scoring_row,
        features.unit_name,
        features.street_code,
        scores.risk_score,
        scores.ranker,
        scores.model_version,
        scores.reason_1,
        scores.reason_1_value,
        scores.reason_2,
        scores.reason_2_value,
        scores.reason_3,
        scores.reason_3_value,
        row_number() over (
            partition by features.as_of_date order by scores.risk_score desc, features.uscc
        ) as district_rank,
        row_number() over (
            partition by features.as_of_date, features.street_code
            order by scores.risk_score desc, features.uscc
        ) as street_rank,
        count(*) over (partition by features.as_of_date) as district_units
    from features
    inner join scores on features.uscc = scores.uscc and features.as_of_date = scores.as_of_date
)

select
    *,
    district_rank <= ceil({{ var('inspection_list_share') }} * district_units) as on_inspection_list
from ranked
