-- The bench's yardstick for the mart build: the same transformations as the dbt models it is
-- compared with (the sensor marts and the headline KPI, with their parents: the street mapping
-- and the streets of the units operating hazard sources too), written by hand as
-- one DuckDB script over the raw layer's Parquet (raw/<source>/<feed>/<load>/rows.parquet),
-- with no framework: no dbt, no incremental bookkeeping, no tests, no contracts.
-- bench/steps.py replaces {RAW} with the raw folder, {SEEDS} with dbt_project/seeds and
-- {SENSOR_READINGS} with the read of the sensor loads that the build's raw view uses
-- (citysafety.mart.build.raw_select: rows.parquet stores no per-file lineage), then
-- runs the statements in order on one connection to a new database file.
-- Kept like the models: the deduplicated readings are stored in time order, as
-- int_sensor_readings_deduplicated stores them.

-- ============================================================ streets

-- street spellings of every feed -> the eight streets (as int_street_values_mapped: an exact
-- match of the cleaned value with a cleaned spelling of the seed, else UNKNOWN)
create table street_map as
with delivered as (
    select street_raw from read_parquet('{RAW}/emb/accidents/*/rows.parquet', union_by_name = true)
    union select street_raw from read_parquet('{RAW}/fire/fires/*/rows.parquet', union_by_name = true)
    union select street_raw from read_parquet('{RAW}/traffic/road_accidents/*/rows.parquet', union_by_name = true)
    union select street_raw from read_parquet('{RAW}/emergency/resources/*/rows.parquet', union_by_name = true)
    union select street_raw from read_parquet('{RAW}/grid/hazard_reports/*/rows.parquet', union_by_name = true)
    union select street_raw from read_parquet('{RAW}/emb/enterprises/*/rows.parquet', union_by_name = true)
    union select street_raw from read_parquet('{RAW}/safety_office/risk_points/*/rows.parquet', union_by_name = true)
),
cleaned as (
    select distinct street_raw,
        regexp_replace(regexp_replace(regexp_replace(
            translate(street_raw,
                '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　 ',
                '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~  '),
            '\s+', '', 'g'), '^(浙江省)?(杭州市)?(下城区)?', ''), '(\(办事处\)|办事处|办)$', '') as street_clean
    from delivered
    where street_raw is not null
),
spellings as (
    select
        regexp_replace(regexp_replace(regexp_replace(
            translate(spelling,
                '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　 ',
                '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~  '),
            '\s+', '', 'g'), '^(浙江省)?(杭州市)?(下城区)?', ''), '(\(办事处\)|办事处|办)$', '') as street_clean,
        street_code
    from read_csv('{SEEDS}/street_spellings.csv', header = true, all_varchar = true)
),
exact as (
    select c.street_raw, min(s.street_code) as street_code, count(distinct s.street_code) as n_codes
    from cleaned as c join spellings as s on c.street_clean = s.street_clean
    group by c.street_raw
)
select
    c.street_raw,
    case when e.n_codes = 1 then e.street_code else 'UNKNOWN' end as street_code
from cleaned as c
left join exact as e on c.street_raw = e.street_raw;

-- the street of a unit by its credit code (as int_unit_streets_resolved over the registry's units
-- of int_enterprises_validated: per code, the unit of the latest snapshot first, then the latest
-- snapshot listing it, then the later line; a code's validity is the same on all its rows; a
-- code gone from the latest snapshot whose unit name is in it is the same unit, renamed code)
create table unit_streets as
with snapshot_rows as (
    select
        nullif(upper(regexp_replace(coalesce(uscc, ''), '[\s\x{3000}]', '', 'g')), '') as uscc_key,
        regexp_replace(unit_name, '[\s\x{3000}]', '', 'g') as name_clean,
        street_raw,
        coalesce(try_strptime(regexp_extract(_source_file, '(\d{8})', 1), '%Y%m%d')::date,
                 _loaded_at::date) as snapshot_date,
        _source_file as source_file,
        _row_number as source_row_number
    from read_parquet('{RAW}/emb/enterprises/*/rows.parquet', union_by_name = true)
),
latest_file as (
    select source_file
    from (select distinct source_file, snapshot_date from snapshot_rows)
    order by snapshot_date desc, source_file desc
    limit 1
),
flagged as (
    select r.*, r.source_file = l.source_file as in_latest
    from snapshot_rows as r cross join latest_file as l
),
units as (
    select * from flagged
    where in_latest
       or (uscc_key not in (select uscc_key from flagged where in_latest and uscc_key is not null)
           and name_clean not in (select name_clean from flagged where in_latest))
)
select
    u.uscc_key as uscc,
    arg_max(coalesce(m.street_code, 'UNKNOWN'),
            struct_pack(a := u.in_latest, d := u.snapshot_date, r := u.source_row_number)) as street_code
