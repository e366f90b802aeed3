-- The 执法与信用 page's inspections per month, street of the inspected unit and result: counts,
-- findings, penalties in 万元 (from penalty_yuan: fct_inspections version 2 has no
-- penalty_10k_yuan), 罚款案件 and blacklistings. Every figure adds up over months (a year is
-- the sum of its months), streets and results.
with

inspections as (
    select * from {{ ref('fct_inspections') }}
),

dim_streets as (
    select * from {{ ref('dim_streets') }}
),

counts as (
    select
        strftime(inspected_on, '%Y-%m') as inspected_month,
        year,
        coalesce(street_code, 'UNKNOWN') as street_code,
        result_category,
        count(*) as inspections,
        coalesce(sum(findings), 0) as findings,
        coalesce(sum(penalty_yuan), 0) / 10000 as penalty_10k_yuan,
        count(*) filter (where penalised) as penalised,
        count(*) filter (where blacklisted) as blacklistings
    from inspections
    group by 1, 2, 3, 4
),

final as (
    select
        (counts.inspected_month || ':' || counts.street_code || ':' || counts.result_category)::varchar
            as report_id,
        counts.inspected_month::varchar as inspected_month,
        counts.year::integer as year,
        counts.street_code::varchar as street_code,
        {{ report_street_name('counts.street_code', 'dim_streets.street_name') }}::varchar
            as street_name,
        counts.result_category::varchar as result_category,
        counts.inspections::integer as inspections,
        counts.findings::integer as findings,
        counts.penalty_10k_yuan::double as penalty_10k_yuan,
        counts.penalised::integer as penalised,
        counts.blacklistings::integer as blacklistings
    from counts
    left join dim_streets on counts.street_code = dim_streets.street_code
)

select * from final
