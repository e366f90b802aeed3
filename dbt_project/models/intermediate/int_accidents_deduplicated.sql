-- Casualties change for 30 days after an accident: the latest 报送日期 wins; among versions
-- reported the same day the one delivered later (file name, then row) wins.
with

reports as (
    select * from {{ ref('stg_emb__accidents') }}
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by accident_id
            order by reported_on desc, source_file desc, source_row_number desc
        ) as version_rank,
        count(*) over (partition by accident_id) as versions
    from reports
),

final as (
    select
        ranked.accident_id,
        ranked.occurred_at,
        ranked.occurred_at::date as occurred_on,
        coalesce(streets.street_code, 'UNKNOWN') as street_code,
        ranked.street_raw,
        ranked.uscc,
        ranked.unit_name,
        ranked.industry,
        ranked.accident_category,
        ranked.deaths,
        ranked.serious_injuries,
        ranked.minor_injuries,
        ranked.direct_loss_10k_yuan,
        ranked.severity,
        ranked.related_incident_id,
        ranked.reported_on,
        ranked.versions::integer as versions,
        ranked.source_file,
        ranked.source_row_number
    from ranked
    left join streets on ranked.street_raw = streets.street_raw
    where ranked.version_rank = 1
)

select * from final
