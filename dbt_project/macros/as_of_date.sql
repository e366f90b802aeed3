{#- The day "now" is measured from (e.g. drills in the last 12 months): the dbt var `as_of_date`
    (YYYY-MM-DD, e.g. `--vars '{as_of_date: 2020-12-31}'`) when a run sets it, else the
    environment's CITYSAFETY_AS_OF_DATE (the platform's runs and the build DAG set it, resolved
    when the run starts), else the build day in Beijing. Returns a SQL date expression.

    The platform passes the date through the environment, not `--vars`: dbt reparses the whole
    project when its command-line vars change, but only the files that read an environment
    variable when that variable changes (the models calling this macro), so a day's build keeps
    dbt's partial parse. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- set value = env_var('CITYSAFETY_AS_OF_DATE', '') -%}
    {%- endif -%}
    {%- if (value | string | trim) == '' -%}
        {{ beijing_today() }}
    {%- else -%}
        cast('{{ value | string | trim }}' as date)
    {%- endif -%}
{%- endmacro %}
