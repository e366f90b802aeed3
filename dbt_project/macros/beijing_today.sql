{#- Today in Beijing (Asia/Shanghai): the day a build without an as-of date measures "now" from.
    The build DAG resolves the same day when a run starts (citysafety.config.resolved_as_of_date);
    DuckDB's current_date is the machine's day (UTC on the servers), a day behind from 00:00 to
    08:00 Beijing time, and builds by hand and by the scheduler then disagreed. -#}
{% macro beijing_today() -%}
    cast(timezone('Asia/Shanghai', now()) as date)
{%- endmacro %}
