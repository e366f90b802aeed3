-- The Command Centre's delivered files as the ingest recorded them (audit.reconciliation):
-- which monthly list is the latest, whether a file is a re-sent copy of an earlier one, and which
-- version of a file name re-sent with other bytes counts.
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
        loaded_at,
        file_version::integer as file_version,
        -- the version of its file name that counts: the latest that loaded rows (a later version
        -- rejected as a whole or empty leaves the one before it standing, as for the raw rows,
        -- macros/file_versions.sql); loads recorded before versions existed: the latest load
        coalesce(
            status in ('loaded', 'partial')
            and row_number() over (
                partition by feed, file_name, status in ('loaded', 'partial')
                order by file_version desc nulls last, loaded_at desc
            ) = 1,
            false
        ) as is_latest_file_version
    from source
    where source = 'emergency'
)

select * from final
