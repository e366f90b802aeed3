-- Every drill ever delivered, once: the monthly files list the drills of their month, and a
-- drill listed again in a later file is a correction, so the latest file wins (the month in its
-- name, then its name, then the line). A drill missing from later files stays: drills are the
-- union of all deliveries, not a current list.
with

drills as (
    select * from {{ ref('stg_emergency__drills') }}
),

latest as (
    -- one row per drill, from the latest file listing it (macros/latest_version.sql)
    {{ latest_version('drills', 'emergency__drills', file_date='list_month') }}
),

final as (
    select
        drill_id,
        plan_id,
        drilled_on,
        drill_form,
        participants,
        versions::integer as versions,
        source_file,
        source_row_number
    from latest
)

select * from final
