-- Casualties change for 30 days after an accident: the latest 报送日期 wins; among versions
-- reported the same day the one delivered later (file name, then row) wins.
with

latest as (
    -- one row per accident_id, its latest version (the registry's latest_wins; macros/latest_version.sql)
    {{ latest_version(ref('stg_emb__accidents'), 'emb__accidents') }}
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

final as (
    select
        latest.accident_id,
        latest.occurred_at,
        latest.occurred_at::date as occurred_on,
        coalesce(streets.street_code, 'UNKNOWN') as street_code,
        latest.street_raw,
        latest.uscc,
        latest.unit_name,
        latest.industry,
        latest.accident_category,
        latest.deaths,
        latest.serious_injuries,
        latest.minor_injuries,
        latest.direct_loss_10k_yuan,
        latest.severity,
        latest.related_incident_id,
        latest.reported_on,
        latest.versions::integer as versions,
        latest.source_file,
        latest.source_row_number
    from latest
    left join streets on latest.street_raw = streets.street_raw
)

select * from final
