-- Current emergency resources per street and resource type, every street (and UNKNOWN) times
-- every type, zero where none. Quantities are in each resource's own unit (人, 支, 件, 台 ...)
-- and units cannot be added up: quantity_total is the sum only when every resource of the cell
-- has the same unit (quantity_unit); otherwise it is null and quantity_by_unit gives the sum
-- per unit ("120 人；2 支"). A resource without a type is kept under 未注明 (never dropped).
with

resources as (
    select
        *,
        coalesce(resource_type, '未注明') as type_key,
        coalesce(unit, '未注明') as unit_key
    from {{ ref('int_resources_current') }}
),

streets as (
    select * from {{ ref('dim_streets') }}
),

types as (
    select resource_type
    from (values ('救援队伍'), ('应急物资'), ('应急装备')) as agreed (resource_type)
    union
    select type_key as resource_type from resources
),

grid as (
    select
        streets.street_code,
        streets.street_name,
        types.resource_type
    from streets
    cross join types
),

by_unit as (
    select
        street_code,
        type_key,
        unit_key,
        count(*) as resources,
        sum(quantity) as quantity
    from resources
    group by street_code, type_key, unit_key
),

by_cell as (
    select
        street_code,
        type_key,
        sum(resources) as resources,
        count(*) as units,
        sum(quantity) as quantity,
        min(unit_key) as any_unit,
        string_agg(
            coalesce(
                case
                    when quantity = round(quantity) then round(quantity)::bigint::varchar
                    else round(quantity, 3)::varchar
                end,
                '?'
            ) || ' ' || unit_key,
            '；' order by unit_key
        ) as quantity_by_unit
    from by_unit
    group by street_code, type_key
),

last_updated as (
    select
        street_code,
        type_key,
        max(updated_on) as last_updated_on
    from resources
    group by street_code, type_key
),

final as (
    select
        grid.street_code::varchar as street_code,
        grid.street_name::varchar as street_name,
        grid.resource_type::varchar as resource_type,
        coalesce(by_cell.resources, 0)::integer as resources,
        case
            when by_cell.resources is null then 0
            when by_cell.units = 1 then by_cell.quantity
        end::double as quantity_total,
        case when by_cell.units = 1 then by_cell.any_unit end::varchar as quantity_unit,
        coalesce(by_cell.units, 0)::integer as units,
        by_cell.quantity_by_unit::varchar as quantity_by_unit,
        last_updated.last_updated_on::date as last_updated_on
    from grid
    left join by_cell
        on grid.street_code = by_cell.street_code and grid.resource_type = by_cell.type_key
    left join last_updated
        on grid.street_code = last_updated.street_code and grid.resource_type = last_updated.type_key
)

select * from final
