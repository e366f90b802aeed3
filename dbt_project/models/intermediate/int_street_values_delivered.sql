-- Every street value delivered, per feed: the one list of the feeds that deliver a street
-- (所属街道 / 街道 / street), read by int_street_values_mapped (the mapping) and by
-- agg_street_values (the published list). A feed that starts delivering a street joins here.
-- An empty or missing value is the empty string: it maps to no street (UNKNOWN) and is listed.
with

staged as (
    select
        'emb' as source,
        'accidents' as feed,
        street_raw,
        loaded_at
    from {{ ref('stg_emb__accidents') }}
    union all
    select
        'fire' as source,
        'fires' as feed,
        street_raw,
        loaded_at
    from {{ ref('stg_fire__fires') }}
    union all
    select
        'traffic' as source,
        'road_accidents' as feed,
        street_raw,
        loaded_at
    from {{ ref('stg_traffic__road_accidents') }}
    union all
    select
        'emergency' as source,
        'resources' as feed,
        street_raw,
        loaded_at
    from {{ ref('stg_emergency__resources') }}
    union all
    select
        'grid' as source,
        'hazard_reports' as feed,
        street_raw,
        loaded_at
    from {{ ref('stg_grid__hazard_reports') }}
    union all
    select
        'emb' as source,
        'enterprises' as feed,
        street_raw,
        loaded_at
    from {{ ref('stg_emb__enterprises') }}
    union all
    select
        'safety_office' as source,
        'risk_points' as feed,
        street_raw,
        loaded_at
    from {{ ref('stg_safety_office__risk_points') }}
),

final as (
    select
        source,
        feed,
        coalesce(street_raw, '') as street_raw,
        count(*) as staged_rows,
        -- _loaded_at is UTC; the dates are Asia/Shanghai, as every date shared
        (min(loaded_at) + interval 8 hour)::date as first_loaded_on,
        (max(loaded_at) + interval 8 hour)::date as last_loaded_on
    from staged
    group by source, feed, coalesce(street_raw, '')
)

select * from final
