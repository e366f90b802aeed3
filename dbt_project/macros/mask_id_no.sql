{#- Resident ID numbers (身份证号) never leave the raw layer unmasked: the first 6 digits (region)
    and the last 4 stay, the birth date and the rest become '*' (330103********1234); a value
    too short to mask that way becomes '****'. -#}
{% macro mask_id_no(column) -%}
    case
        when {{ column }} is null then null
        when length(regexp_replace({{ column }}, '\s', '', 'g')) >= 15
            then left(regexp_replace({{ column }}, '\s', '', 'g'), 6)
            || repeat('*', length(regexp_replace({{ column }}, '\s', '', 'g')) - 10)
            || right(regexp_replace({{ column }}, '\s', '', 'g'), 4)
        else '****'
    end
{%- endmacro %}
