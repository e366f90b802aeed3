-- 安全生产形势月报: the figures of the monthly briefing, decided here once so that the PDF
-- (citysafety/share/briefing.py) only selects and lays them out.
-- The report month is the last complete month before the as-of date (macros/as_of_date.sql):
-- the month before the as-of date's month (as of 2020-06-30 or 2020-06-01: May 2020).
-- One row per street (the streets of marts.dim_streets, UNKNOWN included, and ALL for the
-- whole district), month (the report month and the 12 before it, for the trend charts) and
-- indicator, with the same month a year earlier beside it. ALL counts every row of the district,
-- those of no street (UNKNOWN, district plans' drills) included, so it is not the sum of the
-- eight streets. Street rows cover casualties, hazards, drills, safety education and
-- demonstration creation (the tables a street office is granted); alarms, monitoring coverage, enforcement and data quality are the district's only.
with

as_of as (
    select
        {{ as_of_date() }} as as_of_date,
        (date_trunc('month', {{ as_of_date() }}) - interval 1 month)::date as report_month
),

-- 13 months shown, and the 12 before them for "the same month last year".
months as (
    select
        (as_of.report_month - to_months(offset_months::integer))::date as month,
        (as_of.report_month - to_months(offset_months::integer) + interval 1 month - interval 1 day)::date
            as month_end
    from as_of
    cross join range(0, 25) as r (offset_months)
),

streets as (
    select street_code, street_name from {{ ref('dim_streets') }}
    union all
    select 'ALL' as street_code, '全区' as street_name
),

indicators as (
    select * from (values
        ('casualties', '伤亡事件', 1, 'casualty_events', '伤亡事件', '起', 1, true,
            '当月发生的生产安全伤亡事件（工矿商贸、火灾、道路交通），跨部门同一事件只计一次，按发生日期（杭州时间）计月。'),
        ('casualties', '伤亡事件', 1, 'deaths', '死亡人数', '人', 2, true,
            '当月发生的伤亡事件的死亡人数（按最新报送版本）。'),
        ('casualties', '伤亡事件', 1, 'injuries', '受伤人数', '人', 3, true,
            '当月发生的伤亡事件的受伤人数（按最新报送版本）。'),
        ('casualties', '伤亡事件', 1, 'deaths_ytd', '本年累计死亡人数', '人', 4, true,
            '当年1月1日至当月末发生的伤亡事件的死亡人数；去年同期为上年1月1日至同月末。'),
        ('hazards', '隐患排查治理', 2, 'hazards_found', '新发现隐患', '条', 1, true,
            '当月发现（发现日期在当月）的网格隐患条数。'),
        ('hazards', '隐患排查治理', 2, 'hazards_rectified', '当月整改隐患', '条', 2, true,
            '整改日期在当月的隐患条数。'),
        ('hazards', '隐患排查治理', 2, 'hazards_open_month_end', '月末未整改隐患', '条', 3, true,
            '当月末已发现且尚未整改的隐患条数：发现日期不晚于月末，整改日期为空或晚于月末；状态为已整改或已销号但未填整改日期的视为已整改。'),
        ('hazards', '隐患排查治理', 2, 'hazards_overdue_month_end', '月末逾期未整改隐患', '条', 4, true,
            '月末未整改且月末已过整改期限的隐患条数。'),
        ('hazards', '隐患排查治理', 2, 'major_hazards_open_month_end', '月末未整改重大隐患', '条', 5, true,
            '月末未整改隐患中隐患等级为重大的条数。'),
        ('hazards', '隐患排查治理', 2, 'major_not_supervised_month_end', '月末未挂牌督办的未整改重大隐患', '条', 6, true,
            '月末未整改的重大隐患中未挂牌督办的条数（挂牌督办状态为统计日的最新报送值）。'),
        ('monitoring', '重大危险源监测', 3, 'alarm_episodes', '监测报警次数', '次', 1, true,
            '当月开始的报警次数（监测点连续超过高报阈值的一段读数计一次），按危险源运营单位所属街道。'),
        ('monitoring', '重大危险源监测', 3, 'high_high_episodes', '高高报次数', '次', 2, true,
            '当月开始且达到高高报阈值的报警次数。'),
        ('monitoring', '重大危险源监测', 3, 'monitoring_coverage', '监测数据完整率', '比例', 3, false,
            '当月有数据的监测点·天数 ÷（监测点数 × 当月天数），只计当月末前已开始报送的危险源；无危险源时为空。'),
        ('monitoring', '重大危险源监测', 3, 'alarms_dispatched', '派发处置的告警', '次', 4, true,
            '当月开始的、由平台定级并通知责任单位处置的告警数（运营数据库，按告警开始时刻，北京时间）。'),
        ('monitoring', '重大危险源监测', 3, 'alarms_escalated', '超时未签收而升级的告警', '次', 5, true,
            '当月开始的告警中，超过其级别的签收时限仍未签收、被逐级上报的告警数。'),
        ('monitoring', '重大危险源监测', 3, 'p95_minutes_to_acknowledge', '签收用时（95%分位）', '分钟', 6, false,
            '当月开始的告警从产生到签收的分钟数的95%分位数（线性插值），未签收的不计；当月无签收时为空。'),
        ('monitoring', '重大危险源监测', 3, 'p95_minutes_to_close', '处置完毕用时（95%分位）', '分钟', 7, false,
            '当月开始的告警从产生到处置完毕的分钟数的95%分位数（线性插值），未处置完毕的不计；当月无时为空。'),
        ('enforcement', '执法检查', 4, 'inspections', '执法检查', '次', 1, true,
            '检查日期在当月的执法检查次数（最新版本），按被检查单位所属街道。'),
        ('enforcement', '执法检查', 4, 'inspections_penalised', '作出罚款的检查', '次', 2, true,
            '当月执法检查中罚款金额大于0的次数。'),
        ('enforcement', '执法检查', 4, 'penalties_yuan', '罚款金额', '元', 3, true,
            '当月执法检查的罚款金额合计（元，最新版本）。'),
        ('drills', '应急演练', 5, 'drills', '应急演练', '次', 1, true,
            '演练日期在当月的应急演练次数，按所演练预案所属街道（区级和部门预案的演练只计入全区）。'),
        ('drills', '应急演练', 5, 'drill_participants', '参演人数', '人次', 2, true,
            '当月应急演练的参演人数合计。'),
        ('education', '宣传教育', 6, 'training_activities', '安全宣传教育与培训活动', '场', 1, true,
            '活动日期在当月的线下安全培训和宣传教育活动场次（两个主办单位重复报送的同一活动只计一次，不含线上课程），按活动所属街道（全区性活动只计入全区）。'),
        ('education', '宣传教育', 6, 'training_attendances', '活动参加人次', '人次', 2, true,
            '当月线下活动的参加人次合计（“约200人”“200余人”按200计；线上课程浏览量不计）。'),
        ('demonstration', '示范创建', 7, 'demonstration_units_named', '已命名示范街道和社区', '个', 1, true,
            '月末前最近一期示范创建季度清单中阶段为市级命名或复评的创建单位数，按所属街道。'),
        ('demonstration', '示范创建', 7, 'demonstration_units_in_progress', '创建中的示范街道和社区', '个', 2, true,
            '月末前最近一期示范创建季度清单中处于申报、创建中、自评或区级评估阶段的创建单位数。'),
        ('data_quality', '数据质量', 8, 'records_unknown_street', '无法识别街道的记录', '条', 1, true,
            '当月的伤亡事件、新发现隐患和执法检查中街道无法识别（UNKNOWN）的条数，只在全区报告中列出。'),
        ('data_quality', '数据质量', 8, 'rows_quarantined_to_date', '截至统计日累计隔离的报送行', '行', 2, false,
            '截至本次构建，各部门报送但未通过入库检查、已隔离的行数（只在统计月份一行）。'),
        ('data_quality', '数据质量', 8, 'rows_delivered_to_date', '截至统计日累计报送行', '行', 3, false,
            '截至本次构建，各部门报送的行数（只在统计月份一行）。')
    ) as t (section, section_name, section_order, indicator, indicator_name, unit, indicator_order,
        is_count, definition)
),

-- One row per (street_code, month, indicator, value) fact, before the streets are rolled up.
casualties as (
    select
        coalesce(street_code, 'UNKNOWN') as street_code,
        date_trunc('month', occurred_on)::date as month,
        count(*)::double as casualty_events,
        sum(deaths)::double as deaths,
        sum(injuries)::double as injuries
    from {{ ref('fct_casualty_events') }}
    where occurred_on is not null
    group by 1, 2
),

hazards as (
    select coalesce(street_code, 'UNKNOWN') as street_code, * exclude (street_code)
    from {{ ref('fct_hazards') }}
),

hazards_month_end as (
    select
        hazards.street_code,
        months.month,
        count(*)::double as hazards_open_month_end,
        (count(*) filter (where hazards.deadline is not null and months.month_end > hazards.deadline))
            ::double as hazards_overdue_month_end,
        (count(*) filter (where hazards.is_major))::double as major_hazards_open_month_end,
        (count(*) filter (where hazards.major_not_supervised))::double as major_not_supervised_month_end
    from hazards
    inner join months
        on hazards.found_on <= months.month_end
        and (
            (hazards.rectified_on is null and not hazards.is_rectified)
            or hazards.rectified_on > months.month_end
        )
    group by 1, 2
),

hazard_flows as (
    select street_code, date_trunc('month', found_on)::date as month, 'hazards_found' as indicator,
        count(*)::double as value
    from hazards where found_on is not null group by 1, 2
    union all
    select street_code, date_trunc('month', rectified_on)::date, 'hazards_rectified', count(*)
    from hazards where rectified_on is not null group by 1, 2
),

alarms as (
    select
        coalesce(street_code, 'UNKNOWN') as street_code,
        date_trunc('month', day)::date as month,
        sum(episodes)::double as alarm_episodes,
        sum(high_high_episodes)::double as high_high_episodes
    from {{ ref('agg_sensor_alarms_daily') }}
    group by 1, 2
),

-- The response to alarms (the operations database, read at each build): counts per street and
-- the district's percentiles, over every grade (marts.agg_alarm_response_by_month has them per grade).
responses as (
    select
        coalesce(street_code, 'UNKNOWN') as street_code,
        strptime(alarm_month, '%Y-%m')::date as month,
        count(*)::double as alarms_dispatched,
        count(*) filter (where escalated)::double as alarms_escalated
    from {{ ref('fct_alarm_responses') }}
    group by 1, 2
),

response_times as (
    select
        'ALL' as street_code,
        strptime(alarm_month, '%Y-%m')::date as month,
        quantile_cont(minutes_to_acknowledge, 0.95) as p95_minutes_to_acknowledge,
        quantile_cont(minutes_to_close, 0.95) as p95_minutes_to_close
    from {{ ref('fct_alarm_responses') }}
    group by 1, 2
),

-- Coverage: point-days with data against the points of every source that had begun reporting.
source_days as (
    select
        daily.hazard_source_id,
        date_trunc('month', daily.day)::date as month,
        sum(daily.points_reporting) as point_days
    from {{ ref('agg_sensor_alarms_daily') }} as daily
    group by 1, 2
),

sources as (
    select
        coverage.hazard_source_id,
        coalesce(coverage.street_code, 'UNKNOWN') as street_code,
        coverage.points,
        min(daily.day) as first_day
    from {{ ref('agg_monitoring_coverage') }} as coverage
    inner join {{ ref('agg_sensor_alarms_daily') }} as daily
        on coverage.hazard_source_id = daily.hazard_source_id
    group by 1, 2, 3
),

coverage_parts as (
    select
        sources.street_code,
        months.month,
        coalesce(source_days.point_days, 0) as point_days,
        sources.points * (datediff('day', months.month, months.month_end) + 1) as possible_point_days
    from sources
    inner join months on sources.first_day <= months.month_end
    left join source_days
        on sources.hazard_source_id = source_days.hazard_source_id
        and source_days.month = months.month
),

inspections as (
    select
        coalesce(street_code, 'UNKNOWN') as street_code,
        date_trunc('month', inspected_on)::date as month,
        count(*)::double as inspections,
        (count(*) filter (where penalised))::double as inspections_penalised,
        coalesce(sum(penalty_yuan), 0)::double as penalties_yuan
    from {{ ref('fct_inspections') }}
    where inspected_on is not null
    group by 1, 2
),

drills as (
    select
        coalesce(street_code, 'UNKNOWN') as street_code,
        date_trunc('month', drilled_on)::date as month,
        count(*)::double as drills,
        coalesce(sum(participants), 0)::double as drill_participants
    from {{ ref('fct_drills') }}
    where drilled_on is not null
    group by 1, 2
),

trainings as (
    select
        street_code,
        date_trunc('month', activity_date)::date as month,
        (count(*) filter (where not is_online))::double as training_activities,
        coalesce(sum(people_reached), 0)::double as training_attendances
    from {{ ref('fct_training_activities') }}
    group by 1, 2
),

-- Demonstration units as the latest quarterly snapshot on or before the month's end lists them.
demonstration as (
    select
        units.street_code,
        months.month,
        (count(*) filter (where units.is_named))::double as demonstration_units_named,
        (count(*) filter (where units.stage in ('申报', '创建中', '自评', '区级评估')))::double
            as demonstration_units_in_progress
    from months
    inner join {{ ref('fct_demonstration_units') }} as units
        on units.quarter_end = (
            select max(latest.quarter_end)
            from {{ ref('fct_demonstration_units') }} as latest
            where latest.quarter_end <= months.month_end
        )
    group by 1, 2
),

-- Additive facts per street value (summed into ALL below).
facts as (
    select street_code, month, indicator, value
    from casualties
    unpivot (value for indicator in (casualty_events, deaths, injuries))
    union all
    select street_code, month, indicator, value
    from hazards_month_end
    unpivot (value for indicator in (
        hazards_open_month_end, hazards_overdue_month_end, major_hazards_open_month_end,
        major_not_supervised_month_end
    ))
    union all
    select street_code, month, indicator, value from hazard_flows
    union all
    select street_code, month, indicator, value
    from alarms
    unpivot (value for indicator in (alarm_episodes, high_high_episodes))
    union all
    select street_code, month, indicator, value
    from responses
    unpivot (value for indicator in (alarms_dispatched, alarms_escalated))
    union all
    select street_code, month, indicator, value
    from inspections
    unpivot (value for indicator in (inspections, inspections_penalised, penalties_yuan))
    union all
    select street_code, month, indicator, value
    from drills
    unpivot (value for indicator in (drills, drill_participants))
    union all
    select street_code, month, indicator, value
    from trainings
    unpivot (value for indicator in (training_activities, training_attendances))
    union all
    select street_code, month, indicator, value
    from demonstration
    unpivot (value for indicator in (demonstration_units_named, demonstration_units_in_progress))
),

-- Per street (rows of the district itself, street_code ALL, are not a street's), and ALL:
-- every row of the district, those of no street included.
additive as (
    select street_code, month, indicator, sum(value) as value
    from facts
    where street_code != 'ALL'
    group by 1, 2, 3
    union all
    select 'ALL' as street_code, month, indicator, sum(value) as value
    from facts
    group by 2, 3
),

coverage as (
    select street_code, month, sum(point_days)::double / nullif(sum(possible_point_days), 0) as value
    from coverage_parts
    group by 1, 2
    union all
    select 'ALL', month, sum(point_days)::double / nullif(sum(possible_point_days), 0)
    from coverage_parts
    group by 1, 2
),

unknown_street as (
    select 'ALL' as street_code, month, sum(value)::double as value
    from facts
    where street_code = 'UNKNOWN' and indicator in ('casualty_events', 'hazards_found', 'inspections')
    group by 1, 2
),

delivered as (
    select
        coalesce(sum(rows_quarantined), 0)::double as rows_quarantined_to_date,
        coalesce(sum(rows_delivered), 0)::double as rows_delivered_to_date
    -- The load ledger (audit.reconciliation, every feed), declared for the sensor models.
    from {{ source('emb_sensors_ledger', 'reconciliation') }}
),

-- Every street × month × indicator of the grid, a count with no fact being 0.
grid as (
    select streets.street_code, streets.street_name, months.month, months.month_end, indicators.*
    from streets
    cross join months
    cross join indicators
    -- A street's rows only of what a street office is granted the detail of (policy/access.yml:
    -- casualties, hazards, drills, demonstration, education); alarms, enforcement and data
    -- quality are the district's.
    where indicators.section in ('casualties', 'hazards', 'drills', 'demonstration', 'education')
        or streets.street_code = 'ALL'
),

valued as (
    select
        grid.*,
        case
            when grid.indicator = 'monitoring_coverage' then coverage.value
            when grid.indicator = 'records_unknown_street' then coalesce(unknown_street.value, 0)
            when grid.indicator = 'p95_minutes_to_acknowledge' then response_times.p95_minutes_to_acknowledge
            when grid.indicator = 'p95_minutes_to_close' then response_times.p95_minutes_to_close
            when grid.indicator = 'deaths_ytd' then null
            when grid.indicator in ('rows_quarantined_to_date', 'rows_delivered_to_date') then null
            else coalesce(additive.value, 0)
        end as value
    from grid
    left join additive
        on grid.street_code = additive.street_code
        and grid.month = additive.month
        and grid.indicator = additive.indicator
    left join coverage
        on grid.street_code = coverage.street_code and grid.month = coverage.month
    left join unknown_street
        on grid.street_code = unknown_street.street_code and grid.month = unknown_street.month
    left join response_times
        on grid.street_code = response_times.street_code and grid.month = response_times.month
),

with_ytd as (
    select
        valued.* exclude (value),
        case
            when valued.indicator = 'deaths_ytd' then (
                select sum(deaths.value)
                from valued as deaths
                where deaths.indicator = 'deaths'
                    and deaths.street_code = valued.street_code
                    and year(deaths.month) = year(valued.month)
                    and deaths.month <= valued.month
            )
            else valued.value
        end as value
    from valued
),

compared as (
    select
        this.*,
        last_year.value as value_last_year
    from with_ytd as this
    left join with_ytd as last_year
        on this.street_code = last_year.street_code
        and this.indicator = last_year.indicator
        and last_year.month = (this.month - interval 12 month)::date
),

shown as (
    select compared.*, as_of.report_month, as_of.as_of_date
    from compared
    cross join as_of
    where compared.month > (as_of.report_month - interval 13 month)::date
        and (
            compared.indicator not in ('rows_quarantined_to_date', 'rows_delivered_to_date')
            or compared.month = as_of.report_month
        )
),

final as (
    select
        (street_code || ':' || strftime(month, '%Y-%m') || ':' || indicator)::varchar as briefing_id,
        street_code::varchar as street_code,
        street_name::varchar as street_name,
        report_month::date as report_month,
        month::date as month,
        (month = report_month)::boolean as is_report_month,
        section::varchar as section,
        section_name::varchar as section_name,
        section_order::integer as section_order,
        indicator::varchar as indicator,
        indicator_name::varchar as indicator_name,
        unit::varchar as unit,
        indicator_order::integer as indicator_order,
        case indicator
            when 'rows_quarantined_to_date' then (select rows_quarantined_to_date from delivered)
            when 'rows_delivered_to_date' then (select rows_delivered_to_date from delivered)
            else value
        end::double as value,
        case when indicator not in ('rows_quarantined_to_date', 'rows_delivered_to_date')
            then value_last_year end::double as value_last_year,
        case when indicator not in ('rows_quarantined_to_date', 'rows_delivered_to_date')
            then value - value_last_year end::double as change,
        case when is_count and value_last_year > 0
            then value / value_last_year - 1 end::double as change_ratio,
        definition::varchar as definition,
        as_of_date::date as as_of_date
    from shown
)

select * from final
