-- Deaths within 7 days are revised in later daily files: the latest reported_at wins.
with

reports as (
    select * from {{ ref('stg_traffic__road_accidents') }}
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by accident_no
            order by reported_at desc, source_file desc, source_row_number desc
        ) as version_rank,
        count(*) over (partition by accident_no) as versions
    from reports
),

final as (
    select
        ranked.accident_no,
        ranked.occurred_at,
        ranked.occurred_at::date as occurred_on,
        coalesce(streets.street_code, 'UNKNOWN') as street_code,
        ranked.street_raw,
        ranked.road,
        ranked.deaths,
        ranked.injuries,
        ranked.vehicles,
        ranked.reported_at,
        ranked.versions::integer as versions,
        ranked.source_file,
        ranked.source_row_number
    from ranked
    left join streets on ranked.street_raw = streets.street_raw
    where ranked.version_rank = 1
)

select * from final
