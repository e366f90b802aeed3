with

source as (
    select * from {{ source('emb_enterprises', 'emb__enterprises') }}
),

final as (
    select
        {{ delivered_row_id() }} as snapshot_row_id,
        uscc,
        unit_name,
        street_raw,
        industry,
        employees::integer as employees,
        above_scale::boolean as above_scale,
        standardisation_grade,
        insured::boolean as insured,
        insurance_expires_on::date as insurance_expires_on,
        major_hazard_unit::boolean as major_hazard_unit,
        -- The snapshot's "as of" date is in the file name (enterprises_YYYYMMDD.xlsx); a file
        -- named otherwise counts as of the day it was loaded.
        coalesce(
            try_strptime(regexp_extract(_source_file, '(\d{8})', 1), '%Y%m%d')::date,
            _loaded_at::date
        ) as snapshot_date,
        {{ lineage_columns() }}
    from source
)

select * from final
