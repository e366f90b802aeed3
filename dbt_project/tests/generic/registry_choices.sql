{#- accepted_values with the choices the registry declares for the column (citysafety/sources.py,
    carried into dbt by the generated macros/registry.sql): the list is never written twice, and a
    column whose declared choices disappear from the registry fails the test instead of passing.
    feed is the registry's feed id (the raw table, e.g. emb__accidents). -#}
{% test registry_choices(model, column_name, feed) %}
    {%- set choices = registry_feed(feed).choices -%}
    {%- if column_name not in choices -%}
        {{ exceptions.raise_compiler_error("registry_choices: the registry declares no choices for "
            ~ feed ~ "." ~ column_name) }}
    {%- endif -%}
    {{ adapter.dispatch('test_accepted_values', 'dbt')(model, column_name, choices[column_name], True) }}
{% endtest %}
