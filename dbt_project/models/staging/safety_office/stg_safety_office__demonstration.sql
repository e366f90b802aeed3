with

source as (
    select * from {{ source('safety_office', 'safety_office__demonstration') }}
),

final as (
    select
        {{ delivered_row_id() }} as snapshot_row_id,
        trim(unit_id) as unit_id,
        unit_name,
        unit_tier,
        street_raw,
        creation_type,
        target_year::integer as target_year,
        stage,
        stage_date::date as stage_date,
        upper(trim(criterion_id)) as criterion_id,
        criterion_name,
        full_points::double as full_points,
        self_points::double as self_points,
        assessed_points::double as assessed_points,
        -- The snapshot's quarter is in the file name (demonstration_2019Q1.xlsx).
        {{ file_quarter() }} as snapshot_quarter,
        {{ lineage_columns() }}
    from source
)

select * from final
