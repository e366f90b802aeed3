-- The 数据健康 page's 交付时效: one row per feed of the registry (citysafety/sources.py, carried
-- into dbt by the generated macros/registry.sql), in registry order, and after them any feed that
-- delivered without being registered. Each carries its latest delivery of all time (the last
-- file of rpt_data_health_deliveries, so "latest file" is defined once), the agreed cadence and
-- the due time of the next delivery (due_at = last delivery + cadence), and the status as of the
-- build: not_received (never delivered), on_time (as_of_at <= due_at), overdue (any part of a
-- day past due_at counts as a day: one second late is 1 day late), unregistered (no cadence).
--
-- As of the build means as of the start of the build's as-of day in Beijing (macros/as_of_date.sql),
-- not the wall clock, so that a rebuild of the same loads publishes the same table. The page
-- compares due_at with the current time itself: that is the clock, not a rule; the cadence
-- arithmetic and the names are here.
with

registry as (
    {%- for f in registry_feed_list() %}
        select
            '{{ f.source }}' as source,
            '{{ f.feed }}' as feed,
            '{{ f.department | replace("'", "''") }}' as department,
            '{{ f.title | replace("'", "''") }}' as title,
            {{ loop.index }} as feed_order,
            {{ f.cadence_days }} as cadence_days
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

deliveries as (
    select * from {{ ref('rpt_data_health_deliveries') }}
),

latest as (
    -- a feed's latest delivery: the latest day's last file (equal times: the greatest name)
    select
        source,
        feed,
        max(last_loaded_at) as last_loaded_at,
        arg_max(last_file_name, struct_pack(t := last_loaded_at, f := last_file_name)) as last_file_name,
        arg_max(last_status, struct_pack(t := last_loaded_at, f := last_file_name)) as last_status
    from deliveries
    group by source, feed
),

as_of as (
    -- 00:00 of the as-of day in Beijing, in UTC like audit.reconciliation.loaded_at
    select timezone('UTC', timezone('Asia/Shanghai', {{ as_of_date() }}::timestamp)) as as_of_at
),

feeds as (
    select
        coalesce(registry.source, latest.source) as source,
        coalesce(registry.feed, latest.feed) as feed,
        coalesce(registry.department, '未登记来源（' || latest.source || '）') as department,
        coalesce(registry.title, latest.feed) as title,
        registry.feed_order,
        registry.source is not null as registered,
        registry.cadence_days,
        latest.last_loaded_at,
        latest.last_file_name,
        latest.last_status,
        latest.last_loaded_at + to_days(registry.cadence_days) as due_at
    from registry
    full outer join latest
        on
            registry.source = latest.source
            and registry.feed = latest.feed
),

final as (
    select
        (feeds.source || '/' || feeds.feed)::varchar as feed_id,
        feeds.source::varchar as source,
        feeds.feed::varchar as feed,
        feeds.department::varchar as department,
        feeds.title::varchar as title,
        -- unregistered feeds after the registry's, by source and feed
        coalesce(
            feeds.feed_order,
            (select count(*) from registry) + row_number() over (
                partition by feeds.feed_order is null order by feeds.source, feeds.feed
            )
        )::integer as feed_order,
        feeds.registered::boolean as registered,
        feeds.cadence_days::integer as cadence_days,
        feeds.last_loaded_at::timestamp as last_loaded_at,
        feeds.last_file_name::varchar as last_file_name,
        feeds.last_status::varchar as last_status,
        feeds.due_at::timestamp as due_at,
        as_of.as_of_at::timestamp as as_of_at,
        case
            when not feeds.registered then 'unregistered'
            when feeds.last_loaded_at is null then 'not_received'
            when as_of.as_of_at <= feeds.due_at then 'on_time'
            else 'overdue'
        end::varchar as status,
        case
            when feeds.registered and as_of.as_of_at > feeds.due_at
                -- late by any part of a day counts as a day
                then ceil(epoch(as_of.as_of_at - feeds.due_at) / 86400)
        end::integer as days_late
    from feeds
    cross join as_of
)

select * from final
