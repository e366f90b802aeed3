-- One row per alarm of the operations database and how it was responded to: notified (first
-- message sent), 签收, 到场, 处置完毕, 归档, escalated, and the minutes from the alarm being raised
-- to each step (int_alarm_responses_joined). An alarm not archived is open; its age is measured
-- at the as-of moment: now when the as-of date is today (the platform's builds), the end of the
-- as-of day when it is a past day (a rebuild as it stood then), never before the alarm was raised.
with

responses as (
    select * from {{ ref('int_alarm_responses_joined') }}
),

streets as (
    select * from {{ ref('dim_streets') }}
),

as_of as (
    select
        least(
            timezone('Asia/Shanghai', now())::timestamp,
            ({{ as_of_date() }} + interval 1 day)::timestamp
        ) as as_of_at
),

final as (
    select
        responses.alarm_id::bigint as alarm_id,
        responses.alarm_key::varchar as alarm_key,
        responses.hazard_source_id::varchar as hazard_source_id,
        responses.point_id::varchar as point_id,
        responses.grade::varchar as grade,
        responses.street_code::varchar as street_code,
        streets.street_name::varchar as street_name,
        responses.alarm_month::varchar as alarm_month,
        responses.status::varchar as status,
        responses.started_at::timestamp as started_at,
        responses.ended_at::timestamp as ended_at,
        responses.raised_at::timestamp as raised_at,
        responses.notified_at::timestamp as notified_at,
        responses.acknowledged_at::timestamp as acknowledged_at,
        responses.arrived_at::timestamp as arrived_at,
        responses.handled_at::timestamp as handled_at,
        responses.archived_at::timestamp as archived_at,
        responses.closed_at::timestamp as closed_at,
        responses.closed_by::varchar as closed_by,
        responses.notifications::integer as notifications,
        responses.notifications_sent::integer as notifications_sent,
        (responses.escalations > 0)::boolean as escalated,
        responses.escalations::integer as escalations,
        responses.escalated_at::timestamp as escalated_at,
        responses.minutes_to_raise::double as minutes_to_raise,
        responses.minutes_to_notify::double as minutes_to_notify,
        responses.minutes_to_acknowledge::double as minutes_to_acknowledge,
        responses.minutes_to_arrive::double as minutes_to_arrive,
        responses.minutes_to_close::double as minutes_to_close,
        responses.is_open::boolean as is_open,
        as_of.as_of_at::timestamp as as_of_at,
        case
            when responses.is_open
                then greatest(0, epoch(as_of.as_of_at) - epoch(responses.raised_at)) / 60.0
        end::double as open_age_minutes
    from responses
    cross join as_of
    left join streets on responses.street_code = streets.street_code
)

select * from final
