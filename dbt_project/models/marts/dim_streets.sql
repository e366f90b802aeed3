with

streets as (
    select * from {{ ref('streets') }}
),

final as (
    select
        street_code::varchar as street_code,
        street_name::varchar as street_name,
        nullif(short_name, '')::varchar as short_name,
        street_code = 'UNKNOWN' as is_unknown,
        -- the district's usual order of its streets is the seed's order (macros/registry.sql
        -- lists the codes as the seed has them, UNKNOWN last)
        coalesce(list_position({{ street_codes() }}, street_code), 1000)::integer as street_order
    from streets
)

select * from final
