-- The 总览 page's alert on emergency plans, per street of the plan (marts.fct_emergency_plans:
-- ALL for district and department plans, UNKNOWN when the chain names no street): current plans
-- that do not reach the district plan (reaches_district_plan not true).
-- One row per street of marts.dim_streets (UNKNOWN included), ALL, and any other street value of
-- the plans; counts add up across streets.
with

plans as (
    select * from {{ ref('fct_emergency_plans') }}
),

streets as (
    {{ report_streets(['plans'], with_district=true) }}
),

counts as (
    select
        coalesce(street_code, 'UNKNOWN') as street_code,
        count(*) as plans,
        count(*) filter (where not coalesce(reaches_district_plan, false)) as plans_not_reaching_district
    from plans
    group by 1
),

final as (
    select
        streets.street_code::varchar as street_code,
        coalesce(counts.plans, 0)::integer as plans,
        coalesce(counts.plans_not_reaching_district, 0)::integer as plans_not_reaching_district
    from streets
    left join counts on streets.street_code = counts.street_code
)

select * from final
