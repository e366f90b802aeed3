{#- Versions of a delivered file name. A name delivered again with other bytes (a re-send, a file
    appended after it was read) is loaded as the name's next version, beside the earlier ones
    (citysafety.raw.store.FileVersion): raw rows carry _file_version, 1 for the first delivery.

    delivered_row_id(): the key of a delivered row - file name, row number and version (a row
    number alone repeats in every version of a file).

    file_version_columns(): file_version, and is_latest_file_version - whether the row's version
    is the latest version of its file name that loaded rows (a later version rejected as a whole
    or empty leaves the one before it standing). latest_version() orders versions of one file
    name by file_version; a model that takes "the latest file" as a whole list or snapshot
    keeps is_latest_file_version rows only.

    lineage_columns(): what every staging model carries of a delivered row's lineage, under
    staging's names - file_version_columns(), source_file, source_row_number, loaded_at. -#}

{% macro delivered_row_id() -%}
    _source_file || '#' || _row_number::varchar || '@v' || _file_version::varchar
{%- endmacro %}

{% macro file_version_columns() -%}
    _file_version::integer as file_version,
        _file_version = max(_file_version) over (partition by _source_file) as is_latest_file_version
{%- endmacro %}

{% macro lineage_columns() -%}
    {{ file_version_columns() }},
        _source_file as source_file,
        _row_number::integer as source_row_number,
        _loaded_at as loaded_at
{%- endmacro %}
