with

units as (
    select * from {{ ref('int_enterprises_validated') }}
),

streets as (
    select * from {{ ref('streets') }}
),

-- Units currently on the safety blacklist (entered through an inspection of 执法检查).
blacklist as (
    select * from {{ ref('int_blacklist_current') }}
),

final as (
    select
        units.enterprise_key::varchar as enterprise_key,
        units.uscc::varchar as uscc,
        units.uscc_delivered::varchar as uscc_delivered,
        units.uscc_valid::boolean as uscc_valid,
        units.uscc_issue::varchar as uscc_issue,
        units.unit_name::varchar as unit_name,
        units.street_code::varchar as street_code,
        streets.street_name::varchar as street_name,
        units.street_raw::varchar as street_raw,
        units.industry::varchar as industry,
        units.employees::integer as employees,
        units.above_scale::boolean as above_scale,
        units.standardisation_grade::varchar as standardisation_grade,
        units.insured::boolean as insured,
        units.insurance_expires_on::date as insurance_expires_on,
        units.insurance_current::boolean as insurance_current,
        units.major_hazard_unit::boolean as major_hazard_unit,
        (blacklist.uscc is not null and units.uscc_valid)::boolean as blacklisted,
        case when units.uscc_valid then blacklist.first_blacklisted_on end::date
            as blacklisted_since,
        case when units.uscc_valid then blacklist.listed_until end::date as blacklisted_until,
        units.is_active::boolean as is_active,
        units.snapshot_date::date as snapshot_date,
        units.first_seen_on::date as first_seen_on,
        units.missing_since::date as missing_since,
        units.delivered_rows::integer as delivered_rows,
        units.source_file::varchar as source_file,
        units.source_row_number::integer as source_row_number
    from units
    left join streets on units.street_code = streets.street_code
    left join blacklist on units.uscc = upper(trim(blacklist.uscc))
)

select * from final