from units as u
left join street_map as m on u.street_raw = m.street_raw
where u.uscc_key is not null
group by u.uscc_key;

-- ============================================================ sensors

create table readings as
with delivered as (
    select
        point_id,
        ts as ts_utc,
        ts + interval 8 hour as ts_local,
        value,
        _source_file as source_file,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from ({SENSOR_READINGS})
),
latest as (
    select *, count(*) over (partition by point_id, ts_utc) as deliveries
    from delivered
    qualify row_number() over (
        partition by point_id, ts_utc
        order by loaded_at desc, source_file desc, source_row_number desc) = 1
)
select point_id, ts_utc, ts_local, value, deliveries::integer as deliveries,
       source_file, source_row_number, loaded_at
from latest
order by ts_utc, point_id;

create table points as
with snapshots as (
    select
        hazard_source_id,
        nullif(trim(uscc), '') as uscc,
        hazard_source_name,
        hazard_level,
        point_id,
        metric,
        unit,
        high_threshold::double as high_threshold,
        high_high_threshold::double as high_high_threshold,
        try_strptime(regexp_extract(_source_file, '(\d{8})', 1), '%Y%m%d')::date as snapshot_date,
        _source_file as source_file,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from read_parquet('{RAW}/emb/hazard_sources/*/rows.parquet', union_by_name = true)
),
latest_file as (
    select source_file, loaded_at
    from snapshots
    group by source_file, loaded_at, snapshot_date
    order by snapshot_date desc nulls last, source_file desc, loaded_at desc
    limit 1
)
select snapshots.*
from snapshots
join latest_file using (source_file, loaded_at)
qualify row_number() over (partition by point_id order by source_row_number desc) = 1;

create table point_days as
select
    r.point_id,
    r.ts_local::date as day,
    count(*)::integer as readings,
    (count(*) filter (where r.value > p.high_threshold))::integer as alarm_readings,
    min(r.ts_local) as first_reading_at,
    max(r.ts_local) as last_reading_at,
    min(r.value) as min_value,
    max(r.value) as max_value,
    any_value(p.high_threshold) as high_threshold
from readings as r
left join points as p on r.point_id = p.point_id
group by r.point_id, r.ts_local::date;

-- alarm episodes: gaps and islands over each point's readings
create table episodes as
with flagged as (
    select
        r.point_id, r.ts_local, r.value,
        r.value > p.high_threshold as alarming,
        row_number() over (partition by r.point_id order by r.ts_local) as reading_no,
        lead(r.ts_local) over (partition by r.point_id order by r.ts_local) as next_reading_at
    from readings as r
    join points as p on r.point_id = p.point_id
),
runs as (
    select *, reading_no - row_number() over (partition by point_id order by ts_local) as run_no
    from flagged
    where alarming
),
grouped as (
    select
        point_id,
        min(ts_local) as started_at,
        max(ts_local) as ended_at,
        count(*) as readings,
        max(value) as peak_value,
        case when count(next_reading_at) = count(*) then max(next_reading_at) end as cleared_at
    from runs
    group by point_id, run_no
)
select
    g.point_id || ':' || strftime(g.started_at, '%Y-%m-%dT%H:%M:%S') as episode_id,
    g.point_id, p.hazard_source_id, p.uscc, p.metric, p.unit,
    g.started_at, g.ended_at, g.cleared_at,
    g.readings::integer as readings,
    g.peak_value,
    p.high_threshold, p.high_high_threshold,
    coalesce(g.peak_value >= p.high_high_threshold, false) as reached_high_high,
    date_diff('second', g.started_at, g.ended_at) / 60.0 as duration_minutes,
    g.started_at::date as day,
    coalesce(us.street_code, 'UNKNOWN') as street_code
from grouped as g
join points as p on g.point_id = p.point_id
left join unit_streets as us on upper(regexp_replace(coalesce(p.uscc, ''), '[\s\x{3000}]', '', 'g')) = us.uscc;

create table sources as
select hazard_source_id, min(hazard_source_name) as hazard_source_name, min(uscc) as uscc,
       min(hazard_level) as hazard_level
from points
group by hazard_source_id;

