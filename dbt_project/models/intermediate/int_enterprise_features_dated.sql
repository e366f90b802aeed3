-- One row per enterprise and as-of date: what the platform knew about the unit on that date (the
-- features of the inspection ranking, seed inspection_risk_features) and what happened in the 12
-- months from it (the outcome the ranking predicts).
--
-- Known on a date = dated strictly before it: an event that occurred before it and whose first
-- report was delivered before it (under the unit that report named; a fire's casualties as its
-- last report before the date said), a registry snapshot dated before it, a quarter's risk
-- inventory from the first day of the second month after the quarter (it is delivered on the
-- 10th of the month after), an inspection as its latest version updated before the date said.
-- Nothing of the as-of date itself or later reaches a feature: tests/test_ranking_features.py
-- builds the features of a date in one home before it and nine months later and finds them
-- equal. The outcome columns (had_event_next_12m, events_next_12m) read the 12 months from the
-- date; they are never features.
--
-- As-of dates: 1 January of every year with a registry snapshot before it (the backtest's
-- years), the first day of each of the 12 months before the as-of date (the monthly lists whose
-- inspections are followed up), and the as-of date itself (the ranking to publish). The units
-- of a date are those of the last registry snapshot before it with a valid credit code (the key
-- every department's records link by).
{%- set window = "interval 12 month" %}
{%- set history = "interval 36 month" %}
with

snapshots as (
    select
        {{ uscc_key('uscc') }} as uscc,
        regexp_replace(unit_name, '[\s\x{3000}]', '', 'g') as unit_name,
        street_raw,
        industry,
        employees,
        above_scale,
        standardisation_grade,
        insured,
        insurance_expires_on,
        major_hazard_unit,
        snapshot_date
    from {{ ref('stg_emb__enterprises') }}
    where is_latest_file_version
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

scoring as (
    select {{ as_of_date() }} as as_of_date
),

year_numbers as (
    select unnest(generate_series(
        (select year(min(snapshots.snapshot_date)) + 1 from snapshots),
        year(scoring.as_of_date)
    )) as year_number
    from scoring
),

month_numbers as (
    select unnest(generate_series(0, 11)) as month_number
),

candidate_dates as (
    select
        make_date(year_numbers.year_number::integer, 1, 1) as as_of_date,
        false as is_scoring_row
    from year_numbers
    union all
    select
        (date_trunc('month', scoring.as_of_date) - to_months(month_numbers.month_number::integer))::date
            as as_of_date,
        false as is_scoring_row
    from scoring
    cross join month_numbers
    union all
    select
        scoring.as_of_date,
        true as is_scoring_row
    from scoring
),

as_of_dates as (
    select
        candidate_dates.as_of_date,
        bool_or(candidate_dates.is_scoring_row) as is_scoring_row
    from candidate_dates
    inner join scoring on candidate_dates.as_of_date <= scoring.as_of_date
    group by candidate_dates.as_of_date
),

snapshot_of_date as (
    select
        as_of_dates.as_of_date,
        max(files.snapshot_date) as snapshot_date
    from as_of_dates
    inner join (select distinct snapshot_date from snapshots) as files
        on as_of_dates.as_of_date > files.snapshot_date
    group by as_of_dates.as_of_date
),

units as (
    select
        snapshots.uscc,
        any_value(snapshots.unit_name order by snapshots.unit_name) as unit_name,
        as_of_dates.as_of_date,
        as_of_dates.is_scoring_row,
        any_value(coalesce(streets.street_code, 'UNKNOWN') order by snapshots.street_raw) as street_code,
        any_value(snapshots.industry order by snapshots.industry) as industry,
        max(coalesce(snapshots.employees, 0)) as employees,
        bool_or(coalesce(snapshots.above_scale, false)) as above_scale,
        min(
            case snapshots.standardisation_grade
                when '一级' then 0 when '二级' then 1 when '三级' then 2 else 3
            end
        ) as standardisation_gap,
        bool_or(
            {{ insurance_current('snapshots.insured', 'snapshots.insurance_expires_on', 'as_of_dates.as_of_date') }}
        ) as insured,
        bool_or(coalesce(snapshots.major_hazard_unit, false)) as major_hazard_unit
    from as_of_dates
    inner join snapshot_of_date on as_of_dates.as_of_date = snapshot_of_date.as_of_date
    inner join snapshots on snapshot_of_date.snapshot_date = snapshots.snapshot_date
    left join streets on snapshots.street_raw = streets.street_raw
    where {{ uscc_is_valid('snapshots.uscc') }}
    group by snapshots.uscc, as_of_dates.as_of_date, as_of_dates.is_scoring_row
),

accidents as (
    -- one row per accident: known from its first report, under the unit that report named
    select
        {{ uscc_key('arg_min(uscc, reported_on)') }} as uscc,
        min(occurred_at)::date as occurred_on,
        min(reported_on) as first_reported_on
    from {{ ref('stg_emb__accidents') }}
    where occurred_at is not null
    group by accident_id
),

fire_versions as (
    -- every report of a fire: casualties change for 7 days, a feature reads the report it had
    select
        fire_id,
        {{ uscc_key('uscc') }} as uscc,
        occurred_at::date as occurred_on,
        reported_at::date as reported_on,
        coalesce(deaths, 0) + coalesce(injuries, 0) as casualties
    from {{ ref('stg_fire__fires') }}
    where occurred_at is not null
),

fires as (
    -- one row per fire: known from its first report, under the unit that report named; with
    -- casualties as finally reported (the outcome)
    select
        fire_id,
        arg_min(uscc, reported_on) as uscc,
        min(occurred_on) as occurred_on,
        min(reported_on) as first_reported_on,
        coalesce(arg_max(casualties, reported_on), 0) > 0 as with_casualties
    from fire_versions
    group by fire_id
),

hazards as (
    select
        {{ uscc_key('uscc') }} as uscc,
        found_on,
        coalesce(level = '重大', false) as is_major,
        deadline,
        rectified_on
    from {{ ref('int_hazard_reports_deduplicated') }}
    where uscc is not null and found_on is not null
),

inspection_versions as (
    select
        {{ uscc_key('uscc') }} as uscc,
        inspection_id,
        inspected_on,
        findings,
        result,
        blacklisted,
        updated_at::date as updated_on,
        updated_at
    from {{ ref('stg_emb__inspections') }}
    where uscc is not null and inspected_on is not null
),

alarm_episodes as (
    select
        {{ uscc_key('uscc') }} as uscc,
        started_at::date as started_on
    from {{ ref('int_sensor_alarm_episodes') }}
    where uscc is not null
),

risk_points as (
    select
        regexp_replace(responsible_unit, '[\s\x{3000}]', '', 'g') as unit_name,
        risk_point_id,
        risk_level,
        -- a quarter's inventory is delivered on the 10th of the month after the quarter (the
        -- agreement): known from the first day of the second month after it
        (make_date(
            left(snapshot_quarter, 4)::integer,
            right(snapshot_quarter, 1)::integer * 3, 1
        ) + interval 2 month)::date as known_from
    from {{ ref('stg_safety_office__risk_points') }}
    where is_latest_file_version and responsible_unit is not null
),

accident_features as (
    select
        units.uscc,
        units.as_of_date,
        count(*) filter (
            where accidents.occurred_on < units.as_of_date and accidents.first_reported_on < units.as_of_date
            and accidents.occurred_on >= units.as_of_date - {{ history }}
        ) as accidents_3y,
        count(*) filter (
            where accidents.occurred_on < units.as_of_date and accidents.first_reported_on < units.as_of_date
            and accidents.occurred_on >= units.as_of_date - {{ window }}
        ) as accidents_12m,
        count(*) filter (
            where accidents.occurred_on >= units.as_of_date
            and accidents.occurred_on < units.as_of_date + {{ window }}
        ) as accidents_next_12m
    from units
    inner join accidents on units.uscc = accidents.uscc
    group by units.uscc, units.as_of_date
),

fire_features as (
    select
        units.uscc,
        units.as_of_date,
        count(*) filter (
            where fires.occurred_on < units.as_of_date and fires.first_reported_on < units.as_of_date
            and fires.occurred_on >= units.as_of_date - {{ window }}
        ) as fires_12m,
        count(*) filter (
            where fires.occurred_on >= units.as_of_date
            and fires.occurred_on < units.as_of_date + {{ window }}
            and fires.with_casualties
        ) as casualty_fires_next_12m
    from units
    inner join fires on units.uscc = fires.uscc
    group by units.uscc, units.as_of_date
),

casualty_fires_known as (
    -- fires of the 3 years before the date whose last report before it had casualties
    select
        units.uscc,
        units.as_of_date,
        fire_versions.fire_id
    from units
    inner join fire_versions
        on units.uscc = fire_versions.uscc
        and fire_versions.reported_on < units.as_of_date
        and fire_versions.occurred_on < units.as_of_date
        and fire_versions.occurred_on >= units.as_of_date - {{ history }}
    group by units.uscc, units.as_of_date, fire_versions.fire_id
    having arg_max(fire_versions.casualties, fire_versions.reported_on) > 0
),

casualty_fire_features as (
    select
        uscc,
        as_of_date,
        count(*) as casualty_fires_3y
    from casualty_fires_known
    group by uscc, as_of_date
),

hazard_features as (
    select
        units.uscc,
        units.as_of_date,
        count(*) filter (
            where hazards.found_on < units.as_of_date and hazards.found_on >= units.as_of_date - {{ window }}
        ) as hazards_12m,
        count(*) filter (
            where hazards.found_on < units.as_of_date and hazards.is_major
            and hazards.found_on >= units.as_of_date - {{ window }}
        ) as major_hazards_12m,
        count(*) filter (
            where hazards.found_on < units.as_of_date and hazards.is_major
            and hazards.found_on >= units.as_of_date - {{ history }}
        ) as major_hazards_3y,
        count(*) filter (
            where hazards.found_on < units.as_of_date and hazards.deadline < units.as_of_date
            and not coalesce(hazards.rectified_on < units.as_of_date, false)
        ) as hazards_overdue,
        count(*) filter (
            where hazards.rectified_on < units.as_of_date and hazards.rectified_on > hazards.deadline
            and hazards.rectified_on >= units.as_of_date - {{ window }}
        ) as hazards_rectified_late_12m,
        count(*) filter (
            where hazards.is_major and hazards.found_on >= units.as_of_date
            and hazards.found_on < units.as_of_date + {{ window }}
        ) as major_hazards_next_12m
    from units
    inner join hazards on units.uscc = hazards.uscc
    group by units.uscc, units.as_of_date
),

inspections_known as (
    -- each inspection as its latest version updated before the as-of date said
    select
        units.uscc,
        units.as_of_date,
        inspection_versions.inspection_id,
        arg_max(inspection_versions.inspected_on, inspection_versions.updated_at) as inspected_on,
        arg_max(inspection_versions.findings, inspection_versions.updated_at) as findings,
        arg_max(inspection_versions.result, inspection_versions.updated_at) as result,
        arg_max(inspection_versions.blacklisted, inspection_versions.updated_at) as blacklisted
    from units
    inner join inspection_versions
        on
            units.uscc = inspection_versions.uscc
            and units.as_of_date > inspection_versions.updated_on
    group by units.uscc, units.as_of_date, inspection_versions.inspection_id
),

inspection_features as (
    select
        uscc,
        as_of_date,
        count(*) filter (where inspected_on >= as_of_date - {{ window }}) as inspections_12m,
        coalesce(sum(findings) filter (where inspected_on >= as_of_date - {{ window }}), 0) as findings_12m,
        count(*) filter (
            where inspected_on >= as_of_date - {{ window }} and result in ('行政处罚', '停产整顿')
        ) as penalties_12m,
        -- on the blacklist for var('blacklist_years') (3) years from the inspection that listed it
        bool_or(
            coalesce(blacklisted, false)
            and inspected_on >= as_of_date - to_years({{ var('blacklist_years', 3) }})
        ) as blacklisted
    from inspections_known
    where inspected_on < as_of_date
    group by uscc, as_of_date
),

alarm_features as (
    select
        units.uscc,
        units.as_of_date,
        count(*) as sensor_alarms_12m
    from units
    inner join alarm_episodes
        on
            units.uscc = alarm_episodes.uscc
            and units.as_of_date > alarm_episodes.started_on
            and alarm_episodes.started_on >= units.as_of_date - {{ window }}
    group by units.uscc, units.as_of_date
),

risk_point_quarters as (
    select
        units.uscc,
        units.as_of_date,
        max(risk_points.known_from) as known_from
    from units
    inner join risk_points on units.as_of_date >= risk_points.known_from
    group by units.uscc, units.as_of_date
),

risk_point_features as (
    select
        units.uscc,
        units.as_of_date,
        count(distinct risk_points.risk_point_id) as risk_points,
        max(case risk_points.risk_level when '红' then 4 when '橙' then 3 when '黄' then 2 when '蓝' then 1 end)
            as risk_colour
    from units
    inner join risk_point_quarters
        on units.uscc = risk_point_quarters.uscc and units.as_of_date = risk_point_quarters.as_of_date
    inner join risk_points
        on risk_point_quarters.known_from = risk_points.known_from and units.unit_name = risk_points.unit_name
    group by units.uscc, units.as_of_date
),

final as (
    select
        units.uscc::varchar as uscc,
        units.as_of_date::date as as_of_date,
        units.unit_name::varchar as unit_name,
        year(units.as_of_date)::integer as as_of_year,
        units.street_code::varchar as street_code,
        units.is_scoring_row::boolean as is_scoring_row,
        (
            units.as_of_date + {{ window }} <= (select as_of_date from scoring)
        )::boolean as label_complete,
        (
            coalesce(accident_features.accidents_3y, 0) + coalesce(casualty_fire_features.casualty_fires_3y, 0)
            + coalesce(hazard_features.major_hazards_3y, 0)
        )::integer as incidents_3y,
        coalesce(accident_features.accidents_12m, 0)::integer as accidents_12m,
        coalesce(fire_features.fires_12m, 0)::integer as fires_12m,
        coalesce(hazard_features.hazards_12m, 0)::integer as hazards_12m,
        coalesce(hazard_features.major_hazards_12m, 0)::integer as major_hazards_12m,
        coalesce(hazard_features.hazards_overdue, 0)::integer as hazards_overdue,
        coalesce(hazard_features.hazards_rectified_late_12m, 0)::integer as hazards_rectified_late_12m,
        coalesce(inspection_features.inspections_12m, 0)::integer as inspections_12m,
        coalesce(inspection_features.findings_12m, 0)::integer as findings_12m,
        coalesce(inspection_features.penalties_12m, 0)::integer as penalties_12m,
        coalesce(inspection_features.blacklisted, false)::integer as blacklisted,
        (not units.insured)::integer as uninsured,
        units.standardisation_gap::integer as standardisation_gap,
        round(ln(1 + units.employees), 3)::double as log_employees,
        units.above_scale::integer as above_scale,
        units.major_hazard_unit::integer as major_hazard_unit,
        coalesce(alarm_features.sensor_alarms_12m, 0)::integer as sensor_alarms_12m,
        coalesce(risk_point_features.risk_points, 0)::integer as risk_points,
        coalesce(risk_point_features.risk_colour, 0)::integer as risk_colour,
        (left(units.industry, 1) = 'C')::integer as industry_manufacturing,
        (left(units.industry, 1) = 'E')::integer as industry_construction,
        (left(units.industry, 1) = 'G')::integer as industry_logistics,
        (
            coalesce(accident_features.accidents_next_12m, 0)
            + coalesce(fire_features.casualty_fires_next_12m, 0)
            + coalesce(hazard_features.major_hazards_next_12m, 0)
        )::integer as events_next_12m
    from units
    left join accident_features
        on units.uscc = accident_features.uscc and units.as_of_date = accident_features.as_of_date
    left join fire_features
        on units.uscc = fire_features.uscc and units.as_of_date = fire_features.as_of_date
    left join casualty_fire_features
        on units.uscc = casualty_fire_features.uscc and units.as_of_date = casualty_fire_features.as_of_date
    left join hazard_features
        on units.uscc = hazard_features.uscc and units.as_of_date = hazard_features.as_of_date
    left join inspection_features
        on units.uscc = inspection_features.uscc and units.as_of_date = inspection_features.as_of_date
    left join alarm_features
        on units.uscc = alarm_features.uscc and units.as_of_date = alarm_features.as_of_date
    left join risk_point_features
        on units.uscc = risk_point_features.uscc and units.as_of_date = risk_point_features.as_of_date
)

select
    *,
    (events_next_12m > 0)::boolean as had_event_next_12m
from final
