-- Fire casualties change for 7 days: the latest 报送时间 wins. Losses arrive in yuan and are
-- converted here to the mart's unit, 10,000 yuan (万元).
with

latest as (
    -- one row per fire_id, its latest version (the registry's latest_wins; macros/latest_version.sql)
    {{ latest_version(ref('stg_fire__fires'), 'fire__fires') }}
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

final as (
    select
        latest.fire_id,
        latest.occurred_at,
        latest.occurred_at::date as occurred_on,
        coalesce(streets.street_code, 'UNKNOWN') as street_code,
        latest.street_raw,
        latest.address,
        latest.place_type,
        latest.cause,
        nullif(trim(latest.uscc), '') as uscc,
        latest.deaths,
        latest.injuries,
        latest.direct_loss_yuan / 10000.0 as direct_loss_10k_yuan,
        latest.reported_at,
        latest.versions::integer as versions,
        latest.source_file,
        latest.source_row_number
    from latest
    left join streets on latest.street_raw = streets.street_raw
)

select * from final
