{#-
    One row per alarm episode: a maximal run of consecutive alarming readings (value strictly
    above 高报阈值) of one monitoring point, in the order of that point's readings; its first
    non-alarming reading ends it (cleared_at). Times are Asia/Shanghai.

    Incremental, exactly equal to a full rebuild. New readings (late ones too, and re-sent ones
    that change a value) can extend an episode, split it, merge two, or start one, but only
    around their own time. Per point whose point-days were refreshed since the last run
    (int_sensor_point_days_summarised.refreshed_at after this model's watermark), with
    changed_from = start of the earliest refreshed local day (every new reading is at or after it):
    - if the point's last episode that started before changed_from was still open at
      changed_from (no reading after it, or its clearing reading is at or after changed_from),
      a new reading may join it: the window starts at that episode's start;
    - otherwise an older, non-alarming reading lies between it and changed_from: the window
      starts at changed_from.
    No episode can cross the window start (the reading before it is non-alarming and did not
    change), so deleting the point's episodes that start in the window and recomputing them from
    its readings since window_start (to the end, so cleared_at is right) is exact. Episodes
    crossing midnight need no margin: the window starts at the episode, not at the day.
    The strategy (macros/sensor_increments.sql, sensor_episode_windows) deletes the windows and
    inserts the recomputed episodes in one transaction with the watermark. A daily run reads about
    two days of readings of the points that reported.
    A point dropped from the snapshot, or whose thresholds change, has all its days refreshed:
    its episodes are recomputed from its first reading.

    Why this is an intermediate model and the shared table marts.fct_sensor_alarm_episodes a
    table built from it: the published episodes carry the street of the unit operating the
    hazard source (int_unit_streets_resolved, by credit code). A street stored on incremental
    rows would go stale when the registry moves a unit (its old episodes are never recomputed),
    and the build copy keeps this table between builds. So only what the readings decide is
    stored incrementally here; the mart re-joins the current street on every build (episodes are
    few: about 11,000 a year at 500 points), which is exact by construction.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='sensor_episode_windows',
    on_schema_change='append_new_columns',
    pre_hook=["{{ sensor_state_tables() }}"],
    post_hook=["{{ sensor_set_watermark(this.name, ref('int_sensor_point_days_summarised'), 'refreshed_at') }}"],
) }}
-- depends_on: {{ ref('int_sensor_point_days_summarised') }}
{%- set windows = sensor_episode_windows() if is_incremental() else none %}

with

points as (
    select * from {{ ref('int_hazard_points_current') }}
),

readings as (
    select point_id, ts_local, value
    from {{ ref('int_sensor_readings_deduplicated') }}
    {%- if is_incremental() %}
    -- {{ windows.points }} point(s) to recompute; zone maps skip readings before the earliest window
    where ts_local >= {{ windows.min_start }}
    {%- endif %}
),

{%- if is_incremental() %}

windows as (
    {{ windows.sql }}
),

scoped as (
    select readings.*
    from readings
    inner join windows
        on readings.point_id = windows.point_id
        and readings.ts_local >= windows.window_start
),
{%- else %}

scoped as (
    select * from readings
),
{%- endif %}

flagged as (
    select
        scoped.point_id,
        scoped.ts_local,
        scoped.value,
        scoped.value > points.high_threshold as alarming,
        row_number() over (partition by scoped.point_id order by scoped.ts_local) as reading_no,
        lead(scoped.ts_local) over (partition by scoped.point_id order by scoped.ts_local) as next_reading_at
    from scoped
    inner join points on scoped.point_id = points.point_id
),

alarm_runs as (
    -- consecutive alarming readings share reading_no - alarm_no
    select
        *,
        reading_no - row_number() over (partition by point_id order by ts_local) as run_no
    from flagged
    where alarming
),

episodes as (
    select
        point_id,
        min(ts_local) as started_at,
        max(ts_local) as ended_at,
        count(*) as readings,
        max(value) as peak_value,
        -- the reading after the last alarming one; null while the episode is still open
        case when count(next_reading_at) = count(*) then max(next_reading_at) end as cleared_at
    from alarm_runs
    group by point_id, run_no
),

final as (
    select
        (episodes.point_id || ':' || strftime(episodes.started_at, '%Y-%m-%dT%H:%M:%S'))::varchar as episode_id,
        episodes.point_id::varchar as point_id,
        points.hazard_source_id::varchar as hazard_source_id,
        points.uscc::varchar as uscc,
        points.metric::varchar as metric,
        points.unit::varchar as unit,
        episodes.started_at::timestamp as started_at,
        episodes.ended_at::timestamp as ended_at,
        episodes.cleared_at::timestamp as cleared_at,
        episodes.readings::integer as readings,
        episodes.peak_value::double as peak_value,
        points.high_threshold::double as high_threshold,
        points.high_high_threshold::double as high_high_threshold,
        coalesce(episodes.peak_value >= points.high_high_threshold, false)::boolean as reached_high_high,
        (date_diff('second', episodes.started_at, episodes.ended_at) / 60.0)::double as duration_minutes,
        episodes.started_at::date as day
    from episodes
    inner join points on episodes.point_id = points.point_id
)

select * from final
