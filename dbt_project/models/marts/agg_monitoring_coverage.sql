-- One row per hazard source of the current snapshot: how many of its monitoring points sent a
-- reading in the 24 hours before the as-of time (macros/as_of_time.sql: var as_of_time, else the
-- latest reading in the data), and its latest reading. Read from the point-day summaries (small):
-- a point reported in (as_of - 24 h, as_of] exactly when one of its days has
-- last_reading_at > as_of - 24 h and first_reading_at <= as_of (a local day cannot contain both
-- ends of a 24-hour window).
-- depends_on: {{ ref('int_sensor_readings_deduplicated') }}
with

points as (
    select * from {{ ref('int_hazard_points_current') }}
),

point_days as (
    select * from {{ ref('int_sensor_point_days_summarised') }}
),

as_of as (
    select {{ as_of_time() }} as as_of_time
),

point_last_reading as (
    -- latest reading at or before the as-of time: whole days from the summaries...
    select point_days.point_id, max(point_days.last_reading_at) as last_reading_at
    from point_days, as_of
    where point_days.last_reading_at <= as_of.as_of_time
    group by point_days.point_id
    {%- if var('as_of_time', none) %}
    union all
    -- ...and, for an as-of time set in the past, the readings of its own day up to it
    select point_id, max(ts_local) as last_reading_at
    from {{ ref('int_sensor_readings_deduplicated') }}
    where ts_local >= date_trunc('day', {{ as_of_time() }}) and ts_local <= {{ as_of_time() }}
    group by point_id
    {%- endif %}
),

point_last as (
    select point_id, max(last_reading_at) as last_reading_at
    from point_last_reading
    group by point_id
),

point_reporting as (
    select distinct point_days.point_id
    from point_days, as_of
    where point_days.last_reading_at > as_of.as_of_time - interval 24 hour
        and point_days.first_reading_at <= as_of.as_of_time
),

per_point as (
    select
        points.point_id,
        points.hazard_source_id,
        point_reporting.point_id is not null as reporting_24h,
        point_last.last_reading_at
    from points
    left join point_reporting on points.point_id = point_reporting.point_id
    left join point_last on points.point_id = point_last.point_id
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

-- the street of the unit operating the source, by its credit code (int_unit_streets_resolved)
unit_streets as (
    select * from {{ ref('int_unit_streets_resolved') }}
),

final as (
    select
        per_point.hazard_source_id::varchar as hazard_source_id,
        any_value(sources.hazard_source_name)::varchar as hazard_source_name,
        any_value(sources.uscc)::varchar as uscc,
        any_value(sources.hazard_level)::varchar as hazard_level,
        count(*)::integer as points,
        (count(*) filter (where per_point.reporting_24h))::integer as points_reporting_24h,
        ((count(*) filter (where per_point.reporting_24h)) / count(*))::double as coverage_24h,
        max(per_point.last_reading_at)::timestamp as last_reading_at,
        any_value(as_of.as_of_time)::timestamp as as_of_time,
        -- added after the first release: new columns go at the end (CHANGELOG.md)
        coalesce(any_value(unit_streets.street_code), 'UNKNOWN')::varchar as street_code,
        -- the unit's name by the same rule as its street (int_unit_streets_resolved)
        any_value(unit_streets.unit_name)::varchar as unit_name,
        -- the source is fully covered when every one of its points reported in the 24 h window
        (count(*) filter (where per_point.reporting_24h) = count(*))::boolean as fully_covered
    from per_point
    inner join sources on per_point.hazard_source_id = sources.hazard_source_id
    cross join as_of
    left join unit_streets on {{ uscc_key('sources.uscc') }} = unit_streets.uscc
    group by per_point.hazard_source_id
)

select * from final
