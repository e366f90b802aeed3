with

source as (
    select * from {{ source('emb_inspections', 'emb__inspections') }}
),

final as (
    select
        {{ delivered_row_id() }} as item_row_id,
        inspection_id,
        nullif(trim(uscc), '') as uscc,
        inspected_on::date as inspected_on,
        team,
        findings::integer as findings,
        result,
        penalty_yuan::double as penalty_yuan,
        blacklisted::boolean as blacklisted,
        updated_at::timestamp as updated_at,
        {{ lineage_columns() }}
    from source
)

select * from final
