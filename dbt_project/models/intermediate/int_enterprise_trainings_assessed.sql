-- Whether each active enterprise's principal (企业主要负责人) and a safety manager (安全管理人员)
-- passed a safety assessment in the 12 months up to a date: one row per enterprise and
-- reference date - the last day of every year of the training lists before the as-of year, and
-- the as-of date (macros/as_of_date.sql). The rule is written here once:
--   - active: listed in the latest registry snapshot (emb/enterprises) on or before the date;
--   - assessed: a training for that enterprise (统一社会信用代码 in dim_enterprises' join form)
--     whose 对象 is the role, with at least one 考核合格 (capped at 参加人次), dated in the 12
--     months up to the date (after the same day a year earlier, up to and including the date);
--   - covered: both roles assessed.
-- The enterprise's street is the one rule of int_unit_streets_resolved (by code), UNKNOWN
-- without a code it knows.
with

as_of as (
    select {{ as_of_date() }} as as_of_date
),

trainings as (
    select * from {{ ref('int_trainings_deduplicated') }}
    where uscc is not null and passed >= 1 and audience in ('企业主要负责人', '安全管理人员')
),

first_year as (
    select coalesce(min(year(activity_date)), year((select as_of_date from as_of))) as first_year
    from {{ ref('int_trainings_deduplicated') }}
),

periods as (
    select make_date(y::integer, 12, 31) as reference_date
    from range((select first_year from first_year), year((select as_of_date from as_of))) as years(y)
    union
    select as_of_date from as_of
),

snapshot_rows as (
    select * from {{ ref('stg_emb__enterprises') }}
    where is_latest_file_version
),

period_snapshots as (
    select periods.reference_date, max(snapshots.snapshot_date) as snapshot_date
    from periods
    inner join (select distinct snapshot_date from snapshot_rows) as snapshots
        on snapshots.snapshot_date <= periods.reference_date
    group by periods.reference_date
),

active as (
    select
        period_snapshots.reference_date,
        coalesce(
            {{ uscc_key('snapshot_rows.uscc') }},
            'X-' || left(md5(regexp_replace(snapshot_rows.unit_name, '[\s\x{3000}]', '', 'g')), 16)
        ) as enterprise_key,
        arg_max({{ uscc_key('snapshot_rows.uscc') }}, snapshot_rows.source_row_number) as uscc,
        arg_max(snapshot_rows.unit_name, snapshot_rows.source_row_number) as unit_name
    from period_snapshots
    inner join snapshot_rows on period_snapshots.snapshot_date = snapshot_rows.snapshot_date
    group by 1, 2
),

credited as (
    select
        active.reference_date,
        active.enterprise_key,
        max(trainings.activity_date) filter (where trainings.audience = '企业主要负责人') as principal_passed_on,
        max(trainings.activity_date) filter (where trainings.audience = '安全管理人员') as manager_passed_on
    from active
    inner join trainings
        on active.uscc = trainings.uscc
        and trainings.activity_date <= active.reference_date
        and trainings.activity_date > active.reference_date - interval 12 month
    group by active.reference_date, active.enterprise_key
),

final as (
    select
        active.reference_date::varchar || ':' || active.enterprise_key as enterprise_date_id,
        active.reference_date,
        year(active.reference_date) as year,
        active.reference_date = (select as_of_date from as_of) as is_as_of,
        active.enterprise_key,
        active.uscc,
        active.unit_name,
        coalesce(unit_streets.street_code, 'UNKNOWN') as street_code,
        credited.principal_passed_on,
        credited.manager_passed_on,
        credited.principal_passed_on is not null as is_principal_assessed,
        credited.manager_passed_on is not null as is_manager_assessed,
        credited.principal_passed_on is not null and credited.manager_passed_on is not null as is_covered
    from active
    left join credited
        on active.reference_date = credited.reference_date
        and active.enterprise_key = credited.enterprise_key
    left join {{ ref('int_unit_streets_resolved') }} as unit_streets on active.uscc = unit_streets.uscc
)

select * from final
