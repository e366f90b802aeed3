with

source as (
    select * from {{ source('emergency', 'emergency__drills') }}
),

final as (
    select
        {{ delivered_row_id() }} as drill_row_id,
        drill_id,
        nullif(trim(plan_id), '') as plan_id,
        drilled_on::date as drilled_on,
        drill_form,
        participants::integer as participants,
        -- The month of the file (drills_YYYYMM.csv): a drill listed again later is corrected.
        {{ file_month() }} as list_month,
        {{ lineage_columns() }}
    from source
)

select * from final
