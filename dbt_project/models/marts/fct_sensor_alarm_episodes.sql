-- The shared table of alarm episodes: the episodes as int_sensor_alarm_episodes computes them
-- incrementally from the readings, with the street of the unit operating the hazard source
-- (int_unit_streets_resolved, by credit code; UNKNOWN when the code finds no unit). A table
-- rebuilt on every build (episodes are few), not incremental: the street follows the registry
-- when a unit moves, which rows stored incrementally would not (see int_sensor_alarm_episodes).
with

episodes as (
    select * from {{ ref('int_sensor_alarm_episodes') }}
),

unit_streets as (
    select * from {{ ref('int_unit_streets_resolved') }}
),

points as (
    select * from {{ ref('int_hazard_points_current') }}
),

final as (
    select
        episodes.episode_id::varchar as episode_id,
        episodes.point_id::varchar as point_id,
        episodes.hazard_source_id::varchar as hazard_source_id,
        episodes.uscc::varchar as uscc,
        episodes.metric::varchar as metric,
        episodes.unit::varchar as unit,
        episodes.started_at::timestamp as started_at,
        episodes.ended_at::timestamp as ended_at,
        episodes.cleared_at::timestamp as cleared_at,
        episodes.readings::integer as readings,
        episodes.peak_value::double as peak_value,
        episodes.high_threshold::double as high_threshold,
        episodes.high_high_threshold::double as high_high_threshold,
        episodes.reached_high_high::boolean as reached_high_high,
        episodes.duration_minutes::double as duration_minutes,
        episodes.day::date as day,
        -- added after the first release: new columns go at the end (CHANGELOG.md)
        coalesce(unit_streets.street_code, 'UNKNOWN')::varchar as street_code,
        -- the unit's name by the same rule as its street (int_unit_streets_resolved)
        unit_streets.unit_name::varchar as unit_name,
        -- what grading an alarm needs (policy/alarms.yml): the source's name and risk level as
        -- the latest hazard-source snapshot lists them, like the thresholds
        points.hazard_source_name::varchar as hazard_source_name,
        points.hazard_level::varchar as hazard_level
    from episodes
    left join unit_streets on {{ uscc_key('episodes.uscc') }} = unit_streets.uscc
    left join points on episodes.point_id = points.point_id
)

select * from final
