{#- The stages of a demonstration creation in their order, as a SQL list: the choices the
    registry declares for 阶段 (citysafety/sources.py DEMONSTRATION_STAGES, carried into dbt by
    macros/registry.sql), so list_position() gives a stage's order. -#}
{% macro demonstration_stages() -%}
    {%- set stages = [] -%}
    {%- for stage in registry_feed('safety_office__demonstration').choices['stage'] -%}
        {%- do stages.append("'" ~ stage ~ "'") -%}
    {%- endfor -%}
    [{{ stages | join(', ') }}]
{%- endmacro %}
