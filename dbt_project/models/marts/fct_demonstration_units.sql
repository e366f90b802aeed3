-- One row per creating unit (安全发展示范街道 / 安全社区 / 综合减灾示范社区) and quarterly
-- snapshot, as int_demonstration_units_assessed decides it (identity, street, stage, verdict).
with

units as (
    select * from {{ ref('int_demonstration_units_assessed') }}
),

streets as (
    select * from {{ ref('dim_streets') }}
),

latest as (
    select max(snapshot_quarter) as snapshot_quarter from units
),

final as (
    select
        units.unit_quarter_id::varchar as unit_quarter_id,
        units.unit_id::varchar as unit_id,
        units.unit_name::varchar as unit_name,
        units.unit_tier::varchar as unit_tier,
        units.creation_type::varchar as creation_type,
        units.street_code::varchar as street_code,
        streets.street_name::varchar as street_name,
        units.target_year::integer as target_year,
        units.snapshot_quarter::varchar as snapshot_quarter,
        units.snapshot_year::integer as snapshot_year,
        units.quarter_end::date as quarter_end,
        (units.snapshot_quarter = latest.snapshot_quarter)::boolean as is_latest_snapshot,
        units.stage::varchar as stage,
        units.stage_order::integer as stage_order,
        units.stage_delivered::varchar as stage_delivered,
        units.stage_date::date as stage_date,
        (units.stage in ('市级命名', '复评'))::boolean as is_named,
        units.is_failed_assessment::boolean as is_failed_assessment,
        units.is_failed_reassessment::boolean as is_failed_reassessment,
        units.is_stage_regression_flagged::boolean as is_stage_regression_flagged,
        units.criteria::integer as criteria,
        units.full_points::double as full_points,
        units.self_share::double as self_share,
        units.assessed_share::double as assessed_share,
        units.b3_min_assessed_share::double as b3_min_assessed_share,
        units.passed::boolean as passed,
        units.is_assessment_missing_flagged::boolean as is_assessment_missing_flagged,
        units.weak_criteria_count::integer as weak_criteria_count,
        units.weak_criteria::varchar as weak_criteria,
        units.scores_out_of_range::integer as scores_out_of_range,
        units.name_spellings::integer as name_spellings
    from units
    cross join latest
    left join streets on units.street_code = streets.street_code
)

select * from final
