-- One row per current emergency plan: is it linked up to the district plan (and if not, why),
-- how deep below it, and is it drilled. A drill on day D counts as "in the last 12 months" when
-- as_of_date - 12 months < D <= as_of_date (as_of_date: dbt var, default the build day).
-- street_code: the plan's street as int_plans_linked decides it (ALL for 区级 and 部门 plans,
-- the street of the nearest street owner on its chain, else UNKNOWN).
with

plans as (
    select * from {{ ref('int_plans_linked') }}
),

drills as (
    select * from {{ ref('int_drills_deduplicated') }}
),

as_of as (
    select
        {{ as_of_date() }} as as_of_date,
        ({{ as_of_date() }} - interval 12 month)::date as window_start
),

drill_stats as (
    select
        drills.plan_id,
        count(*) filter (where drills.drilled_on > as_of.window_start) as drills_last_12_months,
        max(drills.drilled_on) as last_drilled_on
    from drills
    cross join as_of
    where drills.plan_id is not null and drills.drilled_on <= as_of.as_of_date
    group by drills.plan_id
),

final as (
    select
        plans.plan_id::varchar as plan_id,
        plans.plan_name::varchar as plan_name,
        plans.tier::varchar as tier,
        plans.owner_unit::varchar as owner_unit,
        plans.parent_plan_id::varchar as parent_plan_id,
        plans.reaches_district_plan::boolean as reaches_district_plan,
        plans.link_issue::varchar as link_issue,
        plans.depth::integer as depth,
        plans.chain::varchar as chain,
        plans.published_on::date as published_on,
        plans.revised_on::date as revised_on,
        coalesce(drill_stats.drills_last_12_months, 0)::integer as drills_last_12_months,
        drill_stats.last_drilled_on::date as last_drilled_on,
        (coalesce(drill_stats.drills_last_12_months, 0) > 0)::boolean as drilled_in_last_12_months,
        -- added after the first release: new columns go at the end (CHANGELOG.md)
        plans.street_code::varchar as street_code
    from plans
    left join drill_stats on plans.plan_id = drill_stats.plan_id
)

select * from final