create table alarms_daily as
with readings_daily as (
    select d.day, p.hazard_source_id,
           count(*) as points_reporting,
           sum(d.readings) as readings,
           sum(d.alarm_readings) as alarm_readings,
           count(*) filter (where d.alarm_readings > 0) as points_alarming
    from point_days as d
    join points as p on d.point_id = p.point_id
    group by d.day, p.hazard_source_id
),
episodes_daily as (
    select day, hazard_source_id, count(*) as episodes,
           count(*) filter (where reached_high_high) as high_high_episodes,
           max(duration_minutes) as longest_episode_minutes
    from episodes
    group by day, hazard_source_id
)
select
    coalesce(r.day, e.day) as day,
    s.hazard_source_id, s.hazard_source_name, s.uscc, s.hazard_level,
    coalesce(r.points_reporting, 0)::integer as points_reporting,
    coalesce(r.readings, 0)::bigint as readings,
    coalesce(r.alarm_readings, 0)::bigint as alarm_readings,
    coalesce(r.points_alarming, 0)::integer as points_alarming,
    coalesce(e.episodes, 0)::integer as episodes,
    coalesce(e.high_high_episodes, 0)::integer as high_high_episodes,
    e.longest_episode_minutes,
    coalesce(us.street_code, 'UNKNOWN') as street_code
from readings_daily as r
full join episodes_daily as e on r.day = e.day and r.hazard_source_id = e.hazard_source_id
join sources as s on s.hazard_source_id = coalesce(r.hazard_source_id, e.hazard_source_id)
left join unit_streets as us on upper(regexp_replace(coalesce(s.uscc, ''), '[\s\x{3000}]', '', 'g')) = us.uscc;

-- coverage: points with a reading in the 24 h before the latest reading
create table coverage as
with as_of as (
    select max(last_reading_at) as as_of_time from point_days
),
point_last as (
    select d.point_id, max(d.last_reading_at) as last_reading_at
    from point_days as d, as_of
    where d.last_reading_at <= as_of.as_of_time
    group by d.point_id
),
reporting as (
    select distinct d.point_id
    from point_days as d, as_of
    where d.last_reading_at > as_of.as_of_time - interval 24 hour
      and d.first_reading_at <= as_of.as_of_time
)
select
    p.hazard_source_id,
    any_value(s.hazard_source_name) as hazard_source_name,
    any_value(s.uscc) as uscc,
    any_value(s.hazard_level) as hazard_level,
    count(*)::integer as points,
    (count(*) filter (where r.point_id is not null))::integer as points_reporting_24h,
    ((count(*) filter (where r.point_id is not null)) / count(*))::double as coverage_24h,
    max(l.last_reading_at) as last_reading_at,
    any_value(as_of.as_of_time) as as_of_time,
    coalesce(any_value(us.street_code), 'UNKNOWN') as street_code
from points as p
left join reporting as r on p.point_id = r.point_id
left join point_last as l on p.point_id = l.point_id
join sources as s on p.hazard_source_id = s.hazard_source_id
cross join as_of
left join unit_streets as us on upper(regexp_replace(coalesce(s.uscc, ''), '[\s\x{3000}]', '', 'g')) = us.uscc
group by p.hazard_source_id;

-- ============================================================ headline KPI

create table accidents as
select *
from read_parquet('{RAW}/emb/accidents/*/rows.parquet', union_by_name = true)
qualify row_number() over (
    partition by accident_id
    order by reported_on desc, _source_file desc, _row_number desc) = 1;

create table fires as
select *, nullif(trim(uscc), '') as uscc_clean
from read_parquet('{RAW}/fire/fires/*/rows.parquet', union_by_name = true)
qualify row_number() over (
    partition by fire_id
    order by reported_at desc, _source_file desc, _row_number desc) = 1;

create table road_accidents as
select *
from read_parquet('{RAW}/traffic/road_accidents/*/rows.parquet', union_by_name = true)
qualify row_number() over (
    partition by accident_no
    order by reported_at desc, _source_file desc, _row_number desc) = 1;

create table economy as
with ranked as (
    select
        year::integer as year,
        gdp_100m_yuan::double as gdp_100m_yuan,
        data_status,
        row_number() over (
            partition by year
            order by (data_status = '最终核实') desc,
                     coalesce(try_strptime(regexp_extract(_source_file, '(\d{8})', 1), '%Y%m%d')::date,
                              _loaded_at::date) desc,
                     _source_file desc, _row_number desc) as version_rank
    from read_parquet('{RAW}/stats/economy/*/rows.parquet', union_by_name = true)
)
select year, gdp_100m_yuan, data_status from ranked where version_rank = 1;

