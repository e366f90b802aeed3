with

source as (
    select * from {{ source('traffic', 'traffic__road_accidents') }}
),

final as (
    select
        {{ delivered_row_id() }} as report_row_id,
        accident_no,
        occurred_at::timestamp as occurred_at,
        street_raw,
        road,
        deaths_7d::integer as deaths,
        injuries::integer as injuries,
        vehicles::integer as vehicles,
        reported_at::timestamp as reported_at,
        {{ lineage_columns() }}
    from source
)

select * from final
