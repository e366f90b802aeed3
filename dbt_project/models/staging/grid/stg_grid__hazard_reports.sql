with

source as (
    select * from {{ source('grid', 'grid__hazard_reports') }}
),

final as (
    select
        {{ delivered_row_id() }} as report_row_id,
        report_id,
        found_on::date as found_on,
        street_raw,
        community,
        grid_code,
        uscc,
        description,
        level,
        deadline::date as deadline,
        rectified_on::date as rectified_on,
        status,
        supervised::boolean as supervised,
        -- Personal data stays in the raw layer: only a masked form travels on.
        {{ mask_name('reporter_name') }} as reporter_name_masked,
        {{ mask_id_no('reporter_id_no') }} as reporter_id_no_masked,
        {{ mask_phone('reporter_phone') }} as reporter_phone_masked,
        updated_at::timestamp as updated_at,
        {{ lineage_columns() }}
    from source
)

select * from final
