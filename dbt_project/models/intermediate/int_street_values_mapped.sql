-- Every street spelling that any department delivered, resolved to one of the eight streets.
-- An exact match of the cleaned spelling wins; otherwise a value naming exactly one street's
-- short name (武林, 天水, ...) maps to it; anything else is UNKNOWN and still counted.
with

delivered as (
    select street_raw from {{ ref('stg_emb__accidents') }}
    union
    select street_raw from {{ ref('stg_fire__fires') }}
    union
    select street_raw from {{ ref('stg_traffic__road_accidents') }}
    union
    select street_raw from {{ ref('stg_emergency__resources') }}
    union
    select street_raw from {{ ref('stg_grid__hazard_reports') }}
    union
    select street_raw from {{ ref('stg_emb__enterprises') }}
    union
    select street_raw from {{ ref('stg_safety_office__risk_points') }}
),

cleaned as (
    select distinct
        street_raw,
        {{ clean_street('street_raw') }} as street_clean
    from delivered
    where street_raw is not null
),

spellings as (
    select
        {{ clean_street('spelling') }} as street_clean,
        street_code
    from {{ ref('street_spellings') }}
),

streets as (
    select * from {{ ref('streets') }}
    where street_code != 'UNKNOWN'
),

exact as (
    select
        cleaned.street_raw,
        min(spellings.street_code) as street_code,
        count(distinct spellings.street_code) as n_codes
    from cleaned
    inner join spellings on cleaned.street_clean = spellings.street_clean
    group by cleaned.street_raw
),

contains_name as (
    select
        cleaned.street_raw,
        min(streets.street_code) as street_code,
        count(*) as n_codes
    from cleaned
    inner join streets on contains(cleaned.street_clean, streets.short_name)
    group by cleaned.street_raw
),

final as (
    select
        cleaned.street_raw,
        cleaned.street_clean,
        coalesce(
            case when exact.n_codes = 1 then exact.street_code end,
            case when contains_name.n_codes = 1 then contains_name.street_code end,
            'UNKNOWN'
        ) as street_code,
        case
            when exact.n_codes = 1 then 'exact'
            when contains_name.n_codes = 1 then 'contains'
            else 'unmapped'
        end as match_method
    from cleaned
    left join exact on cleaned.street_raw = exact.street_raw
    left join contains_name on cleaned.street_raw = contains_name.street_raw
)

select * from final
