{#- A count the ingest kept as delivered text because departments write it approximately
    (citysafety/sources.py, kind approx_count: 约200人, 200余人, 200多人次, 200人左右, 200):
    approx_count_value is its number, approx_count_is_approximate whether it was qualified. The
    ingest already refused any other text, so the number is never null for a non-empty value. -#}
{% macro approx_count_value(column) -%}
    nullif(regexp_extract({{ column }}, '(\d+)', 1), '')::bigint
{%- endmacro %}

{% macro approx_count_is_approximate(column) -%}
    ({{ column }} is not null and not regexp_full_match({{ column }}, '\d+'))
{%- endmacro %}
