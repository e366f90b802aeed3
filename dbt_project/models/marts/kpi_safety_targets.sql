-- The action plan's two headline targets, per year: all production-safety accident deaths
-- (工矿商贸 + 火灾 + 道路交通, each event once) and deaths per 100 million yuan of GDP, each
-- against the baseline year and the target year's goal.
with

events as (
    select * from {{ ref('fct_casualty_events') }}
),

economy as (
    select * from {{ ref('int_economy_years_revised') }}
),

deaths_by_year as (
    select
        year,
        sum(deaths) filter (where department = 'emb') as deaths_workplace,
        sum(deaths) filter (where department = 'fire') as deaths_fire,
        sum(deaths) filter (where department = 'traffic') as deaths_road,
        count(*) as events
    from events
    group by year
),

bounds as (
    select
        least(
            {{ var('baseline_year') }},
            (select min(year) from deaths_by_year),
            (select min(year) from economy)
        ) as first_year,
        greatest(
            {{ var('target_year') }},
            (select max(year) from deaths_by_year),
            (select max(year) from economy)
        ) as last_year
),

-- No year that has not begun: a row dated in the future (a typo, a wrong clock) must not
-- create KPI years ahead of the as-of date.
years as (
    select year
    from (select unnest(generate_series(first_year, last_year)) as year from bounds)
    where year <= year({{ as_of_date() }})
),

yearly as (
    select
        years.year,
        coalesce(deaths_by_year.deaths_workplace, 0) as deaths_workplace,
        coalesce(deaths_by_year.deaths_fire, 0) as deaths_fire,
        coalesce(deaths_by_year.deaths_road, 0) as deaths_road,
        coalesce(deaths_by_year.events, 0) as events,
        economy.gdp_100m_yuan,
        economy.data_status as gdp_status
    from years
    left join deaths_by_year on years.year = deaths_by_year.year
    left join economy on years.year = economy.year
),

rated as (
    select
        *,
        deaths_workplace + deaths_fire + deaths_road as deaths_total,
        (deaths_workplace + deaths_fire + deaths_road) / nullif(gdp_100m_yuan, 0)
            as deaths_per_100m_gdp
    from yearly
),

baseline as (
    select
        deaths_total as baseline_deaths,
        deaths_per_100m_gdp as baseline_rate
    from rated
    where year = {{ var('baseline_year') }}
),

-- When a year's GDP is due: the delivery agreement gives the statistics bureau's economy feed no
-- date, only its cadence (a quarterly workbook, sources.py STATS_ECONOMY); the platform expects a
-- year's preliminary figure (初步核算) in the first quarterly delivery after the year closes, i.e.
-- by the last day of the var's month of the next year (dbt_project.yml, gdp_due_month).
gdp_due as (
    select
        year,
        last_day(make_date(year + 1, {{ var('gdp_due_month') }}, 1)) as gdp_due_date
    from rated
),

final as (
    select
        rated.year::integer as year,
        rated.deaths_workplace::integer as deaths_workplace,
        rated.deaths_fire::integer as deaths_fire,
        rated.deaths_road::integer as deaths_road,
        rated.deaths_total::integer as deaths_total,
        rated.events::integer as events,
        rated.gdp_100m_yuan::double as gdp_100m_yuan,
        rated.gdp_status::varchar as gdp_status,
        rated.deaths_per_100m_gdp::double as deaths_per_100m_gdp,
        (rated.deaths_total / nullif(baseline.baseline_deaths, 0) - 1)::double
            as deaths_change_vs_2016,
        (rated.deaths_per_100m_gdp / nullif(baseline.baseline_rate, 0) - 1)::double
            as rate_change_vs_2016,
        (baseline.baseline_deaths * (1 - {{ var('deaths_reduction_target') }}))::double
            as deaths_target_2020,
        (baseline.baseline_rate * (1 - {{ var('rate_reduction_target') }}))::double
            as rate_target_2020,
        (rated.deaths_total <= baseline.baseline_deaths * (1 - {{ var('deaths_reduction_target') }}))::boolean
            as deaths_target_met,
        (rated.deaths_per_100m_gdp <= baseline.baseline_rate * (1 - {{ var('rate_reduction_target') }}))::boolean
            as rate_target_met,
        gdp_due.gdp_due_date::date as gdp_due_date,
        case
            when rated.gdp_100m_yuan is not null then null
            when {{ as_of_date() }} <= gdp_due.gdp_due_date
                then rated.year::varchar || '年地区生产总值（区统计局初步核算）尚未报送，约定'
                    || strftime(gdp_due.gdp_due_date, '%Y年%-m月%-d日')
                    || '前报送；报送前亿元GDP死亡率无法计算'
            else rated.year::varchar || '年地区生产总值（区统计局初步核算）已过约定报送日期（'
                || strftime(gdp_due.gdp_due_date, '%Y年%-m月%-d日')
                || '）仍未报送，请联系区统计局；报送前亿元GDP死亡率无法计算'
        end::varchar as gdp_missing_reason
    from rated
    left join baseline on true
    left join gdp_due on rated.year = gdp_due.year
)

select * from final
