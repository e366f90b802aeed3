{#- The day "now" is measured from (e.g. drills in the last 12 months): the dbt var
    `as_of_date` (YYYY-MM-DD, e.g. `--vars '{as_of_date: 2020-12-31}'`), else the build day.
    Returns a SQL date expression. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        current_date
    {%- else -%}
        cast('{{ value | string | trim }}' as date)
    {%- endif -%}
{%- endmacro %}
