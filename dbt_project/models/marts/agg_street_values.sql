-- Every street value the departments deliver, per feed, and the street it was mapped to: the
-- list the 数据健康 page shows so that a person can see which values fell to UNKNOWN and, when
-- one is in fact a street, add it to the seed street_spellings. The mapping is the one every
-- table uses (int_street_values_mapped: exact match of the cleaned value with an accepted
-- spelling, else UNKNOWN).
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
        delivered.staged_rows::bigint as rows,
        delivered.first_loaded_on::date as first_seen_on,
        delivered.last_loaded_on::date as last_seen_on
    from delivered
    left join mapped on delivered.street_raw = mapped.street_raw
)

select * from final
