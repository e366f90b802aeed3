-- One row per local day and hazard source with readings or alarm episodes that day: pre-added
-- for the dashboards from the point-day summaries and the episodes (both small), never from the
-- readings. An episode counts on the day it started; alarm readings on the day they were taken.
-- street_code: the street of the unit operating the hazard source (int_unit_streets_resolved).
with

points as (
    select * from {{ ref('int_hazard_points_current') }}
),

point_days as (
    select * from {{ ref('int_sensor_point_days_summarised') }}
),

episodes as (
    select * from {{ ref('int_sensor_alarm_episodes') }}
),

sources as (
    select
        hazard_source_id,
        min(hazard_source_name) as hazard_source_name,
        min(uscc) as uscc,
        min(hazard_level) as hazard_level
    from points
    group by hazard_source_id
),

readings_daily as (
    select
        point_days.day,
        points.hazard_source_id,
        count(*) as points_reporting,
        sum(point_days.readings) as readings,
        sum(point_days.alarm_readings) as alarm_readings,
        count(*) filter (where point_days.alarm_readings > 0) as points_alarming
    from point_days
    inner join points on point_days.point_id = points.point_id
    group by point_days.day, points.hazard_source_id
),

episodes_daily as (
    select
        day,
        hazard_source_id,
        count(*) as episodes,
        count(*) filter (where reached_high_high) as high_high_episodes,
        max(duration_minutes) as longest_episode_minutes
    from episodes
    group by day, hazard_source_id
),

-- the street of the unit operating the source, by its credit code (int_unit_streets_resolved)
unit_streets as (
    select * from {{ ref('int_unit_streets_resolved') }}
),

final as (
    select
        coalesce(readings_daily.day, episodes_daily.day)::date as day,
        sources.hazard_source_id::varchar as hazard_source_id,
        sources.hazard_source_name::varchar as hazard_source_name,
        sources.uscc::varchar as uscc,
        sources.hazard_level::varchar as hazard_level,
        coalesce(readings_daily.points_reporting, 0)::integer as points_reporting,
        coalesce(readings_daily.readings, 0)::bigint as readings,
        coalesce(readings_daily.alarm_readings, 0)::bigint as alarm_readings,
        coalesce(readings_daily.points_alarming, 0)::integer as points_alarming,
        coalesce(episodes_daily.episodes, 0)::integer as episodes,
        coalesce(episodes_daily.high_high_episodes, 0)::integer as high_high_episodes,
        episodes_daily.longest_episode_minutes::double as longest_episode_minutes,
        -- added after the first release: new columns go at the end (CHANGELOG.md)
        coalesce(unit_streets.street_code, 'UNKNOWN')::varchar as street_code
    from readings_daily
    full outer join episodes_daily
        on readings_daily.day = episodes_daily.day
        and readings_daily.hazard_source_id = episodes_daily.hazard_source_id
    inner join sources
        on sources.hazard_source_id = coalesce(readings_daily.hazard_source_id, episodes_daily.hazard_source_id)
    left join unit_streets on {{ uscc_key('sources.uscc') }} = unit_streets.uscc
)

select * from final
