-- One row per alarm of the operations database with what its response figures need: the street
-- it counts under (the eight streets, UNKNOWN when none or another value), its grade (未分级 when
-- none), its first notification sent, its escalations (audit rows with action 升级) and the
-- minutes from the alarm being raised to each step. No "now" here: the as-of age of an open
-- alarm is marts.fct_alarm_responses'.
with

alarms as (
    select * from {{ ref('stg_operations__alarms') }}
),

notifications as (
    select
        alarm_id,
        count(*) as notifications,
        count(*) filter (where status = 'sent') as notifications_sent,
        min(sent_at) filter (where status = 'sent') as notified_at
    from {{ ref('stg_operations__notifications') }}
    where alarm_id is not null
    group by alarm_id
),

escalations as (
    select
        alarm_id,
        count(*) as escalations,
        min(event_at) as escalated_at
    from {{ ref('stg_operations__alarm_events') }}
    where action = '升级'
    group by alarm_id
),

final as (
    select
        alarms.alarm_id,
        alarms.alarm_key,
        alarms.hazard_source_id,
        alarms.point_id,
        coalesce(alarms.grade, '未分级') as grade,
        case
            when list_contains({{ street_codes() }}, alarms.street_code) then alarms.street_code
            else 'UNKNOWN'
        end as street_code,
        strftime(alarms.started_at, '%Y-%m') as alarm_month,
        alarms.status,
        alarms.started_at,
        alarms.ended_at,
        alarms.raised_at,
        notifications.notified_at,
        alarms.acknowledged_at,
        alarms.arrived_at,
        alarms.handled_at,
        alarms.archived_at,
        -- 闭环: 处置完毕 ends the response; 归档 only files it. An alarm archived without a
        -- handling time (not possible through the store's state machine) closes at 归档.
        coalesce(alarms.handled_at, alarms.archived_at) as closed_at,
        case
            when alarms.handled_at is not null then '处置完毕'
            when alarms.archived_at is not null then '归档'
        end as closed_by,
        coalesce(notifications.notifications, 0) as notifications,
        coalesce(notifications.notifications_sent, 0) as notifications_sent,
        coalesce(escalations.escalations, 0) as escalations,
        escalations.escalated_at,
        alarms.status != '已归档' as is_open
    from alarms
    left join notifications on alarms.alarm_id = notifications.alarm_id
    left join escalations on alarms.alarm_id = escalations.alarm_id
)

select
    *,
    (epoch(raised_at) - epoch(started_at)) / 60.0 as minutes_to_raise,
    (epoch(notified_at) - epoch(raised_at)) / 60.0 as minutes_to_notify,
    (epoch(acknowledged_at) - epoch(raised_at)) / 60.0 as minutes_to_acknowledge,
    (epoch(arrived_at) - epoch(raised_at)) / 60.0 as minutes_to_arrive,
    (epoch(closed_at) - epoch(raised_at)) / 60.0 as minutes_to_close
from final
