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
        points.source_row_number::integer as source_row_number,
        -- added after the first release: new columns go at the end (CHANGELOG.md). The labels
        -- the district counts by: 未分类 / 未定级 when none, levels ordered red first.
        coalesce(points.risk_category, '未分类')::varchar as risk_category_label,
        coalesce(points.risk_level_effective, '未定级')::varchar as risk_level_label,
        case coalesce(points.risk_level_effective, '未定级')
            when '红' then 1 when '橙' then 2 when '黄' then 3 when '蓝' then 4 else 5
        end::integer as risk_level_order,
        points.flag_reason_zh::varchar as flag_reason_zh
    from points
    left join streets on points.street_code = streets.street_code
)

select * from final
