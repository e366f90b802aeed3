-- The latest delivered snapshot is the truth: one row per monitoring point it lists. A point
-- missing from it is no longer monitored (its readings raise no alarms). The latest snapshot is
-- the file with the latest date in its name; a file re-sent under the same name with new
-- content replaces it (its latest version: macros/file_versions.sql).
with

snapshots as (
    select * from {{ ref('stg_emb__hazard_sources') }}
    where is_latest_file_version
),

latest_file as (
    select source_file, loaded_at
    from snapshots
    group by source_file, loaded_at, snapshot_date
    order by snapshot_date desc nulls last, source_file desc, loaded_at desc
    limit 1
),

latest_file_rows as (
    select snapshots.*
    from snapshots
    inner join latest_file
        on snapshots.source_file = latest_file.source_file
        and snapshots.loaded_at = latest_file.loaded_at
),

current_rows as (
    -- a point listed twice in one snapshot: its last line wins (macros/latest_version.sql)
    {{ latest_version('latest_file_rows', 'emb__hazard_sources', file_date='snapshot_date', versions_as=none) }}
),

final as (
    select
        point_id,
        hazard_source_id,
        uscc,
        hazard_source_name,
        hazard_level,
        metric,
        unit,
        high_threshold,
        high_high_threshold,
        -- fingerprint of what alarms and episodes depend on: when a new snapshot changes it,
        -- the point's readings are summarised and its episodes recomputed again
        md5(concat_ws('|', hazard_source_id, coalesce(uscc, ''), coalesce(metric, ''), coalesce(unit, ''),
            high_threshold::varchar, coalesce(high_high_threshold::varchar, ''))) as point_version,
        snapshot_date,
        source_file as snapshot_file
    from current_rows
)

select * from final
