{#- Personal data never leaves the raw layer unmasked. -#}
{% macro mask_name(column) -%}
    case when {{ column }} is null then null else left({{ column }}, 1) || '**' end
{%- endmacro %}

{% macro mask_phone(column) -%}
    case
        when {{ column }} is null then null
        when length(regexp_replace({{ column }}, '\D', '', 'g')) >= 7
            then left(regexp_replace({{ column }}, '\D', '', 'g'), 3) || '****'
            || right(regexp_replace({{ column }}, '\D', '', 'g'), 4)
        else '****'
    end
{%- endmacro %}
