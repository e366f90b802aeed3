-- The 数据健康 page's deliveries: audit.reconciliation (one row per delivered file) counted per
-- feed and Beijing day of loading: files by status, rows delivered, loaded and quarantined, and
-- the day's latest file. Counts add up over days; a feed's latest file is the last_file_name of
-- its row with the latest last_loaded_at.
with

reconciliation as (
    select * from {{ source('emergency_audit', 'reconciliation') }}
),

files as (
    select
        *,
        -- audit timestamps are UTC; the page's days are Beijing days
        timezone('Asia/Shanghai', timezone('UTC', loaded_at))::date as loaded_on
    from reconciliation
),

final as (
    select
        md5(concat_ws('|', source, feed, loaded_on::varchar))::varchar as report_id,
        source::varchar as source,
        feed::varchar as feed,
        loaded_on::date as loaded_on,
        count(*)::integer as files,
        count(*) filter (where status = 'loaded')::integer as files_loaded,
        count(*) filter (where status = 'partial')::integer as files_partial,
        count(*) filter (where status = 'rejected')::integer as files_rejected,
        count(*) filter (where status = 'duplicate')::integer as files_duplicate,
        count(*) filter (where status = 'empty')::integer as files_empty,
        count(*) filter (
            where status is null or status not in ('loaded', 'partial', 'rejected', 'duplicate', 'empty')
        )::integer as files_other,
        coalesce(sum(rows_delivered), 0)::bigint as rows_delivered,
        coalesce(sum(rows_loaded), 0)::bigint as rows_loaded,
        coalesce(sum(rows_quarantined), 0)::bigint as rows_quarantined,
        max(loaded_at)::timestamp as last_loaded_at,
        -- the day's latest file; equal times: the greatest name, so the choice is stable
        arg_max(file_name, struct_pack(t := loaded_at, f := file_name))::varchar as last_file_name,
        arg_max(status, struct_pack(t := loaded_at, f := file_name))::varchar as last_status,
        -- a file name delivered again with other bytes: its next version (the ingest decides)
        count(*) filter (where supersedes is not null)::integer as files_resent
    from files
    group by source, feed, loaded_on
)

select * from final
