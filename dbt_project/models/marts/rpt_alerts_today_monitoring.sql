-- The 总览 page's alerts on monitored hazard sources, per street (of the unit operating the
-- source): sources whose 24-hour monitoring coverage is below 100 %, and alarm episodes with an
-- alarming reading in the 24 hours before the as-of time of marts.agg_monitoring_coverage (the
-- latest reading in the data, macros/as_of_time.sql), i.e. ended_at > as_of_time - 24 h.
-- One row per street of marts.dim_streets (UNKNOWN included); counts add up across streets.
with

coverage as (
    select * from {{ ref('agg_monitoring_coverage') }}
),

episodes as (
    select * from {{ ref('fct_sensor_alarm_episodes') }}
),

as_of as (
    select max(as_of_time) as as_of_time from coverage
),

streets as (
    {{ report_streets(['coverage', 'episodes']) }}
),

sources as (
    select
        street_code,
        count(*) as hazard_sources,
        count(*) filter (where coverage_24h < 1) as sources_below_full_coverage
    from coverage
    group by street_code
),

recent as (
    select
        episodes.street_code,
        count(*) as episodes_last_24h,
        count(*) filter (where episodes.reached_high_high) as high_high_episodes_last_24h,
        count(distinct episodes.hazard_source_id) as hazard_sources_alarming_last_24h
    from episodes, as_of
    where episodes.ended_at > as_of.as_of_time - interval 24 hour
    group by episodes.street_code
),

final as (
    select
        streets.street_code::varchar as street_code,
        coalesce(sources.hazard_sources, 0)::integer as hazard_sources,
        coalesce(sources.sources_below_full_coverage, 0)::integer as sources_below_full_coverage,
        case when as_of.as_of_time is not null then coalesce(recent.episodes_last_24h, 0) end::integer
            as episodes_last_24h,
        case when as_of.as_of_time is not null then coalesce(recent.high_high_episodes_last_24h, 0) end::integer
            as high_high_episodes_last_24h,
        case when as_of.as_of_time is not null then coalesce(recent.hazard_sources_alarming_last_24h, 0) end::integer
            as hazard_sources_alarming_last_24h,
        (as_of.as_of_time - interval 24 hour)::timestamp as window_start,
        as_of.as_of_time::timestamp as as_of_time
    from streets
    cross join as_of
    left join sources on streets.street_code = sources.street_code
    left join recent on streets.street_code = recent.street_code
)

select * from final
