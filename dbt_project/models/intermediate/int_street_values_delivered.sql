-- Every street value delivered, per feed: the feeds that deliver a street are the registry's
-- (citysafety/sources.py: a feed declaring the street column, carried into dbt by the generated
-- macros/registry.sql), so a feed that starts delivering a street joins here without an edit.
-- Read by int_street_values_mapped (the mapping, over every version delivered: a row kept from
-- an older version of a file still needs its street) and by agg_street_values (the published
-- list, which counts only the rows of the version that counts: a file name re-sent with other
-- bytes replaces its earlier version, macros/file_versions.sql). An empty or missing value is
-- the empty string: it maps to no street (UNKNOWN) and is listed.
with

staged as (
    {%- for f in registry_feed_list() if f.street_column %}
        select
            '{{ f.source }}' as source,
            '{{ f.feed }}' as feed,
            {{ f.street_column }} as street_raw,
            is_latest_file_version,
            loaded_at
        from {{ ref('stg_' ~ f.source ~ '__' ~ f.feed) }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select
        source,
        feed,
        coalesce(street_raw, '') as street_raw,
        count(*) as staged_rows,
        -- _loaded_at is UTC; the dates are Asia/Shanghai, as every date shared
        (min(loaded_at) + interval 8 hour)::date as first_loaded_on,
        (max(loaded_at) + interval 8 hour)::date as last_loaded_on,
        count(*) filter (where is_latest_file_version) as counted_rows,
        (min(loaded_at) filter (where is_latest_file_version) + interval 8 hour)::date as counted_first_loaded_on,
        (max(loaded_at) filter (where is_latest_file_version) + interval 8 hour)::date as counted_last_loaded_on
    from staged
    group by source, feed, coalesce(street_raw, '')
)

select * from final
