-- One row per alarm of the operations database (citysafety.act.store), as copied into the build
-- copy: renames and casts only. Times are Asia/Shanghai wall time.
with

source as (
    select * from {{ source('operations', 'alarms') }}
),

final as (
    select
        id::bigint as alarm_id,
        alarm_key,
        hazard_source_id,
        point_id,
        nullif(trim(street_code), '') as street_code,
        nullif(trim(grade), '') as grade,
        status,
        started_at,
        ended_at,
        created_at as raised_at,
        updated_at,
        acknowledged_at,
        arrived_at,
        handled_at,
        archived_at
    from source
)

select * from final
