-- One row per street (the eight and UNKNOWN) and year of the creation sheets: how the street's
-- demonstration units stand at the year's last snapshot (a unit counts under the snapshot of
-- the year that lists it last) and what happened during the year, from fct_demonstration_units.
with

units as (
    select * from {{ ref('fct_demonstration_units') }}
),

streets as (
    select * from {{ ref('dim_streets') }}
),

years as (
    select distinct snapshot_year as year from units
),

year_end as (
    -- each unit's last snapshot of each year it is listed in
    select *
    from units
    qualify row_number() over (partition by unit_id, snapshot_year order by snapshot_quarter desc) = 1
),

first_named as (
    select unit_id, min(snapshot_quarter) as named_quarter
    from units
    where stage = '市级命名'
    group by unit_id
),

during as (
    select
        units.street_code,
        units.snapshot_year as year,
        count(distinct units.unit_id) filter (where units.is_failed_assessment and not units.is_failed_reassessment)
            as units_failed_assessment,
        count(distinct units.unit_id) filter (where units.is_failed_reassessment) as units_failed_reassessment
    from units
    group by units.street_code, units.snapshot_year
),

standing as (
    select
        year_end.street_code,
        year_end.snapshot_year as year,
        count(*) as units_listed,
        count(*) filter (where year_end.target_year = year_end.snapshot_year) as units_planned,
        count(*) filter (where year_end.target_year = year_end.snapshot_year and year_end.is_named)
            as units_planned_named,
        count(*) filter (where year_end.stage = '未启动') as units_not_started,
        count(*) filter (where year_end.stage in ('申报', '创建中', '自评', '区级评估')) as units_in_progress,
        count(*) filter (where year_end.is_named) as units_named,
        count(*) filter (where left(first_named.named_quarter, 4)::integer = year_end.snapshot_year)
            as units_named_in_year
    from year_end
    left join first_named on year_end.unit_id = first_named.unit_id
    group by year_end.street_code, year_end.snapshot_year
),

final as (
    select
        streets.street_code || ':' || years.year::varchar as street_year_id,
        streets.street_code::varchar as street_code,
        streets.street_name::varchar as street_name,
        years.year::integer as year,
        coalesce(standing.units_listed, 0)::integer as units_listed,
        coalesce(standing.units_planned, 0)::integer as units_planned,
        coalesce(standing.units_planned_named, 0)::integer as units_planned_named,
        coalesce(standing.units_not_started, 0)::integer as units_not_started,
        coalesce(standing.units_in_progress, 0)::integer as units_in_progress,
        coalesce(standing.units_named, 0)::integer as units_named,
        coalesce(standing.units_named_in_year, 0)::integer as units_named_in_year,
        coalesce(during.units_failed_assessment, 0)::integer as units_failed_assessment,
        coalesce(during.units_failed_reassessment, 0)::integer as units_failed_reassessment
    from streets
    cross join years
    left join standing on streets.street_code = standing.street_code and years.year = standing.year
    left join during on streets.street_code = during.street_code and years.year = during.year
)

select * from final