-- one event reported by two departments counts once, under the other department's record
create table accidents_matched as
with by_reference as (
    select a.accident_id,
           case when f.fire_id is not null then 'fire'
                when r.accident_no is not null then 'traffic' end as department,
           coalesce(f.fire_id, r.accident_no) as record_id
    from accidents as a
    left join fires as f on nullif(trim(a.related_incident_id), '') = f.fire_id
    left join road_accidents as r on nullif(trim(a.related_incident_id), '') = r.accident_no
),
by_unit_and_date as (
    select a.accident_id, min(f.fire_id) as fire_id
    from accidents as a
    join fires as f
        on upper(trim(a.uscc)) = upper(f.uscc_clean)
        and a.occurred_at::date = f.occurred_at::date
    where a.accident_category = '火灾'
    group by a.accident_id
)
select a.*,
       coalesce(b.department, case when u.fire_id is not null then 'fire' end) as counted_under_department,
       coalesce(b.record_id, u.fire_id) as counted_under_record_id
from accidents as a
left join by_reference as b on a.accident_id = b.accident_id
left join by_unit_and_date as u on a.accident_id = u.accident_id;

create table casualty_events as
with links as (
    select counted_under_department as department, counted_under_record_id as record_id,
           string_agg(accident_id, ',' order by accident_id) as linked_emb_accident_ids
    from accidents_matched
    where counted_under_record_id is not null
    group by 1, 2
),
events as (
    select 'emb' as department, accident_id as source_record_id, occurred_at, street_raw,
           deaths, serious_injuries + minor_injuries as injuries, null as linked_emb_accident_ids
    from accidents_matched
    where counted_under_record_id is null
    union all
    select 'fire', f.fire_id, f.occurred_at, f.street_raw, f.deaths, f.injuries, l.linked_emb_accident_ids
    from fires as f
    left join links as l on l.department = 'fire' and f.fire_id = l.record_id
    union all
    select 'traffic', r.accident_no, r.occurred_at, r.street_raw, r.deaths_7d, r.injuries, l.linked_emb_accident_ids
    from road_accidents as r
    left join links as l on l.department = 'traffic' and r.accident_no = l.record_id
)
select e.department || ':' || e.source_record_id as event_id, e.department, e.source_record_id,
       e.occurred_at, year(e.occurred_at)::integer as year,
       coalesce(m.street_code, 'UNKNOWN') as street_code,
       e.deaths::integer as deaths, e.injuries::integer as injuries, e.linked_emb_accident_ids
from events as e
left join street_map as m on e.street_raw = m.street_raw;

create table kpi_safety_targets as
with deaths_by_year as (
    select year,
           sum(deaths) filter (where department = 'emb') as deaths_workplace,
           sum(deaths) filter (where department = 'fire') as deaths_fire,
           sum(deaths) filter (where department = 'traffic') as deaths_road,
           count(*) as events
    from casualty_events
    group by year
),
years as (
    select unnest(generate_series(
        least(2016, (select min(year) from deaths_by_year), (select min(year) from economy)),
        greatest(2020, (select max(year) from deaths_by_year), (select max(year) from economy)))) as year
),
rated as (
    select y.year,
           coalesce(d.deaths_workplace, 0) as deaths_workplace,
           coalesce(d.deaths_fire, 0) as deaths_fire,
           coalesce(d.deaths_road, 0) as deaths_road,
           coalesce(d.deaths_workplace, 0) + coalesce(d.deaths_fire, 0) + coalesce(d.deaths_road, 0) as deaths_total,
           coalesce(d.events, 0) as events,
           e.gdp_100m_yuan, e.data_status as gdp_status
    from years as y
    left join deaths_by_year as d on y.year = d.year
    left join economy as e on y.year = e.year
),
with_rate as (
    select *, deaths_total / nullif(gdp_100m_yuan, 0) as deaths_per_100m_gdp from rated
),
baseline as (
    select deaths_total as baseline_deaths, deaths_per_100m_gdp as baseline_rate
    from with_rate where year = 2016
)
select
    r.year::integer as year,
    r.deaths_workplace::integer as deaths_workplace,
    r.deaths_fire::integer as deaths_fire,
    r.deaths_road::integer as deaths_road,
    r.deaths_total::integer as deaths_total,
    r.events::integer as events,
    r.gdp_100m_yuan, r.gdp_status, r.deaths_per_100m_gdp,
    r.deaths_total / nullif(b.baseline_deaths, 0) - 1 as deaths_change_vs_2016,
    r.deaths_per_100m_gdp / nullif(b.baseline_rate, 0) - 1 as rate_change_vs_2016,
    b.baseline_deaths * (1 - 0.40) as deaths_target_2020,
    b.baseline_rate * (1 - 0.55) as rate_target_2020,
    r.deaths_total <= b.baseline_deaths * (1 - 0.40) as deaths_target_met,
    r.deaths_per_100m_gdp <= b.baseline_rate * (1 - 0.55) as rate_target_met
from with_rate as r
left join baseline as b on true
order by r.year;
