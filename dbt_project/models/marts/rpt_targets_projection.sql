-- The 2020 outcome of the action plan's two headline targets, as the 总览 page shows it for a
-- selected year (seen_from_year): the actual 2020 value once the selected year is 2020 or later
-- and 2020 has a value; before that, the value projected to 2020 at the average annual rate of
-- change since the baseline year (geometric):
--   value_2020 = v_last * (v_last / v_base) ^ ((2020 - last) / (last - base)),
-- last = the latest year after the baseline, not after min(seen_from_year, 2019), with a value.
-- One row per indicator (deaths_total, deaths_per_100m_gdp) and year of kpi_safety_targets.
with

kpi as (
    select * from {{ ref('kpi_safety_targets') }}
),

indicators as (
    select * from (values
        ('deaths_total', '各类生产安全事故死亡人数', '人'),
        ('deaths_per_100m_gdp', '亿元GDP生产安全事故死亡率', '人/亿元')
    ) as t (indicator, indicator_name, unit)
),

observed as (
    select 'deaths_total' as indicator, year, deaths_total::double as value,
        deaths_target_2020 as target
    from kpi
    union all
    select 'deaths_per_100m_gdp' as indicator, year, deaths_per_100m_gdp as value,
        rate_target_2020 as target
    from kpi
),

targets as (
    select indicator, arg_min(target, year) filter (where target is not null) as target_2020
    from observed
    group by indicator
),

base as (
    select indicator, value as base_value
    from observed
    where year = {{ var('baseline_year') }} and value is not null
),

goal as (
    select indicator, value as goal_value
    from observed
    where year = {{ var('target_year') }} and value is not null
),

views as (
    select indicators.indicator, indicators.indicator_name, indicators.unit, kpi.year as seen_from_year
    from indicators cross join kpi
),

last_years as (
    select
        views.indicator,
        views.seen_from_year,
        max(observed.year) as last_year
    from views
    inner join observed
        on observed.indicator = views.indicator
        and observed.value is not null
        and observed.year > {{ var('baseline_year') }}
        and observed.year <= least(views.seen_from_year, {{ var('target_year') }} - 1)
    group by views.indicator, views.seen_from_year
),

joined as (
    select
        views.*,
        targets.target_2020,
        base.base_value,
        goal.goal_value,
        last_years.last_year,
        last_value.value as last_value
    from views
    left join targets on views.indicator = targets.indicator
    left join base on views.indicator = base.indicator
    left join goal on views.indicator = goal.indicator
    left join last_years
        on views.indicator = last_years.indicator and views.seen_from_year = last_years.seen_from_year
    left join observed as last_value
        on last_value.indicator = views.indicator and last_value.year = last_years.last_year
),

decided as (
    select
        *,
        case
            when target_2020 is null then 'unavailable'
            when seen_from_year >= {{ var('target_year') }} and goal_value is not null then 'actual'
            when base_value is null or last_year is null or base_value <= 0 then 'unavailable'
            else 'projected'
        end as mode,
        case
            when target_2020 is null then '缺少{{ var("target_year") }}年目标值'
            when seen_from_year >= {{ var('target_year') }} and goal_value is not null then null
            when base_value is null then '缺少{{ var("baseline_year") }}年基数'
            when last_year is null
                then '至少需要{{ var("baseline_year") }}年之后一年的数据才能推算趋势'
            when base_value <= 0 then '{{ var("baseline_year") }}年基数为0'
        end as unavailable_reason
    from joined
),

computed as (
    select
        *,
        case mode
            when 'actual' then goal_value
            when 'projected' then last_value * pow(
                last_value / base_value,
                ({{ var('target_year') }} - last_year)::double / (last_year - {{ var('baseline_year') }})
            )
        end as value_2020
    from decided
),

final as (
    select
        (indicator || ':' || seen_from_year)::varchar as projection_id,
        'ALL'::varchar as street_code,
        indicator::varchar as indicator,
        indicator_name::varchar as indicator_name,
        unit::varchar as unit,
        seen_from_year::integer as seen_from_year,
        mode::varchar as mode,
        case mode
            when 'actual' then '{{ var("target_year") }}年实际值'
            when 'projected' then '按{{ var("baseline_year") }}年至末年的年均变化率（几何平均）外推到{{ var("target_year") }}年：末年值 × (末年值 ÷ {{ var("baseline_year") }}年值)^(({{ var("target_year") }} − 末年) ÷ (末年 − {{ var("baseline_year") }}))'
        end::varchar as method,
        target_2020::double as target_2020,
        value_2020::double as value_2020,
        {{ var('baseline_year') }}::integer as base_year,
        case when mode != 'unavailable' or base_value is not null then base_value end::double
            as base_value,
        (value_2020 / nullif(base_value, 0) - 1)::double as change_vs_base,
        case mode
            when 'actual' then {{ var('target_year') }}
            when 'projected' then last_year
        end::integer as last_year,
        case mode
            when 'actual' then goal_value
            when 'projected' then last_value
        end::double as last_value,
        case when mode = 'projected'
            then pow(last_value / base_value, 1.0 / (last_year - {{ var('baseline_year') }})) - 1
        end::double as annual_change,
        case when mode = 'projected' and last_value > 0
            then pow(target_2020 / last_value, 1.0 / ({{ var('target_year') }} - last_year)) - 1
        end::double as required_change,
        case when mode != 'unavailable' then value_2020 <= target_2020 + 1e-12 end::boolean
            as target_met,
        unavailable_reason::varchar as unavailable_reason
    from computed
)

select * from final
