with

source as (
    select * from {{ source('emb_sensors', 'emb__hazard_sources') }}
),

final as (
    select
        {{ delivered_row_id() }} as snapshot_row_id,
        hazard_source_id,
        nullif(trim(uscc), '') as uscc,
        hazard_source_name,
        hazard_level,
        point_id,
        metric,
        unit,
        high_threshold::double as high_threshold,
        high_high_threshold::double as high_high_threshold,
        -- hazard_sources_YYYYMMDD.csv: the date the snapshot describes
        try_strptime(regexp_extract(_source_file, '(\d{8})', 1), '%Y%m%d')::date as snapshot_date,
        {{ lineage_columns() }}
    from source
)

select * from final
