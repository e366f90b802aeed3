-- One row per street (the eight and UNKNOWN), plus the district (ALL), and year of the training
-- lists: offline activities and attendances, attendances per 1,000 residents, online course
-- views apart, and the share of active enterprises whose principal and a safety manager passed
-- an assessment in the 12 months up to the year's end (the as-of date for the as-of year).
-- The ALL row is the whole district: every activity, the district-wide ones included, and all
-- enterprises. Residents: the district's 常住人口 of the year (stats/economy; the latest year
-- delivered when the year has none yet) times the street's share (seed street_residents).
with

activities as (
    select * from {{ ref('fct_training_activities') }}
    where activity_date <= {{ as_of_date() }}
),

enterprises as (
    select * from {{ ref('int_enterprise_trainings_assessed') }}
),

economy as (
    select * from {{ ref('int_economy_years_revised') }}
    where population_10k is not null
),

shares as (
    select street_code, residents_share from {{ ref('street_residents') }}
    union all
    select 'ALL', 1.0
),

streets as (
    select street_code, street_name from {{ ref('dim_streets') }}
    union all
    select 'ALL', '全区'
),

years as (
    select distinct year from enterprises
    union
    select distinct activity_year from activities
),

activity_rows as (
    -- each activity under its street and under the district
    select street_code, activity_year as year, * exclude (street_code, activity_year) from activities
    union all
    select 'ALL', activity_year, * exclude (street_code, activity_year) from activities
    where street_code != 'ALL'
),

activity_figures as (
    select
        street_code,
        year,
        count(*) filter (where not is_online) as offline_activities,
        sum(people_reached) as attendances,
        count(*) filter (where attendances_approximate and not is_online) as attendances_approximate,
        count(*) filter (where is_online) as online_courses,
        coalesce(sum(attendances) filter (where is_online), 0) as online_views,
        count(*) filter (where reports > 1) as activities_reported_twice
    from activity_rows
    group by street_code, year
),

enterprise_rows as (
    select street_code, year, is_principal_assessed, is_manager_assessed, is_covered, reference_date
    from enterprises
    union all
    select 'ALL', year, is_principal_assessed, is_manager_assessed, is_covered, reference_date
    from enterprises
),

enterprise_figures as (
    select
        street_code,
        year,
        max(reference_date) as reference_date,
        count(*) as active_enterprises,
        count(*) filter (where is_principal_assessed) as enterprises_principal_assessed,
        count(*) filter (where is_manager_assessed) as enterprises_manager_assessed,
        count(*) filter (where is_covered) as enterprises_covered
    from enterprise_rows
    group by street_code, year
),

population as (
    select
        years.year,
        arg_max(economy.population_10k, economy.year) as population_10k
    from years
    inner join economy on economy.year <= years.year
    group by years.year
),

final as (
    select
        streets.street_code || ':' || years.year::varchar as street_year_id,
        streets.street_code::varchar as street_code,
        streets.street_name::varchar as street_name,
        years.year::integer as year,
        coalesce(activity_figures.offline_activities, 0)::integer as offline_activities,
        coalesce(activity_figures.attendances, 0)::bigint as attendances,
        coalesce(activity_figures.attendances_approximate, 0)::integer as attendances_approximate,
        round(population.population_10k * shares.residents_share, 4)::double as residents_10k,
        round(
            coalesce(activity_figures.attendances, 0) / nullif(population.population_10k * shares.residents_share * 10, 0),
            2
        )::double as attendances_per_1000_residents,
        coalesce(activity_figures.online_courses, 0)::integer as online_courses,
        coalesce(activity_figures.online_views, 0)::bigint as online_views,
        coalesce(activity_figures.activities_reported_twice, 0)::integer as activities_reported_twice,
        coalesce(enterprise_figures.active_enterprises, 0)::integer as active_enterprises,
        coalesce(enterprise_figures.enterprises_principal_assessed, 0)::integer as enterprises_principal_assessed,
        coalesce(enterprise_figures.enterprises_manager_assessed, 0)::integer as enterprises_manager_assessed,
        coalesce(enterprise_figures.enterprises_covered, 0)::integer as enterprises_covered,
        round(enterprise_figures.enterprises_covered / nullif(enterprise_figures.active_enterprises, 0), 4)::double
            as enterprise_training_coverage,
        enterprise_figures.reference_date::date as coverage_reference_date
    from streets
    cross join years
    left join shares on streets.street_code = shares.street_code
    left join population on years.year = population.year
    left join activity_figures on streets.street_code = activity_figures.street_code and years.year = activity_figures.year
    left join enterprise_figures on streets.street_code = enterprise_figures.street_code and years.year = enterprise_figures.year
)

select * from final
