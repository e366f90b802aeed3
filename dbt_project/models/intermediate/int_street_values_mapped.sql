-- Every street value that any department delivered, resolved to one of the eight streets:
-- which street a row belongs to is decided here, once. A value maps only when its cleaned form
-- (macros/clean_street.sql: half-width, no spaces, no district prefix, no office suffix)
-- equals a cleaned accepted spelling of the seed street_spellings (the seed a person extends
-- when the data-health page, marts.agg_street_values, lists a real street under UNKNOWN).
-- Anything else is UNKNOWN ('unmapped') and still counted: no guessing from what a value
-- contains (城东新城片区 is not 东新, 武林门 is not 武林, 天水街道武林门社区 is no street).
with

delivered as (
    select distinct street_raw from {{ ref('int_street_values_delivered') }}
),

cleaned as (
    select
        street_raw,
        {{ clean_street('street_raw') }} as street_clean
    from delivered
    where street_raw is not null
),

spellings as (
    select distinct
        {{ clean_street('spelling') }} as street_clean,
        street_code
    from {{ ref('street_spellings') }}
),

exact as (
    -- a cleaned spelling claimed by two streets maps to neither (and fails the seed's test)
    select
        cleaned.street_raw,
        min(spellings.street_code) as street_code,
        count(distinct spellings.street_code) as n_codes
    from cleaned
    inner join spellings on cleaned.street_clean = spellings.street_clean
    group by cleaned.street_raw
),

final as (
    select
        cleaned.street_raw,
        cleaned.street_clean,
        case when exact.n_codes = 1 then exact.street_code else 'UNKNOWN' end as street_code,
        case when exact.n_codes = 1 then 'exact' else 'unmapped' end as match_method
    from cleaned
    left join exact on cleaned.street_raw = exact.street_raw
)

select * from final
