{#-
    Incremental bookkeeping of the sensor feed (emb/sensor_readings), shared by
    int_sensor_readings_deduplicated -> int_sensor_point_days_summarised -> int_sensor_alarm_episodes
    (published, with the unit's street, as marts.fct_sensor_alarm_episodes: a table, not incremental).

    Two small state tables live beside the models in the build copy (schema intermediate; publish
    never copies them):

    - sensor_files_processed: one row per delivered Parquet file whose rows are in
      int_sensor_readings_deduplicated (file name, sha256, version, when it was loaded, rows,
      processed_at). A run reads only files of audit.reconciliation that are not in it (by name,
      sha and version: an older version's bytes re-sent under the name are its next version, and
      win again), so a daily run reads one file whatever the history. Written by the dedup model's post-hook, in
      the same transaction as the rows: a failed run leaves neither.
    - sensor_watermarks: per downstream model, the change stamp it has consumed up to
      (int_sensor_point_days_summarised: processed_at of the readings; int_sensor_alarm_episodes:
      refreshed_at of the point-days). Written by each model's post-hook, in its transaction.

    Why not `where _source_file not in (select source_file from {{ this }})`: that reads the
    whole history (hundreds of millions of rows) on every run. Why not only a max(_loaded_at)
    watermark: a file committed by a slow ingest after a build started could carry a _loaded_at
    below the watermark and be skipped for ever. The ledger of processed files is exact, tiny,
    and still lets DuckDB skip old Parquet files by their _loaded_at statistics.

    Stamps (processed_at, refreshed_at) are the invocation's run_started_at (UTC): increasing from
    build to build, identical within one dbt invocation (model SQL and its hooks).
-#}

{% macro sensor_state_schema() -%}
    intermediate
{%- endmacro %}

{% macro sensor_files_table() -%}
    {{ sensor_state_schema() }}.sensor_files_processed
{%- endmacro %}

{% macro sensor_watermarks_table() -%}
    {{ sensor_state_schema() }}.sensor_watermarks
{%- endmacro %}

{#- Whether a state table exists yet (a model is compiled before its pre-hook creates them). -#}
{% macro sensor_state_exists(identifier) %}
    {% set relation = adapter.get_relation(database=target.database, schema=sensor_state_schema(),
                                           identifier=identifier) %}
    {{ return(relation is not none) }}
{% endmacro %}

{% macro sensor_stamp() -%}
    timestamp '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}'
{%- endmacro %}

{#- Pre-hook: the state tables exist. -#}
{% macro sensor_state_tables() %}
    create schema if not exists {{ sensor_state_schema() }};
    create table if not exists {{ sensor_files_table() }} (
        file_name varchar,
        file_sha256 varchar,
        file_loaded_at timestamp,
        rows_loaded bigint,
        processed_at timestamp,
        file_version integer
    );
    -- a build copy from before file versions: its files were processed as whatever version
    -- they are (null matches any version of the same name and bytes)
    alter table {{ sensor_files_table() }} add column if not exists file_version integer;
    create table if not exists {{ sensor_watermarks_table() }} (
        model varchar,
        watermark timestamp,
        updated_at timestamp
    )
{% endmacro %}

{#- The sensor files the ingest loaded rows from (audit.reconciliation), as SQL. -#}
{% macro sensor_loaded_files_sql() -%}
    select file_name, file_sha256, file_version, loaded_at, rows_loaded
    from {{ source('emb_sensors_ledger', 'reconciliation') }}
    where source = 'emb' and feed = 'sensor_readings' and rows_loaded > 0
{%- endmacro %}

{#- Files loaded by the ingest and not yet in int_sensor_readings_deduplicated, with the bounds
    that let DuckDB skip everything else: {'filter': SQL predicate on stg_emb__sensor_readings,
    'min_ts', 'max_ts': literals bounding their ts_utc, 'files': names}. -#}
{% macro sensor_pending_files() %}
    {% set none_pending = {'filter': 'false', 'min_ts': 'null::timestamp', 'max_ts': 'null::timestamp', 'files': []} %}
    {% if not execute %}
        {{ return(none_pending) }}
    {% endif %}
    {% set processed = "select 1 from " ~ sensor_files_table() ~ " p "
        ~ "where p.file_name = f.file_name and p.file_sha256 = f.file_sha256 "
        ~ "and (p.file_version is null or p.file_version = f.file_version)"
        if sensor_state_exists('sensor_files_processed') else "select 1 where false" %}
    {% set rows = run_query(
        "select f.file_name, f.file_sha256, strftime(f.loaded_at, '%Y-%m-%d %H:%M:%S.%f'), f.file_version "
        ~ "from (" ~ sensor_loaded_files_sql() ~ ") f "
        ~ "where not exists (" ~ processed ~ ") "
        ~ "order by f.loaded_at, f.file_name").rows %}
    {% if rows | length == 0 %}
        {{ return(none_pending) }}
    {% endif %}
    {% set shas = [] %}
    {% set names = [] %}
    {% set loads = [] %}
    {% for r in rows %}
        {% do shas.append("'" ~ r[1] ~ "'") %}
        {% do names.append(r[0]) %}
        {% do loads.append("'" ~ (r[0] | replace("'", "''")) ~ "#" ~ r[3] ~ "'") %}
    {% endfor %}
    {#- sha256 picks the files exactly; the _loaded_at bound lets the Parquet reader skip the
        row groups of every older file from their statistics alone; name and version tell a
        version from an earlier one with the same bytes. -#}
    {% set filter = "file_sha256 in (" ~ (shas | join(", ")) ~ ") and loaded_at >= timestamp '" ~ rows[0][2] ~ "'"
        ~ " and source_file || '#' || file_version in (" ~ (loads | join(", ")) ~ ")" %}
    {% set bounds = run_query(
        "select strftime(min(ts_utc), '%Y-%m-%d %H:%M:%S.%f'), strftime(max(ts_utc), '%Y-%m-%d %H:%M:%S.%f') "
        ~ "from " ~ ref('stg_emb__sensor_readings') ~ " where " ~ filter).rows[0] %}
    {% if bounds[0] is none %}
        {{ return(none_pending) }}
    {% endif %}
    {{ return({'filter': filter, 'min_ts': "timestamp '" ~ bounds[0] ~ "'",
               'max_ts': "timestamp '" ~ bounds[1] ~ "'", 'files': names}) }}
{% endmacro %}

{#- Post-hook of int_sensor_readings_deduplicated: the files just processed join the ledger
    (its pre-hook empties the ledger on a first build or a full refresh: every file is read). -#}
{% macro sensor_record_files() %}
    insert into {{ sensor_files_table() }}
        (file_name, file_sha256, file_loaded_at, rows_loaded, processed_at, file_version)
    select f.file_name, f.file_sha256, f.loaded_at, f.rows_loaded, {{ sensor_stamp() }}, f.file_version
    from ({{ sensor_loaded_files_sql() }}) f
    where not exists (
        select 1 from {{ sensor_files_table() }} p
        where p.file_name = f.file_name and p.file_sha256 = f.file_sha256
            and (p.file_version is null or p.file_version = f.file_version)
    )
{% endmacro %}

{#- The stamp a model has consumed its input up to, as a SQL literal ('-infinity' when none). -#}
{% macro sensor_watermark(model_name) %}
    {% if not execute or not sensor_state_exists('sensor_watermarks') %}
        {{ return("timestamp '-infinity'") }}
    {% endif %}
    {% set rows = run_query(
        "select strftime(max(watermark), '%Y-%m-%d %H:%M:%S.%f') from " ~ sensor_watermarks_table()
        ~ " where model = '" ~ model_name ~ "'").rows %}
    {% if rows | length == 0 or rows[0][0] is none %}
        {{ return("timestamp '-infinity'") }}
    {% endif %}
    {{ return("timestamp '" ~ rows[0][0] ~ "'") }}
{% endmacro %}

{#- Post-hook: record what a model has consumed (max of a stamp column of its input). -#}
{% macro sensor_set_watermark(model_name, relation, column) %}
    delete from {{ sensor_watermarks_table() }} where model = '{{ model_name }}';
    insert into {{ sensor_watermarks_table() }}
    select '{{ model_name }}', max({{ column }}), {{ sensor_stamp() }} from {{ relation }}
{% endmacro %}

{#- Episode windows of int_sensor_alarm_episodes: per point whose point-days changed since the
    last run, the time from which its episodes are recomputed (see the model). Returns
    {'sql': a relation (point_id, window_start), 'min_start': literal, 'points': count}. -#}
{% macro sensor_episode_windows() %}
    {% set empty = {'sql': "select cast(null as varchar) as point_id, cast(null as timestamp) as window_start where false",
                    'min_start': "timestamp 'infinity'", 'points': 0} %}
    {% if not execute %}
        {{ return(empty) }}
    {% endif %}
    {% set query %}
        with touched as (
            select point_id, min(day)::timestamp as changed_from
            from {{ ref('int_sensor_point_days_summarised') }}
            where refreshed_at > {{ sensor_watermark('int_sensor_alarm_episodes') }}
            group by point_id
        ),
        prior as (
            -- the last episode that started before the change
            select e.point_id, e.started_at, e.cleared_at
            from {{ this }} as e
            inner join touched as t on e.point_id = t.point_id and e.started_at < t.changed_from
            qualify row_number() over (partition by e.point_id order by e.started_at desc) = 1
        )
        select
            t.point_id,
            strftime(
                case
                    when p.started_at is not null and (p.cleared_at is null or p.cleared_at >= t.changed_from)
                        then p.started_at
                    else t.changed_from
                end, '%Y-%m-%d %H:%M:%S.%f') as window_start
        from touched as t
        left join prior as p on t.point_id = p.point_id
        order by t.point_id
    {% endset %}
    {% set rows = run_query(query).rows %}
    {% if rows | length == 0 %}
        {{ return(empty) }}
    {% endif %}
    {% set values = [] %}
    {% set starts = [] %}
    {% for r in rows %}
        {% do values.append("('" ~ (r[0] | replace("'", "''")) ~ "', timestamp '" ~ r[1] ~ "')") %}
        {% do starts.append(r[1]) %}
    {% endfor %}
    {{ return({'sql': "select * from (values " ~ (values | join(", ")) ~ ") as w(point_id, window_start)",
               'min_start': "timestamp '" ~ (starts | min) ~ "'", 'points': rows | length}) }}
{% endmacro %}

{#- Custom incremental strategy of int_sensor_alarm_episodes: delete every episode of a window
    (point, from window_start on), insert the recomputed ones. The windows are computed again
    here from the same, not yet modified, state as when the model was compiled. -#}
{% macro get_incremental_sensor_episode_windows_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set temp = arg_dict['temp_relation'] -%}
    {%- set cols = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set windows = sensor_episode_windows() -%}
    delete from {{ target }} as e
    using ({{ windows.sql }}) as w
    where e.point_id = w.point_id and e.started_at >= w.window_start;
    insert into {{ target }} ({{ cols }})
    select {{ cols }} from {{ temp }}
{% endmacro %}
