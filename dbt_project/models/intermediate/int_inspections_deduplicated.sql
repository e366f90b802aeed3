-- An inspection comes again with a later updated_at when the bureau changes it (a re-check, a
-- hearing, a review): the latest updated_at wins, whichever extract brought it. The same version
-- pulled twice (a repeat after a failed watermark save, a full re-pull) is one version; among
-- rows with the same updated_at the one pulled later (extract name, then line) wins.
with

items as (
    select * from {{ ref('stg_emb__inspections') }}
),

version_counts as (
    select
        inspection_id,
        count(distinct updated_at) as versions,
        min(updated_at) as first_updated_at
    from items
    group by inspection_id
),

latest as (
    -- one row per inspection, its latest version (the registry's latest_wins; macros/latest_version.sql)
    {{ latest_version('items', 'emb__inspections', versions_as=none) }}
),

final as (
    select
        latest.inspection_id,
        latest.uscc,
        latest.inspected_on,
        latest.team,
        latest.findings,
        latest.result,
        latest.penalty_yuan,
        latest.blacklisted,
        latest.updated_at,
        version_counts.first_updated_at,
        version_counts.versions::integer as versions,
        latest.source_file,
        latest.source_row_number
    from latest
    inner join version_counts on latest.inspection_id = version_counts.inspection_id
)

select * from final
