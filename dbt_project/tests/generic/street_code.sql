{#- The column holds a street code of the seed streets (UNKNOWN included) or one of `also`
    (ALL: the whole district). The codes come from street_codes() (macros/registry.sql, written
    from the seed by `python -m citysafety.sources dbt`), not from ref('streets'): a test joining
    the seed would run, and fail, in any build that selects the model without the seed or the
    seed without the model. -#}
{% test street_code(model, column_name, also=[]) %}
select {{ column_name }}, count(*) as n
from {{ model }}
where {{ column_name }} not in (
    {%- for code in street_codes() + also %}'{{ code }}'{{ ", " if not loop.last }}{% endfor -%}
)
group by {{ column_name }}
{% endtest %}
