-- fct_inspections, version 2 (dbt_project/CHANGELOG.md): version 1 without penalty_10k_yuan, the
-- penalty once, in yuan as the bureau decides and delivers it. Built from the same input as
-- version 1 (not from it), so that it stands alone when version 1 is dropped.
with

inspections as (
    select * from {{ ref('int_inspections_deduplicated') }}
),

final as (
    select
        inspection_id::varchar as inspection_id,
        uscc::varchar as uscc,
        inspected_on::date as inspected_on,
        year(inspected_on)::integer as year,
        team::varchar as team,
        findings::integer as findings,
        result::varchar as result,
        penalty_yuan::double as penalty_yuan,
        blacklisted::boolean as blacklisted,
        updated_at::timestamp as updated_at,
        versions::integer as versions,
        source_file::varchar as source_file
    from inspections
)

select * from final
