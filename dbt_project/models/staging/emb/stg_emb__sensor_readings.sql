-- A view over every loaded reading (raw is itself a view over the per-file Parquet): filters on
-- file_sha256, loaded_at and ts_utc go down to the Parquet scan, so a model that selects only new
-- files reads only those.
with

source as (
    select * from {{ source('emb_sensors', 'emb__sensor_readings') }}
),

final as (
    select
        point_id,
        ts as ts_utc,
        -- Asia/Shanghai has been UTC+8 all year since 1991 (no daylight saving)
        ts + interval 8 hour as ts_local,
        value,
        _source_file as source_file,
        _row_number as source_row_number,
        _file_version as file_version,
        _file_sha256 as file_sha256,
        _loaded_at as loaded_at
    from source
)

select * from final
