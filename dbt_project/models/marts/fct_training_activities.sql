-- One row per safety training or education activity, as int_trainings_deduplicated decides it
-- (one activity for two organisers' reports, online courses apart, 考核合格人数 capped).
with

activities as (
    select * from {{ ref('int_trainings_deduplicated') }}
),

streets as (
    select * from {{ ref('dim_streets') }}
),

final as (
    select
        activities.activity_id::varchar as activity_id,
        activities.reported_ids::varchar as reported_ids,
        activities.reports::integer as reports,
        activities.activity_date::date as activity_date,
        year(activities.activity_date)::integer as activity_year,
        activities.activity_type::varchar as activity_type,
        activities.is_online::boolean as is_online,
        activities.topic::varchar as topic,
        activities.organiser::varchar as organiser,
        activities.street_code::varchar as street_code,
        {{ report_street_name('activities.street_code', 'streets.street_name') }}::varchar as street_name,
        activities.audience::varchar as audience,
        activities.uscc::varchar as uscc,
        activities.attendances::bigint as attendances,
        activities.attendances_delivered::varchar as attendances_delivered,
        activities.attendances_approximate::boolean as attendances_approximate,
        -- online page views are never people reached
        (case when activities.is_online then 0 else coalesce(activities.attendances, 0) end)::bigint
            as people_reached,
        activities.passed::bigint as passed,
        activities.passed_exceeds_attendances::boolean as passed_exceeds_attendances,
        activities.hours::double as hours,
        activities.source_file::varchar as source_file,
        activities.source_row_number::integer as source_row_number
    from activities
    left join streets on activities.street_code = streets.street_code
)

select * from final
