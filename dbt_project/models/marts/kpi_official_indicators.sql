-- The official safety indicators, one row per year for the district (street_code 'ALL') and
-- one per year and street where the indicator has a meaning there. Definitions are in the YAML.
with

targets as (
    select * from {{ ref('kpi_safety_targets') }}
),

events as (
    select * from {{ ref('fct_casualty_events') }}
),

economy as (
    select * from {{ ref('int_economy_years_revised') }}
),

enterprises as (
    select * from {{ ref('int_enterprise_years_summarised') }}
),

hazards as (
    select * from {{ ref('fct_hazards') }}
),

plans as (
    select * from {{ ref('fct_emergency_plans') }}
),

drills as (
    select * from {{ ref('fct_drills') }}
),

coverage as (
    select * from {{ ref('agg_monitoring_coverage') }}
),

education as (
    select * from {{ ref('agg_education_by_street') }}
),

streets as (
    select street_code from {{ ref('streets') }}
),

street_names as (
    select
        street_code,
        street_name
    from {{ ref('dim_streets') }}
),

years as (
    -- kpi_safety_targets already stops at the as-of year; said here too, as the grid's bound
    select year from targets
    where year <= year({{ as_of_date() }})
),

-- The district is one more "street": every per-street count below is also summed as 'ALL'.
areas as (
    select 'ALL' as street_code
    union all
    select street_code from streets
),

grid as (
    select
        years.year,
        areas.street_code
    from years
    cross join areas
),

deaths as (
    select
        year,
        coalesce(street_code, 'ALL') as street_code,
        count(*) as accidents,
        sum(deaths) as deaths,
        coalesce(sum(deaths) filter (where department = 'emb'), 0) as deaths_workplace
    from events
    group by grouping sets ((year, street_code), (year))
),

employment as (
    select
        year,
        coalesce(street_code, 'ALL') as street_code,
        sum(employees) as employees,
        sum(units) as units,
        sum(units_insured) as units_insured
    from enterprises
    group by grouping sets ((year, street_code), (year))
),

hazard_counts as (
    select
        year,
        coalesce(street_code, 'ALL') as street_code,
        count(*) as hazards_found,
        count(*) filter (where is_rectified) as hazards_rectified,
        count(*) filter (where is_major) as major_hazards,
        count(*) filter (where is_major and supervised) as major_hazards_supervised
    from hazards
    group by grouping sets ((year, street_code), (year))
),

current_plans as (
    select count(*) as plans from plans
),

drilled as (
    select
        drills.drill_year as year,
        count(distinct drills.plan_id) as plans_drilled
    from drills
    inner join plans on drills.plan_id = plans.plan_id
    group by 1
),

monitoring as (
    select
        year(max(as_of_time)) as year,
        sum(points_reporting_24h) as points_reporting,
        sum(points) as points
    from coverage
),

joined as (
    select
        grid.year,
        grid.street_code,
        coalesce(deaths.accidents, 0) as accidents,
        coalesce(deaths.deaths, 0) as deaths,
        coalesce(deaths.deaths_workplace, 0) as deaths_workplace,
        lag(coalesce(deaths.accidents, 0)) over w as accidents_previous_year,
        lag(coalesce(deaths.deaths, 0)) over w as deaths_previous_year,
        employment.employees,
        employment.units,
        employment.units_insured,
        hazard_counts.hazards_found,
        hazard_counts.hazards_rectified,
        hazard_counts.major_hazards,
        hazard_counts.major_hazards_supervised
    from grid
    left join deaths on grid.year = deaths.year and grid.street_code = deaths.street_code
    left join employment
        on grid.year = employment.year and grid.street_code = employment.street_code
    left join hazard_counts
        on grid.year = hazard_counts.year and grid.street_code = hazard_counts.street_code
    window w as (partition by grid.street_code order by grid.year)
),

final as (
    select
        (joined.year::varchar || ':' || joined.street_code)::varchar as indicator_id,
        joined.year::integer as year,
        joined.street_code::varchar as street_code,
        (joined.street_code = 'ALL')::boolean as is_district,
        joined.accidents::integer as accidents,
        (joined.accidents / nullif(joined.accidents_previous_year, 0) - 1)::double
            as accidents_yoy_change,
        joined.deaths::integer as deaths,
        (joined.deaths / nullif(joined.deaths_previous_year, 0) - 1)::double as deaths_yoy_change,
        case when joined.street_code = 'ALL' then targets.deaths_per_100m_gdp end::double
            as deaths_per_100m_gdp,
        joined.employees::bigint as employees,
        (joined.deaths_workplace * 100000.0 / nullif(joined.employees, 0))::double
            as workplace_deaths_per_100k_employees,
        case when joined.street_code = 'ALL' then economy.population_10k end::double
            as population_10k,
        case
            when joined.street_code = 'ALL'
                then targets.deaths_fire * 10.0 / nullif(economy.population_10k, 0)
        end::double as fire_deaths_per_100k_residents,
        case when joined.street_code = 'ALL' then economy.vehicles_10k end::double
            as vehicles_10k,
        case
            when joined.street_code = 'ALL'
                then targets.deaths_road / nullif(economy.vehicles_10k, 0)
        end::double as road_deaths_per_10k_vehicles,
        coalesce(joined.hazards_found, 0)::integer as hazards_found,
        coalesce(joined.hazards_rectified, 0)::integer as hazards_rectified,
        (joined.hazards_rectified / nullif(joined.hazards_found, 0))::double
            as hazard_rectification_rate,
        coalesce(joined.major_hazards, 0)::integer as major_hazards,
        coalesce(joined.major_hazards_supervised, 0)::integer as major_hazards_supervised,
        (joined.major_hazards_supervised / nullif(joined.major_hazards, 0))::double
            as major_hazard_supervised_rate,
        case
            when joined.street_code = 'ALL' and joined.year = monitoring.year
                then monitoring.points_reporting / nullif(monitoring.points, 0)
        end::double as monitoring_coverage,
        (joined.units_insured / nullif(joined.units, 0))::double as insurance_coverage,
        case
            when joined.street_code = 'ALL'
                then coalesce(drilled.plans_drilled, 0) / nullif(current_plans.plans, 0)
        end::double as drill_coverage,
        {{ report_street_name('joined.street_code', 'street_names.street_name') }}::varchar
            as street_name,
        education.attendances_per_1000_residents::double as attendances_per_1000_residents,
        education.enterprise_training_coverage::double as enterprise_training_coverage
    from joined
    left join street_names on joined.street_code = street_names.street_code
    left join targets on joined.year = targets.year
    left join economy on joined.year = economy.year
    left join drilled on joined.year = drilled.year
    left join monitoring on true
    left join current_plans on true
    left join education on joined.year = education.year and joined.street_code = education.street_code
)

select * from final
