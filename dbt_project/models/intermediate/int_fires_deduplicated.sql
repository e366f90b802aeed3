-- Fire casualties change for 7 days: the latest 报送时间 wins. Losses arrive in yuan and are
-- converted here to the mart's unit, 10,000 yuan (万元).
with

reports as (
    select * from {{ ref('stg_fire__fires') }}
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by fire_id
            order by reported_at desc, source_file desc, source_row_number desc
        ) as version_rank,
        count(*) over (partition by fire_id) as versions
    from reports
),

final as (
    select
        ranked.fire_id,
        ranked.occurred_at,
        ranked.occurred_at::date as occurred_on,
        coalesce(streets.street_code, 'UNKNOWN') as street_code,
        ranked.street_raw,
        ranked.address,
        ranked.place_type,
        ranked.cause,
        nullif(trim(ranked.uscc), '') as uscc,
        ranked.deaths,
        ranked.injuries,
        ranked.direct_loss_yuan / 10000.0 as direct_loss_10k_yuan,
        ranked.reported_at,
        ranked.versions::integer as versions,
        ranked.source_file,
        ranked.source_row_number
    from ranked
    left join streets on ranked.street_raw = streets.street_raw
    where ranked.version_rank = 1
)

select * from final
