-- One row per message of the notification outbox (citysafety.act.outbox): renames only.
-- Recipients, endpoints, payloads and errors are not copied.
with

source as (
    select * from {{ source('operations', 'notifications') }}
),

final as (
    select
        id::bigint as notification_id,
        alarm_id::bigint as alarm_id,
        channel,
        status,
        attempts::integer as attempts,
        created_at as enqueued_at,
        sent_at
    from source
)

select * from final
