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

ranked as (
    select
        *,
        row_number() over (
            partition by inspection_id
            order by updated_at desc, source_file desc, source_row_number desc
        ) as version_rank
    from items
),

final as (
    select
        ranked.inspection_id,
        ranked.uscc,
        ranked.inspected_on,
        ranked.team,
        ranked.findings,
        ranked.result,
        ranked.penalty_yuan,
        ranked.blacklisted,
        ranked.updated_at,
        version_counts.first_updated_at,
        version_counts.versions::integer as versions,
        ranked.source_file,
        ranked.source_row_number
    from ranked
    inner join version_counts on ranked.inspection_id = version_counts.inspection_id
    where ranked.version_rank = 1
)

select * from final
