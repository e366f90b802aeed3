-- The 应急 page's plan counts per tier and street of the plan: current plans, of them drilled
-- in the last 12 months (marts.fct_emergency_plans.drilled_in_last_12_months, as of the build
-- day) and not reaching the district plan. Counts add up over streets and tiers; a coverage is
-- the sum of drilled over the sum of plans. tier_order is the display order of the tiers.
with

plans as (
    select * from {{ ref('fct_emergency_plans') }}
),

dim_streets as (
    select * from {{ ref('dim_streets') }}
),

counts as (
    select
        coalesce(tier, '未填写') as tier,
        coalesce(street_code, 'UNKNOWN') as street_code,
        count(*) as plans,
        count(*) filter (where coalesce(drilled_in_last_12_months, false)) as drilled_last_12_months,
        count(*) filter (where coalesce(reaches_district_plan, false)) as reaching_district,
        count(*) filter (where not coalesce(reaches_district_plan, false)) as not_reaching_district
    from plans
    group by 1, 2
),

final as (
    select
        (counts.tier || ':' || counts.street_code)::varchar as report_id,
        counts.tier::varchar as tier,
        {{ plan_tier_order('counts.tier') }}::integer as tier_order,
        counts.street_code::varchar as street_code,
        {{ report_street_name('counts.street_code', 'dim_streets.street_name') }}::varchar
            as street_name,
        counts.plans::integer as plans,
        counts.drilled_last_12_months::integer as drilled_last_12_months,
        (counts.drilled_last_12_months / nullif(counts.plans, 0))::double as drill_coverage_12_months,
        counts.reaching_district::integer as reaching_district,
        counts.not_reaching_district::integer as not_reaching_district
    from counts
    left join dim_streets on counts.street_code = dim_streets.street_code
)

select * from final
