-- The 总览 page's casualty breakdown: events, deaths, injuries and direct loss per year, street
-- and department of record (marts.fct_casualty_events: one row per event, counted once across
-- departments). Every figure adds up over years, streets and departments.
with

events as (
    select * from {{ ref('fct_casualty_events') }}
),

counts as (
    select
        year,
        coalesce(street_code, 'UNKNOWN') as street_code,
        department,
        any_value(street_name) as street_name,
        any_value(department_name) as department_name,
        count(*) as events,
        coalesce(sum(deaths), 0) as deaths,
        coalesce(sum(injuries), 0) as injuries,
        -- summed as a decimal: a sum of doubles depends on the order DuckDB's threads add them
        -- in, so two builds of the same events differed in the last digits
        coalesce(sum(direct_loss_10k_yuan::decimal(18, 4)), 0) as direct_loss_10k_yuan
    from events
    group by year, coalesce(street_code, 'UNKNOWN'), department
),

final as (
    select
        (counts.year::varchar || ':' || counts.street_code || ':' || counts.department)::varchar
            as report_id,
        counts.year::integer as year,
        counts.street_code::varchar as street_code,
        {{ report_street_name('counts.street_code', 'counts.street_name') }}::varchar as street_name,
        counts.department::varchar as department,
        counts.department_name::varchar as department_name,
        counts.events::integer as events,
        counts.deaths::integer as deaths,
        counts.injuries::integer as injuries,
        counts.direct_loss_10k_yuan::double as direct_loss_10k_yuan
    from counts
)

select * from final
