-- The response figures per grade, street and month the alarm started (marts.fct_alarm_responses):
-- every street of marts.dim_streets (the eight and UNKNOWN) for each grade and month that had an
-- alarm, zero where none, and the district (street_code ALL). Counts add up over streets (the
-- district row is their sum); the percentiles (DuckDB quantile_cont, linear interpolation) are
-- of the alarms of each row, the district's over all its alarms: percentiles never add up.
with

responses as (
    select * from {{ ref('fct_alarm_responses') }}
),

streets as (
    select * from {{ ref('dim_streets') }}
),

cells as (
    select distinct grade, alarm_month from responses
),

grid as (
    select cells.grade, cells.alarm_month, streets.street_code
    from cells
    cross join (
        {{ report_streets(['responses'], with_district=true) }}
    ) as streets
),

figures as (
    select
        grade,
        alarm_month,
        case when grouping(street_code) = 1 then 'ALL' else street_code end as street_code,
        count(*) as alarms,
        count(notified_at) as notified,
        count(acknowledged_at) as acknowledged,
        count(arrived_at) as on_site,
        count(closed_at) as closed,
        count(archived_at) as archived,
        count(*) filter (where escalated) as escalated,
        count(*) filter (where is_open) as still_open,
        quantile_cont(minutes_to_acknowledge, 0.5) as p50_minutes_to_acknowledge,
        quantile_cont(minutes_to_acknowledge, 0.95) as p95_minutes_to_acknowledge,
        quantile_cont(minutes_to_close, 0.5) as p50_minutes_to_close,
        quantile_cont(minutes_to_close, 0.95) as p95_minutes_to_close
    from responses
    group by grouping sets ((grade, alarm_month, street_code), (grade, alarm_month))
),

final as (
    select
        (grid.alarm_month || ':' || grid.grade || ':' || grid.street_code)::varchar as report_id,
        grid.alarm_month::varchar as alarm_month,
        grid.grade::varchar as grade,
        grid.street_code::varchar as street_code,
        {{ report_street_name('grid.street_code', 'streets.street_name') }}::varchar as street_name,
        coalesce(figures.alarms, 0)::integer as alarms,
        coalesce(figures.notified, 0)::integer as notified,
        coalesce(figures.acknowledged, 0)::integer as acknowledged,
        coalesce(figures.on_site, 0)::integer as on_site,
        coalesce(figures.closed, 0)::integer as closed,
        coalesce(figures.archived, 0)::integer as archived,
        coalesce(figures.escalated, 0)::integer as escalated,
        coalesce(figures.still_open, 0)::integer as still_open,
        figures.p50_minutes_to_acknowledge::double as p50_minutes_to_acknowledge,
        figures.p95_minutes_to_acknowledge::double as p95_minutes_to_acknowledge,
        figures.p50_minutes_to_close::double as p50_minutes_to_close,
        figures.p95_minutes_to_close::double as p95_minutes_to_close
    from grid
    left join figures
        on grid.grade = figures.grade
        and grid.alarm_month = figures.alarm_month
        and grid.street_code = figures.street_code
    left join streets on grid.street_code = streets.street_code
)

select * from final
