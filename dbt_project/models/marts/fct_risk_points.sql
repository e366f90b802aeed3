with

points as (
    select * from {{ ref('int_risk_points_assessed') }}
),

streets as (
    select * from {{ ref('streets') }}
),

final as (
    select
        points.risk_point_id::varchar as risk_point_id,
        points.risk_point_name::varchar as risk_point_name,
        points.street_code::varchar as street_code,
        streets.street_name::varchar as street_name,
        points.risk_category::varchar as risk_category,
        points.likelihood::integer as likelihood,
        points.severity::integer as severity,
        points.risk_value::integer as risk_value,
        points.risk_value_computed::integer as risk_value_computed,
        points.risk_level::varchar as risk_level,
        points.risk_level_computed::varchar as risk_level_computed,
        points.risk_level_effective::varchar as risk_level_effective,
        points.value_consistent::boolean as value_consistent,
        points.level_consistent::boolean as level_consistent,
        points.flagged::boolean as flagged,
        points.flag_reason::varchar as flag_reason,
        points.responsible_unit::varchar as responsible_unit,
        points.assessed_on::date as assessed_on,
        points.snapshot_quarter::varchar as snapshot_quarter,
        points.delivered_rows::integer as delivered_rows,
        points.source_file::varchar as source_file,
        points.source_row_number::integer as source_row_number
    from points
    left join streets on points.street_code = streets.street_code
)

select * from final
