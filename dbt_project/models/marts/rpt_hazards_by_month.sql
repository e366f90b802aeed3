-- The 隐患 page's counts of hidden hazards, per month found and street: found, of them rectified
-- by now, open, past the deadline (open, or rectified late), 重大 and their listing for
-- supervision, as marts.fct_hazards decides each flag (as of the build day). Every column is a
-- count, so a period of months and a set of streets are the sums of their rows.
with

hazards as (
    select * from {{ ref('fct_hazards') }}
),

streets as (
    select * from {{ ref('dim_streets') }}
),

counts as (
    select
        strftime(date_trunc('month', found_on), '%Y-%m') as found_month,
        year,
        coalesce(street_code, 'UNKNOWN') as street_code,
        count(*) as found,
        count(*) filter (where is_rectified) as rectified,
        count(*) filter (where is_open) as open_hazards,
        count(*) filter (where is_open and is_overdue) as open_overdue,
        count(*) filter (where is_rectified and is_overdue) as rectified_late,
        count(*) filter (where is_overdue) as overdue,
        count(*) filter (where is_major) as major,
        count(*) filter (where is_major and coalesce(supervised, false)) as major_supervised,
        count(*) filter (where major_not_supervised) as major_not_supervised,
        count(*) filter (where major_not_supervised and is_open) as major_not_supervised_open
    from hazards
    group by 1, 2, 3
),

final as (
    select
        (counts.found_month || ':' || counts.street_code)::varchar as report_id,
        counts.found_month::varchar as found_month,
        counts.year::integer as year,
        counts.street_code::varchar as street_code,
        {{ report_street_name('counts.street_code', 'streets.street_name') }}::varchar as street_name,
        counts.found::integer as found,
        counts.rectified::integer as rectified,
        counts.open_hazards::integer as open_hazards,
        counts.open_overdue::integer as open_overdue,
        counts.rectified_late::integer as rectified_late,
        counts.overdue::integer as overdue,
        counts.major::integer as major,
        counts.major_supervised::integer as major_supervised,
        counts.major_not_supervised::integer as major_not_supervised,
        counts.major_not_supervised_open::integer as major_not_supervised_open
    from counts
    left join streets on counts.street_code = streets.street_code
)

select * from final
