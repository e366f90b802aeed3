-- One row per emergency drill ever delivered (latest delivered version), with the plan it
-- drilled as on the current plan list and the street of that plan, as int_plans_linked decides
-- it for fct_emergency_plans: ALL for district and department plans, the street of the plan's
-- chain, UNKNOWN for a plan without one and for drills of plans that are not on the current list.
with

drills as (
    select * from {{ ref('int_drills_deduplicated') }}
),

plans as (
    select * from {{ ref('int_plans_linked') }}
),

known_plans as (
    select distinct plan_id from {{ ref('stg_emergency__plans') }}
),

final as (
    select
        drills.drill_id::varchar as drill_id,
        drills.drilled_on::date as drilled_on,
        year(drills.drilled_on)::integer as drill_year,
        drills.drill_form::varchar as drill_form,
        drills.participants::integer as participants,
        drills.plan_id::varchar as plan_id,
        (plans.plan_id is not null)::boolean as plan_current,
        (known_plans.plan_id is not null)::boolean as plan_known,
        plans.plan_name::varchar as plan_name,
        plans.tier::varchar as plan_tier,
        coalesce(plans.street_code, 'UNKNOWN')::varchar as street_code,
        drills.versions::integer as versions,
        drills.source_file::varchar as source_file,
        drills.source_row_number::integer as source_row_number,
        -- the tier a report counts the drill under: a drill of a plan off the current list
        -- has no tier of its own
        case
            when plans.plan_id is null then '不在现行清单'
            else coalesce(plans.tier, '未填写')
        end::varchar as plan_tier_label
    from drills
    left join plans on drills.plan_id = plans.plan_id
    left join known_plans on drills.plan_id = known_plans.plan_id
)

select * from final
