with

source as (
    select * from {{ source('safety_office', 'safety_office__risk_points') }}
),

final as (
    select
        {{ delivered_row_id() }} as snapshot_row_id,
        risk_point_id,
        risk_point_name,
        street_raw,
        risk_category,
        likelihood::integer as likelihood,
        severity::integer as severity,
        risk_value::integer as risk_value,
        nullif(trim(risk_level), '') as risk_level,
        responsible_unit,
        assessed_on::date as assessed_on,
        -- The snapshot's quarter is in the file name (risk_points_2019Q1.xlsx).
        {{ file_quarter() }} as snapshot_quarter,
        {{ lineage_columns() }}
    from source
)

select * from final
