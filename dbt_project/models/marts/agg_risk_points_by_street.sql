-- Counts of the current inventory by street and level (the level to count: from L x S when L
-- and S are in 1-5, else as delivered; 未定级 when neither gives one).
with

points as (
    select * from {{ ref('fct_risk_points') }}
),

final as (
    select
        street_code::varchar as street_code,
        coalesce(risk_level_effective, '未定级')::varchar as risk_level,
        case coalesce(risk_level_effective, '未定级')
            when '红' then 1 when '橙' then 2 when '黄' then 3 when '蓝' then 4 else 5
        end::integer as risk_level_order,
        count(*)::integer as risk_points,
        count(*) filter (where flagged)::integer as flagged_points,
        max(snapshot_quarter)::varchar as snapshot_quarter
    from points
    group by 1, 2, 3
)

select * from final
