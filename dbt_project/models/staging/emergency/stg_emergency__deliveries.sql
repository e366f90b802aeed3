-- The Command Centre's delivered files as the ingest recorded them (audit.reconciliation):
-- which monthly list is the latest, and whether a file is a re-sent copy of an earlier one.
with

source as (
    select * from {{ source('emergency_audit', 'reconciliation') }}
),

final as (
    select
        feed,
        file_name,
        file_sha256,
        status,
        duplicate_of,
        rows_delivered::integer as rows_delivered,
        rows_loaded::integer as rows_loaded,
        rows_quarantined::integer as rows_quarantined,
        coalesce(
            try_strptime(regexp_extract(file_name, '(\d{6})', 1), '%Y%m')::date,
            date_trunc('month', loaded_at)::date
        ) as list_month,
        loaded_at
    from source
    where source = 'emergency'
)

select * from final
