-- A hazard's row is pulled again every time the grid system changes it: the latest updated_at
-- wins; a row pulled twice unchanged (a re-pulled boundary, a pull re-run after a crash) is the
-- same version, and the later extract (file name, then line) is kept.
with

latest as (
    -- one row per report_id, its latest version (the registry's latest_wins; macros/latest_version.sql)
    {{ latest_version(ref('stg_grid__hazard_reports'), 'grid__hazard_reports') }}
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

final as (
    select
        latest.report_id,
        latest.found_on,
        coalesce(streets.street_code, 'UNKNOWN') as street_code,
        latest.street_raw,
        latest.community,
        latest.grid_code,
        latest.uscc,
        latest.description,
        latest.level,
        latest.deadline,
        latest.rectified_on,
        latest.status,
        latest.supervised,
        latest.updated_at,
        latest.versions::integer as versions,
        latest.source_file,
        latest.source_row_number
    from latest
    left join streets on latest.street_raw = streets.street_raw
)

select * from final
