{#- The period a delivered file describes, from its name, for the feeds whose agreements name
    their files by period: file_month() - the first day of the month of a YYYYMM name
    (plans_202012.csv), file_quarter() - YYYYQn of a YYYYQn name (risk_points_2019Q1.xlsx).
    A file named otherwise counts for the period it was loaded in. -#}
{% macro file_month() -%}
    coalesce(
            try_strptime(regexp_extract(_source_file, '(\d{6})', 1), '%Y%m')::date,
            date_trunc('month', _loaded_at)::date
        )
{%- endmacro %}

{% macro file_quarter() -%}
    coalesce(
            nullif(regexp_extract(_source_file, '(\d{4})[Qq][1-4]', 1), '')
            || 'Q' || regexp_extract(_source_file, '\d{4}[Qq]([1-4])', 1),
            year(_loaded_at)::varchar || 'Q' || quarter(_loaded_at)::varchar
        )
{%- endmacro %}
