-- The 监测 page's recent alarms: for each window of var('alarm_window_days') (the last N days of
-- data, the as-of day included) and each hazard source, the alarm episodes that started in the
-- window (counted on their start day, as marts.agg_sensor_alarms_daily), of them 高高报, and
-- whether the source alarmed at all (hazard_sources_alarming: 1 or 0, so that the count of
-- alarming sources of any selection is a sum). The as-of day is the date of the coverage's
-- as-of time (the latest reading), else the last day with sensor data. Counts add up over
-- sources and streets; window_from/window_to are the window's days, for the episode list.
with

coverage as (
    select * from {{ ref('agg_monitoring_coverage') }}
),

daily as (
    select * from {{ ref('agg_sensor_alarms_daily') }}
),

dim_streets as (
    select * from {{ ref('dim_streets') }}
),

as_of as (
    select coalesce(
        (select max(as_of_time) from coverage)::date,
        (select max(day) from daily)
    ) as as_of_day
),

windows as (
    select
        w.window_days,
        (as_of.as_of_day - (w.window_days - 1) * interval 1 day)::date as window_from,
        as_of.as_of_day as window_to
    from unnest({{ var('alarm_window_days') }}) as w (window_days), as_of
    where as_of.as_of_day is not null
),

-- every monitored source with its street (the coverage's), and any source with alarm days only
source_streets as (
    select
        hazard_source_id,
        coalesce(street_code, 'UNKNOWN') as street_code
    from coverage
    union all
    select
        daily.hazard_source_id,
        coalesce(any_value(daily.street_code), 'UNKNOWN') as street_code
    from daily
    where daily.hazard_source_id not in (select c.hazard_source_id from coverage as c)
    group by daily.hazard_source_id
),

counts as (
    select
        windows.window_days,
        daily.hazard_source_id,
        sum(daily.episodes) as episodes,
        sum(daily.high_high_episodes) as high_high_episodes
    from windows
    inner join daily on daily.day between windows.window_from and windows.window_to
    group by windows.window_days, daily.hazard_source_id
),

final as (
    select
        (windows.window_days::varchar || ':' || source_streets.hazard_source_id)::varchar as report_id,
        windows.window_days::integer as window_days,
        windows.window_from::date as window_from,
        windows.window_to::date as window_to,
        source_streets.hazard_source_id::varchar as hazard_source_id,
        source_streets.street_code::varchar as street_code,
        {{ report_street_name('source_streets.street_code', 'dim_streets.street_name') }}::varchar
            as street_name,
        coalesce(counts.episodes, 0)::integer as episodes,
        coalesce(counts.high_high_episodes, 0)::integer as high_high_episodes,
        (coalesce(counts.episodes, 0) > 0)::integer as hazard_sources_alarming
    from windows
    cross join source_streets
    left join counts
        on
            windows.window_days = counts.window_days
            and source_streets.hazard_source_id = counts.hazard_source_id
    left join dim_streets on source_streets.street_code = dim_streets.street_code
)

select * from final
