-- One row per hidden hazard found by grid workers, latest version, with the flags the safety
-- office reads: rectified, open, overdue (not rectified by its deadline, as of the as-of date)
-- and 重大 hazards not listed for supervision (挂牌督办).
with

hazards as (
    select * from {{ ref('int_hazard_reports_deduplicated') }}
),

flagged as (
    select
        *,
        rectified_on is not null or coalesce(status in ('已整改', '已销号'), false) as is_rectified,
        level = '重大' as is_major
    from hazards
),

final as (
    select
        report_id::varchar as report_id,
        found_on::date as found_on,
        year(found_on)::integer as year,
        street_code::varchar as street_code,
        community::varchar as community,
        grid_code::varchar as grid_code,
        uscc::varchar as uscc,
        level::varchar as level,
        coalesce(is_major, false)::boolean as is_major,
        deadline::date as deadline,
        rectified_on::date as rectified_on,
        status::varchar as status,
        is_rectified::boolean as is_rectified,
        (not is_rectified)::boolean as is_open,
        -- Overdue: rectified after the deadline, or still open after it as of the as-of date.
        -- A hazard marked rectified without a date cannot be shown late, so it is not overdue.
        (
            deadline is not null
            and (
                (rectified_on is not null and rectified_on > deadline)
                or (not is_rectified and {{ as_of_date() }} > deadline)
            )
        )::boolean as is_overdue,
        (rectified_on - found_on)::integer as days_to_rectify,
        supervised::boolean as supervised,
        (coalesce(is_major, false) and not coalesce(supervised, false))::boolean as major_not_supervised,
        updated_at::timestamp as updated_at,
        source_file::varchar as source_file
    from flagged
)

select * from final
