-- A hazard's row is pulled again every time the grid system changes it: the latest updated_at
-- wins; a row pulled twice unchanged (a re-pulled boundary, a pull re-run after a crash) is the
-- same version, and the later extract (file name, then line) is kept.
with

reports as (
    select * from {{ ref('stg_grid__hazard_reports') }}
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by report_id
            order by updated_at desc, source_file desc, source_row_number desc
        ) as version_rank,
        count(*) over (partition by report_id) as versions
    from reports
),

final as (
    select
        ranked.report_id,
        ranked.found_on,
        coalesce(streets.street_code, 'UNKNOWN') as street_code,
        ranked.street_raw,
        ranked.community,
        ranked.grid_code,
        ranked.uscc,
        ranked.description,
        ranked.level,
        ranked.deadline,
        ranked.rectified_on,
        ranked.status,
        ranked.supervised,
        ranked.updated_at,
        ranked.versions::integer as versions,
        ranked.source_file,
        ranked.source_row_number
    from ranked
    left join streets on ranked.street_raw = streets.street_raw
    where ranked.version_rank = 1
)

select * from final
