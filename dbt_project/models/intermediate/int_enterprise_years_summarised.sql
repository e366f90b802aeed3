-- Employment and insurance per year and street, from the last registry snapshot of each year
-- (the registry is a monthly full snapshot; the year's last one describes its end).
with

snapshots as (
    select * from {{ ref('stg_emb__enterprises') }}
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

last_of_year as (
    select
        year(snapshot_date) as year,
        max(snapshot_date) as snapshot_date
    from snapshots
    group by 1
),

units as (
    select
        last_of_year.year,
        snapshots.snapshot_date,
        coalesce(streets.street_code, 'UNKNOWN') as street_code,
        coalesce(snapshots.employees, 0) as employees,
        {{ insurance_current(
            'snapshots.insured', 'snapshots.insurance_expires_on', 'snapshots.snapshot_date'
        ) }} as insurance_current
    from snapshots
    inner join last_of_year on snapshots.snapshot_date = last_of_year.snapshot_date
    left join streets on snapshots.street_raw = streets.street_raw
),

final as (
    select
        year,
        street_code,
        max(snapshot_date) as snapshot_date,
        count(*)::integer as units,
        sum(employees)::bigint as employees,
        count(*) filter (where insurance_current)::integer as units_insured
    from units
    group by 1, 2
)

select * from final
