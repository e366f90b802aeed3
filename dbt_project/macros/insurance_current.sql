{#- Safety-liability insurance in force on a date: insured (是) and not expired; an insured unit
    without an expiry date counts as insured, an expiry date without 是 does not. One rule for
    dim_enterprises and the yearly insurance coverage. -#}
{% macro insurance_current(insured, expires_on, on_date) -%}
    (coalesce({{ insured }}, false) and coalesce({{ expires_on }} >= {{ on_date }}, true))
{%- endmacro %}
