-- The 风险 page's counts of the current risk inventory per street, category and level (the
-- category and level as marts.fct_risk_points labels them: 未分类, 未定级 when none), with the
-- display order of the category (the contract's categories first, in its order; 未分类 last).
-- Counts add up over streets.
with

points as (
    select * from {{ ref('fct_risk_points') }}
),

counts as (
    select
        coalesce(street_code, 'UNKNOWN') as street_code,
        risk_category_label,
        risk_level_label,
        min(risk_level_order) as risk_level_order,
        count(*) as risk_points,
        count(*) filter (where flagged) as flagged_points
    from points
    group by 1, 2, 3
),

final as (
    select
        (street_code || ':' || risk_category_label || ':' || risk_level_label)::varchar as report_id,
        street_code::varchar as street_code,
        risk_category_label::varchar as risk_category,
        case risk_category_label
            when '工业企业' then 1 when '人员密集场所' then 2 when '城市建设' then 3
            when '交通运输' then 4 when '城市生命线' then 5 when '自然灾害' then 6 when '其他' then 7
            when '未分类' then 99
            else 50
        end::integer as risk_category_order,
        risk_level_label::varchar as risk_level,
        risk_level_order::integer as risk_level_order,
        risk_points::integer as risk_points,
        flagged_points::integer as flagged_points
    from counts
)

select * from final
