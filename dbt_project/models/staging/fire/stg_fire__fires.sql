with

source as (
    select * from {{ source('fire', 'fire__fires') }}
),

final as (
    select
        {{ delivered_row_id() }} as report_row_id,
        fire_id,
        occurred_at::timestamp as occurred_at,
        street_raw,
        address,
        place_type,
        cause,
        uscc,
        deaths::integer as deaths,
        injuries::integer as injuries,
        direct_loss_yuan::double as direct_loss_yuan,
        reported_at::timestamp as reported_at,
        {{ lineage_columns() }}
    from source
)

select * from final
