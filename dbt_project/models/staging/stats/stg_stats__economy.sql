with

source as (
    select * from {{ source('stats', 'stats__economy') }}
),

final as (
    select
        {{ delivered_row_id() }} as report_row_id,
        year::integer as year,
        gdp_100m_yuan::double as gdp_100m_yuan,
        population_10k::double as population_10k,
        vehicles_10k::double as vehicles_10k,
        data_status,
        -- The file's date (economy_YYYYMMDD.xlsx) orders revisions of equal status.
        coalesce(
            try_strptime(regexp_extract(_source_file, '(\d{8})', 1), '%Y%m%d')::date,
            _loaded_at::date
        ) as file_date,
        {{ lineage_columns() }}
    from source
)

select * from final
