{#-
    One row per monitoring point and local day with readings: how many readings, how many
    alarming (above the current 高报阈值), first and last reading. Small (points x days), so the
    marts that need every day (coverage, daily alarms) read it instead of the readings.

    Incremental (delete+insert on point_id, day): a run summarises again only
    - the point-days of readings written by int_sensor_readings_deduplicated since the last run
      (processed_at after this model's watermark in intermediate.sensor_watermarks), and
    - every day of a point whose point_version changed (a new snapshot changed its thresholds,
      its hazard source, or dropped or added it): its alarms are counted anew.
    refreshed_at stamps the rows written: int_sensor_alarm_episodes recomputes the points and days
    refreshed since it last ran.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['point_id', 'day'],
    on_schema_change='fail',
    pre_hook=["{{ sensor_state_tables() }}"],
    post_hook=["{{ sensor_set_watermark(this.name, ref('int_sensor_readings_deduplicated'), 'processed_at') }}"],
) }}

{%- if is_incremental() %}
{%- set touched_sql %}
    select distinct point_id, ts_local::date as day
    from {{ ref('int_sensor_readings_deduplicated') }}
    where processed_at > {{ sensor_watermark(this.name) }}
    union
    select summarised.point_id, summarised.day
    from {{ this }} as summarised
    left join {{ ref('int_hazard_points_current') }} as points on summarised.point_id = points.point_id
    where summarised.point_version is distinct from points.point_version
{%- endset %}
{%- set first_day = run_query("select coalesce(min(day), date '9999-12-31')::varchar from (" ~ touched_sql ~ ")").rows[0][0] if execute else '9999-12-31' %}
{%- endif %}

with

points as (
    select * from {{ ref('int_hazard_points_current') }}
),

readings as (
    select * from {{ ref('int_sensor_readings_deduplicated') }}
    {%- if is_incremental() %}
    -- zone maps skip everything before the earliest day to summarise
    where ts_local >= timestamp '{{ first_day }}'
    {%- endif %}
),

{%- if is_incremental() %}

touched as (
    {{ touched_sql }}
),

scoped as (
    select readings.*
    from readings
    semi join touched
        on readings.point_id = touched.point_id
        and readings.ts_local::date = touched.day
),
{%- else %}

scoped as (
    select * from readings
),
{%- endif %}

final as (
    select
        scoped.point_id,
        scoped.ts_local::date as day,
        count(*)::integer as readings,
        (count(*) filter (where scoped.value > points.high_threshold))::integer as alarm_readings,
        min(scoped.ts_local) as first_reading_at,
        max(scoped.ts_local) as last_reading_at,
        min(scoped.value) as min_value,
        max(scoped.value) as max_value,
        any_value(points.high_threshold) as high_threshold,
        any_value(points.point_version) as point_version,
        {{ sensor_stamp() }} as refreshed_at
    from scoped
    left join points on scoped.point_id = points.point_id
    group by scoped.point_id, scoped.ts_local::date
)

select * from final
