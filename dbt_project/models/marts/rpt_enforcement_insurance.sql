-- The 执法与信用 page's current 安责险 coverage per street: active units of the enterprise
-- registry's latest snapshot and, of them, those whose safety-liability insurance is in force
-- (marts.dim_enterprises.insurance_current, macros/insurance_current.sql). Counts add up over
-- streets; the coverage of several streets is insured ÷ units of their rows.
with

enterprises as (
    select * from {{ ref('dim_enterprises') }}
    where is_active
),

dim_streets as (
    select * from {{ ref('dim_streets') }}
),

streets as (
    {{ report_streets(['enterprises']) }}
),

counts as (
    select
        coalesce(street_code, 'UNKNOWN') as street_code,
        count(*) as units,
        count(*) filter (where insurance_current) as insured,
        max(snapshot_date) as snapshot_date
    from enterprises
    group by 1
),

final as (
    select
        streets.street_code::varchar as street_code,
        {{ report_street_name('streets.street_code', 'dim_streets.street_name') }}::varchar
            as street_name,
        coalesce(counts.units, 0)::integer as units,
        coalesce(counts.insured, 0)::integer as insured,
        (counts.insured / nullif(counts.units, 0))::double as insurance_coverage,
        counts.snapshot_date::date as snapshot_date
    from streets
    left join counts on streets.street_code = counts.street_code
    left join dim_streets on streets.street_code = dim_streets.street_code
)

select * from final
