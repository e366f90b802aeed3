{#- "Latest version wins", once, as the registry (citysafety/sources.py, Feed.key and
    Feed.latest_wins, carried into dbt by the generated macros/registry.sql) declares it.

    latest_version(relation, feed_id, ...) selects one row per key of relation (a ref, a source or
    the name of a CTE holding the feed's staging columns): the row whose latest_wins is latest,
    ties going to the later file (by file_date when the file names carry a date, then by name),
    then to the later version of that file name (file_version: a name re-sent with other bytes),
    then to the later row. What latest_wins means:
      - a date or time column: its latest value;
      - a column with declared choices: the later choice (stats: 最终核实 after 初步核算);
      - "_source_file": the latest file; "_loaded_at": the latest load.
    versions_as names the column counting the rows of the key (none: no count).

    latest_version_window(feed_id, ...) is the window itself (partition by the key, order by
    latest first), for a model that needs the rank of every version.

    Registry names are raw names; staging names the lineage columns source_file,
    source_row_number, file_version and loaded_at, and renamed maps any other column staging renamed. -#}

{% macro registry_feed(feed_id) -%}
    {%- set feeds = registry_feeds() -%}
    {%- if feed_id not in feeds -%}
        {{ exceptions.raise_compiler_error("feed " ~ feed_id ~ " is not in the registry (citysafety/sources.py): "
            ~ (feeds.keys() | list | join(", "))) }}
    {%- endif -%}
    {{ return(feeds[feed_id]) }}
{%- endmacro %}

{% macro _staging_column(column, renamed) -%}
    {%- set lineage = {"_source_file": "source_file", "_row_number": "source_row_number", "_loaded_at": "loaded_at"} -%}
    {{ return(renamed.get(column, lineage.get(column, column))) }}
{%- endmacro %}

{% macro latest_version_key(feed_id, renamed={}) -%}
    {%- set columns = [] -%}
    {%- for column in registry_feed(feed_id).key -%}
        {%- do columns.append(_staging_column(column, renamed)) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{% macro latest_version_order(feed_id, file_date=none, renamed={}) -%}
    {%- set feed = registry_feed(feed_id) -%}
    {%- set wins = feed.latest_wins -%}
    {%- if wins is none -%}
        {{ exceptions.raise_compiler_error("feed " ~ feed_id ~ " declares no latest_wins in the registry") }}
    {%- endif -%}
    {%- set order = [] -%}
    {%- if wins in feed.choices -%}
        {%- set choices = [] -%}
        {%- for choice in feed.choices[wins] -%}{%- do choices.append("'" ~ choice | replace("'", "''") ~ "'") -%}{%- endfor -%}
        {%- do order.append("list_position([" ~ choices | join(", ") ~ "], " ~ _staging_column(wins, renamed) ~ ") desc") -%}
    {%- elif wins != "_source_file" -%}
        {%- do order.append(_staging_column(wins, renamed) ~ " desc") -%}
    {%- endif -%}
    {%- if file_date is not none -%}
        {%- do order.append(file_date ~ " desc") -%}
    {%- endif -%}
    {%- do order.append("source_file desc") -%}
    {#- a file name re-sent with other bytes: its later version (macros/file_versions.sql) -#}
    {%- do order.append("file_version desc nulls last") -%}
    {%- do order.append("source_row_number desc") -%}
    {{ return(order) }}
{%- endmacro %}

{% macro latest_version_window(feed_id, file_date=none, renamed={}) -%}
    partition by {{ latest_version_key(feed_id, renamed) | join(", ") }}
    order by {{ latest_version_order(feed_id, file_date, renamed) | join(", ") }}
{%- endmacro %}

{% macro latest_version(relation, feed_id, file_date=none, versions_as="versions", renamed={}) -%}
    select
        *
        {%- if versions_as %},
        count(*) over (partition by {{ latest_version_key(feed_id, renamed) | join(", ") }}) as {{ versions_as }}
        {%- endif %}
    from {{ relation }}
    qualify row_number() over ({{ latest_version_window(feed_id, file_date, renamed) }}) = 1
{%- endmacro %}
