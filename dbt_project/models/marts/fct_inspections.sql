with

inspections as (
    select * from {{ ref('int_inspections_deduplicated') }}
),

-- the street of the inspected unit by its credit code (the one rule: int_unit_streets_resolved)
unit_streets as (
    select * from {{ ref('int_unit_streets_resolved') }}
),

final as (
    select
        inspections.inspection_id::varchar as inspection_id,
        inspections.uscc::varchar as uscc,
        inspections.inspected_on::date as inspected_on,
        year(inspections.inspected_on)::integer as year,
        inspections.team::varchar as team,
        inspections.findings::integer as findings,
        inspections.result::varchar as result,
        inspections.penalty_yuan::double as penalty_yuan,
        (inspections.penalty_yuan / 10000.0)::double as penalty_10k_yuan,
        inspections.blacklisted::boolean as blacklisted,
        inspections.updated_at::timestamp as updated_at,
        inspections.versions::integer as versions,
        inspections.source_file::varchar as source_file,
        -- added after the first release: new columns go at the end (CHANGELOG.md)
        coalesce(unit_streets.street_code, 'UNKNOWN')::varchar as street_code,
        -- the page's rules, published (issue 11): a missing result reads 未填写; a penalty is a
        -- positive amount in yuan
        coalesce(inspections.result, '未填写')::varchar as result_category,
        (coalesce(inspections.penalty_yuan, 0) > 0)::boolean as penalised
    from inspections
    left join unit_streets on {{ uscc_key('inspections.uscc') }} = unit_streets.uscc
)

select * from final
