{#- The moment "now" for sensor coverage, as a SQL timestamp expression (Asia/Shanghai).

    - var('as_of_time') when set (e.g. `--vars '{as_of_time: "2026-05-03 12:00:00"}'`, local
      time): to rebuild the dashboard as it stood at a past moment, or to pin tests;
    - otherwise the latest reading in the data (max last_reading_at of
      int_sensor_point_days_summarised).

    Why not the wall clock: readings arrive as one file a day. Between deliveries "now" is up
    to a day or more ahead of the newest reading, so "points with a reading in the last 24 h"
    would slide towards 0% every afternoon and read 0% whenever a delivery is late, for every
    hazard source alike, which says nothing about any one of them. Anchored at the latest
    reading, coverage compares points with each other over the same 24 h: a point that stopped
    reporting shows, a late delivery does not (source freshness of emb_sensors warns about that).
    The build is also reproducible: the same data gives the same mart whenever it runs.
-#}
{% macro as_of_time() -%}
    {%- if var('as_of_time', none) -%}
        cast('{{ var("as_of_time") }}' as timestamp)
    {%- else -%}
        (select max(last_reading_at) from {{ ref('int_sensor_point_days_summarised') }})
    {%- endif -%}
{%- endmacro %}
