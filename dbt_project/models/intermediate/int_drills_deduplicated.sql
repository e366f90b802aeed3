-- Every drill ever delivered, once: the monthly files list the drills of their month, and a
-- drill listed again in a later file is a correction, so the latest file wins (the month in its
-- name, then its name, then the line). A drill missing from later files stays: drills are the
-- union of all deliveries, not a current list.
with

drills as (
    select * from {{ ref('stg_emergency__drills') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by drill_id
            order by list_month desc, source_file desc, source_row_number desc
        ) as version_rank,
        count(*) over (partition by drill_id) as versions
    from drills
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
    from ranked
    where version_rank = 1
)

select * from final
