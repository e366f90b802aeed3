-- One row per active enterprise on the as-of date: whether its principal and a safety manager
-- passed a safety assessment in the last 12 months (int_enterprise_trainings_assessed, the one
-- rule) - the to-do list of the enterprises still to train, by street.
with

assessed as (
    select * from {{ ref('int_enterprise_trainings_assessed') }}
    where is_as_of
),

streets as (
    select * from {{ ref('dim_streets') }}
),

final as (
    select
        assessed.enterprise_key::varchar as enterprise_key,
        assessed.uscc::varchar as uscc,
        assessed.unit_name::varchar as unit_name,
        assessed.street_code::varchar as street_code,
        streets.street_name::varchar as street_name,
        assessed.principal_passed_on::date as principal_passed_on,
        assessed.manager_passed_on::date as manager_passed_on,
        assessed.is_principal_assessed::boolean as is_principal_assessed,
        assessed.is_manager_assessed::boolean as is_manager_assessed,
        assessed.is_covered::boolean as is_covered,
        nullif(concat_ws('、',
            case when not assessed.is_principal_assessed then '主要负责人' end,
            case when not assessed.is_manager_assessed then '安全管理人员' end
        ), '')::varchar as roles_missing,
        assessed.reference_date::date as as_of_date
    from assessed
    left join streets on assessed.street_code = streets.street_code
)

select * from final
