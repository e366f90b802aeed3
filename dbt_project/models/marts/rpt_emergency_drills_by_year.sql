-- The 应急 page's drills per year: drills and participants per year, tier of the plan drilled
-- (marts.fct_drills.plan_tier_label: 不在现行清单 when the plan is not on the current list) and
-- street of that plan (as
-- marts.fct_drills: ALL for district and department plans). Counts add up over years, tiers
-- and streets; tier_order is the display order of the tiers (macros/plan_tier_order.sql).
with

drills as (
    select * from {{ ref('fct_drills') }}
),

dim_streets as (
    select * from {{ ref('dim_streets') }}
),

counts as (
    select
        drill_year,
        plan_tier_label,
        street_code,
        count(*) as drills,
        coalesce(sum(participants), 0) as participants
    from drills
    group by 1, 2, 3
),

final as (
    select
        (counts.drill_year::varchar || ':' || counts.plan_tier_label || ':' || counts.street_code)::varchar
            as report_id,
        counts.drill_year::integer as drill_year,
        counts.plan_tier_label::varchar as plan_tier_label,
        {{ plan_tier_order('counts.plan_tier_label') }}::integer as tier_order,
        counts.street_code::varchar as street_code,
        {{ report_street_name('counts.street_code', 'dim_streets.street_name') }}::varchar
            as street_name,
        counts.drills::integer as drills,
        counts.participants::bigint as participants
    from counts
    left join dim_streets on counts.street_code = dim_streets.street_code
)

select * from final
