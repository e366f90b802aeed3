-- The current emergency resources, street resolved. Every monthly file is the full list, so
-- the latest file the ingest loaded (by the month in its name, then its name; a re-sent copy
-- stands for the file it copies; a file rejected as a whole or empty does not count) is the
-- current list: a resource missing from it is no longer current. A resource whose line in that list was quarantined is still on the list with its
-- latest loaded version (carried_forward). A resource listed twice in one file: the later
-- 更新日期 wins, then the later line.
with

resources as (
    -- a list re-sent under its name with other bytes replaces its earlier version
    select * from {{ ref('stg_emergency__resources') }}
    where is_latest_file_version
),

deliveries as (
    select * from {{ ref('stg_emergency__deliveries') }}
    where feed = 'resources'
),

quarantined as (
    {{ emergency_quarantined_lines_counted('resources') }}
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

latest_list as (
    -- A re-sent copy stands for its original, if that one loaded rows.
    select coalesce(deliveries.duplicate_of, deliveries.file_name) as list_file
    from deliveries
    inner join deliveries as original
        on coalesce(deliveries.duplicate_of, deliveries.file_name) = original.file_name
        and original.status in ('loaded', 'partial')
    where deliveries.status in ('loaded', 'partial', 'duplicate')
    order by deliveries.list_month desc, deliveries.file_name desc, deliveries.loaded_at desc
    limit 1
),

listed as (
    select resources.resource_id
    from resources
    inner join latest_list on resources.source_file = latest_list.list_file
    union
    select quarantined.record_id as resource_id
    from quarantined
    inner join latest_list on quarantined.file_name = latest_list.list_file
    where quarantined.record_id is not null
),

ranked as (
    select
        resources.*,
        resources.source_file = latest_list.list_file as in_latest_list,
        row_number() over (
            partition by resources.resource_id
            order by
                resources.source_file = latest_list.list_file desc,
                resources.list_month desc,
                resources.source_file desc,
                resources.updated_on desc nulls last,
                resources.source_row_number desc
        ) as version_rank
    from resources
    cross join latest_list
    inner join listed on resources.resource_id = listed.resource_id
),

final as (
    select
        ranked.resource_id,
        ranked.resource_type,
        ranked.resource_name,
        ranked.quantity,
        ranked.unit,
        coalesce(streets.street_code, 'UNKNOWN') as street_code,
        ranked.street_raw,
        ranked.updated_on,
        not ranked.in_latest_list as carried_forward,
        ranked.list_month,
        ranked.source_file,
        ranked.source_row_number
    from ranked
    left join streets on ranked.street_raw = streets.street_raw
    where ranked.version_rank = 1
)

select * from final
