with

source as (
    select * from {{ source('emergency', 'emergency__resources') }}
),

final as (
    select
        {{ delivered_row_id() }} as resource_row_id,
        resource_id,
        resource_type,
        resource_name,
        quantity::double as quantity,
        unit,
        street_raw,
        updated_on::date as updated_on,
        -- The month the list describes (resources_YYYYMM.csv) orders the monthly full lists.
        {{ file_month() }} as list_month,
        {{ lineage_columns() }}
    from source
)

select * from final
