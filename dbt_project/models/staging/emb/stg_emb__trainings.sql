with

source as (
    select * from {{ source('emb_trainings', 'emb__trainings') }}
),

final as (
    select
        {{ delivered_row_id() }} as activity_row_id,
        trim(activity_id) as activity_id,
        activity_date::date as activity_date,
        activity_type,
        nullif(trim(topic), '') as topic,
        nullif(trim(organiser), '') as organiser,
        street_raw,
        audience,
        {{ uscc_key('uscc') }} as uscc,
        attendances as attendances_delivered,
        {{ approx_count_value('attendances') }} as attendances,
        {{ approx_count_is_approximate('attendances') }} as attendances_approximate,
        passed::bigint as passed,
        hours::double as hours,
        -- The month of the file (trainings_YYYYMM.csv).
        {{ file_month() }} as list_month,
        {{ lineage_columns() }}
    from source
)

select * from final
