-- Counts of the current inventory by street and level (the level to count: from L x S when L
-- and S are in 1-5, else as delivered; 未定级 when neither gives one).
with

points as (
    select * from {{ ref('fct_risk_points') }}
),

counted as (
    select
        street_code::varchar as street_code,
        risk_level_label::varchar as risk_level,
        risk_level_order::integer as risk_level_order,
        count(*)::integer as risk_points,
        count(*) filter (where flagged)::integer as flagged_points,
        max(snapshot_quarter)::varchar as snapshot_quarter
    from points
    group by 1, 2, 3
),

final as (
    select
        street_code,
        risk_level,
        risk_level_order,
        risk_points,
        flagged_points,
        snapshot_quarter,
        -- added after the first release (CHANGELOG.md): the street's reddest level with any
        -- point (未定级 when it has only unrated points), on every row of the street
        arg_min(risk_level, risk_level_order) over (partition by street_code)::varchar as street_highest_level
    from counted
)

select * from final
