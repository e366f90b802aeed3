-- The 数据健康 page's source freshness: the verdicts of this build's dbt source freshness
-- (audit.source_freshness, one row per source table), with the feed each table holds (dbt names
-- a source table <source>__<feed>) and the order a reader takes them in: past error_after first
-- (it stopped the publish), then past warn_after, never delivered, fresh. When the check ran
-- and the hours since the last load then stay in audit.source_freshness: they change with
-- every check, and a rebuild of the same loads publishes the same marts.
with

freshness as (
    select * from {{ source('emergency_audit', 'source_freshness') }}
),

final as (
    select
        (source || '.' || table_name)::varchar as report_id,
        source::varchar as source,
        table_name::varchar as table_name,
        string_split(table_name, '__')[-1]::varchar as feed,
        status::varchar as status,
        case status when 'error' then 1 when 'warn' then 2 when 'no_data' then 3 when 'pass' then 4 else 5 end::integer
            as status_order,
        max_loaded_at::timestamp as max_loaded_at,
        warn_after::varchar as warn_after,
        error_after::varchar as error_after
    from freshness
)

select * from final
