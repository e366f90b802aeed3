{#- The street's name as a report shows it: 全区 for the district row (ALL), the name of
    marts.dim_streets (未知街道 for UNKNOWN), else the code itself (a street value dim_streets does
    not know stays visible rather than blank). One rule for every rpt_ table and
    kpi_official_indicators. -#}
{% macro report_street_name(street_code, street_name) -%}
    case when {{ street_code }} = 'ALL' then '全区' else coalesce({{ street_name }}, {{ street_code }}) end
{%- endmacro %}
