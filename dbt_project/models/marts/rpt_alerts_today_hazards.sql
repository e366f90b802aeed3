-- The 总览 page's alerts on hidden hazards, per street: what counts as needing attention today
-- (as of the build day, macros/as_of_date.sql, as marts.fct_hazards decides is_overdue).
-- One row per street of marts.dim_streets (UNKNOWN included) and any other street value of the
-- hazards; counts add up across streets.
with

hazards as (
    select * from {{ ref('fct_hazards') }}
),

streets as (
    {{ report_streets(['hazards']) }}
),

counts as (
    select
        coalesce(street_code, 'UNKNOWN') as street_code,
        count(*) filter (where is_major and is_open and is_overdue) as major_overdue_open,
        count(*) filter (where major_not_supervised and is_open) as major_not_supervised_open,
        count(*) filter (where major_not_supervised and is_open and is_overdue)
            as major_overdue_not_supervised,
        count(*) filter (where is_open and is_overdue) as overdue_open,
        count(*) filter (where is_open) as open_hazards
    from hazards
    group by 1
),

final as (
    select
        streets.street_code::varchar as street_code,
        coalesce(counts.major_overdue_open, 0)::integer as major_overdue_open,
        coalesce(counts.major_not_supervised_open, 0)::integer as major_not_supervised_open,
        coalesce(counts.major_overdue_not_supervised, 0)::integer as major_overdue_not_supervised,
        coalesce(counts.overdue_open, 0)::integer as overdue_open,
        coalesce(counts.open_hazards, 0)::integer as open_hazards,
        {{ as_of_date() }}::date as as_of_date
    from streets
    left join counts on streets.street_code = counts.street_code
)

select * from final
