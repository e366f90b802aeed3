{#- The rows of a per-street reporting table: every street of marts.dim_streets (the eight
    streets and UNKNOWN), 'ALL' when the table has district rows, and any other street value
    the given CTEs carry (a NULL street counts as UNKNOWN), so that no counted row is lost and a
    street with nothing to count still shows 0. One block for every rpt_ model keyed by street.
    `relations`: names of CTEs (or relations) with a street_code column. -#}
{% macro report_streets(relations, with_district=false) -%}
    select street_code from {{ ref('dim_streets') }}
    {%- if with_district %}
    union
    select 'ALL'
    {%- endif %}
    {%- for relation in relations %}
    union
    select coalesce(street_code, 'UNKNOWN') from {{ relation }}
    {%- endfor %}
{%- endmacro %}
