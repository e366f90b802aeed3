-- Every street value the departments deliver, per feed, and the street it was mapped to: the
-- list the 数据健康 page shows so that a person can see which values fell to UNKNOWN and, when
-- one is in fact a street, add it to the seed street_spellings. The mapping is the one every
-- table uses (int_street_values_mapped: exact match of the cleaned value with an accepted
-- spelling, else UNKNOWN). Rows count the version of each file name that counts: a name re-sent
-- with other bytes replaces its earlier version, whose rows are not counted again.
with

delivered as (
    select * from {{ ref('int_street_values_delivered') }}
),

mapped as (
    select * from {{ ref('int_street_values_mapped') }}
),

final as (
    select
        delivered.source::varchar as source,
        delivered.feed::varchar as feed,
        delivered.street_raw::varchar as street_raw,
        coalesce(mapped.street_code, 'UNKNOWN')::varchar as street_code,
        coalesce(mapped.match_method, 'unmapped')::varchar as match_method,
        delivered.counted_rows::bigint as rows,
        delivered.counted_first_loaded_on::date as first_seen_on,
        delivered.counted_last_loaded_on::date as last_seen_on
    from delivered
    left join mapped on delivered.street_raw = mapped.street_raw
    -- a value that only a replaced version of a file name carried is no longer delivered
    where delivered.counted_rows > 0
)

select * from final
