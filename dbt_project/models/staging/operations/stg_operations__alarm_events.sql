-- One row per accepted change of an alarm's state (the audit of citysafety.act.store): renames
-- only. Who acted, with which scope, from which address and with which note are not copied.
with

source as (
    select * from {{ source('operations', 'alarm_events') }}
),

final as (
    select
        id::bigint as event_id,
        alarm_id::bigint as alarm_id,
        action,
        from_status,
        to_status,
        "at" as event_at
    from source
)

select * from final
