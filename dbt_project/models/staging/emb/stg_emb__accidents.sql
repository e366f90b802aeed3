with

source as (
    select * from {{ source('emb', 'emb__accidents') }}
),

final as (
    select
        {{ delivered_row_id() }} as report_row_id,
        accident_id,
        occurred_at::timestamp as occurred_at,
        street_raw,
        uscc,
        unit_name,
        industry,
        accident_category,
        deaths::integer as deaths,
        serious_injuries::integer as serious_injuries,
        minor_injuries::integer as minor_injuries,
        direct_loss_10k_yuan::double as direct_loss_10k_yuan,
        severity,
        nullif(trim(related_incident_id), '') as related_incident_id,
        -- Personal data stays in the raw layer: only a masked form travels on.
        {{ mask_name('contact_name') }} as contact_name_masked,
        {{ mask_phone('contact_phone') }} as contact_phone_masked,
        reported_on::date as reported_on,
        {{ lineage_columns() }}
    from source
)

select * from final
