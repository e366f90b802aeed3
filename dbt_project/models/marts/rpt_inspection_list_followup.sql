-- What became of 下月检查建议清单, one row per list month and street (the eight, UNKNOWN, and ALL
-- for the district): the list of a month is the ranking as of its first day (the top
-- var('inspection_list_share') of the district, by the ranker that would have been published
-- then: int_inspection_scores_ranked), followed up over that month in the inspections as
-- published now. Only months that have ended (before the as-of date's month) are followed up.
with

ranked as (
    select * from {{ ref('int_inspection_scores_ranked') }}
),

inspections as (
    select * from {{ ref('fct_inspections') }}
),

streets as (
    select street_code from {{ ref('streets') }}
),

scoring as (
    select {{ as_of_date() }} as as_of_date
),

lists as (
    -- the months' lists: rankings of a month's first day, for the months that have ended
    select
        ranked.as_of_date as list_month_start,
        ranked.uscc,
        ranked.street_code,
        ranked.on_inspection_list
    from ranked
    where
        not ranked.is_scoring_row
        and ranked.as_of_date = date_trunc('month', ranked.as_of_date)
        and ranked.as_of_date + interval 1 month <= date_trunc('month', (select as_of_date from scoring))
),

listed as (
    select * from lists
    where on_inspection_list
),

followed as (
    select
        listed.list_month_start,
        listed.uscc,
        listed.street_code,
        count(inspections.inspection_id) as inspections,
        coalesce(sum(inspections.findings), 0) as findings,
        bool_or(inspections.findings > 0) as with_findings,
        bool_or(inspections.result in ('行政处罚', '停产整顿')) as penalised
    from listed
    left join inspections
        on
            {{ uscc_key('inspections.uscc') }} = listed.uscc
            and listed.list_month_start <= inspections.inspected_on
            and inspections.inspected_on < listed.list_month_start + interval 1 month
    group by listed.list_month_start, listed.uscc, listed.street_code
),

months as (
    select distinct list_month_start from lists
),

grid as (
    select
        months.list_month_start,
        streets.street_code
    from months
    cross join (
        select street_code from streets
        union all
        select 'ALL'
    ) as streets
),

by_street as (
    select
        grid.list_month_start,
        grid.street_code,
        count(followed.uscc) as listed_units,
        count(followed.uscc) filter (where followed.inspections > 0) as inspected_units,
        coalesce(sum(followed.inspections), 0) as inspections,
        coalesce(sum(followed.findings), 0) as findings,
        count(followed.uscc) filter (where followed.with_findings) as units_with_findings,
        count(followed.uscc) filter (where followed.penalised) as units_penalised
    from grid
    left join followed
        on
            grid.list_month_start = followed.list_month_start
            and (grid.street_code = 'ALL' or grid.street_code = followed.street_code)
    group by grid.list_month_start, grid.street_code
),

final as (
    select
        (street_code || ':' || strftime(list_month_start, '%Y-%m'))::varchar as followup_id,
        strftime(list_month_start, '%Y-%m')::varchar as list_month,
        street_code::varchar as street_code,
        listed_units::integer as listed_units,
        inspected_units::integer as inspected_units,
        case when listed_units > 0 then inspected_units / listed_units end::double as inspected_share,
        inspections::integer as inspections,
        findings::integer as findings,
        units_with_findings::integer as units_with_findings,
        units_penalised::integer as units_penalised
    from by_street
)

select * from final
