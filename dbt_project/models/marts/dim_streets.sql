with

streets as (
    select * from {{ ref('streets') }}
),

final as (
    select
        street_code::varchar as street_code,
        street_name::varchar as street_name,
        nullif(short_name, '')::varchar as short_name,
        street_code = 'UNKNOWN' as is_unknown
    from streets
)

select * from final
