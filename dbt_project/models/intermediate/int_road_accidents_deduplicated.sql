-- Deaths within 7 days are revised in later daily files: the latest reported_at wins.
with

latest as (
    -- one row per accident_no, its latest version (the registry's latest_wins; macros/latest_version.sql)
    {{ latest_version(ref('stg_traffic__road_accidents'), 'traffic__road_accidents') }}
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

final as (
    select
        latest.accident_no,
        latest.occurred_at,
        latest.occurred_at::date as occurred_on,
        coalesce(streets.street_code, 'UNKNOWN') as street_code,
        latest.street_raw,
        latest.road,
        latest.deaths,
        latest.injuries,
        latest.vehicles,
        latest.reported_at,
        latest.versions::integer as versions,
        latest.source_file,
        latest.source_row_number
    from latest
    left join streets on latest.street_raw = streets.street_raw
)

select * from final
