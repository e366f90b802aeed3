-- One row per creating unit, quarterly snapshot and criterion. A quarter's snapshot may list a
-- unit twice (once under its full name, once under a short name) and a quarter's file may be
-- delivered again: per quarter, unit and criterion the registry's latest version wins
-- (citysafety/sources.py: key unit_id + criterion_id, the later file, then the later row).
-- Scores are read as shares of the criterion's full points, clamped to 0..满分: a score above
-- 满分 counts as 满分 and a negative one as 0, and both are flagged (score_out_of_range).
with

staged as (
    select * from {{ ref('stg_safety_office__demonstration') }}
),

deduplicated as (
    select
        *,
        count(*) over (partition by snapshot_quarter, {{ latest_version_key('safety_office__demonstration') | join(', ') }})
            as delivered_rows
    from staged
    qualify row_number() over (
        partition by snapshot_quarter, {{ latest_version_key('safety_office__demonstration') | join(', ') }}
        order by {{ latest_version_order('safety_office__demonstration') | join(', ') }}
    ) = 1
),

final as (
    select
        snapshot_quarter || ':' || unit_id || ':' || criterion_id as criterion_score_id,
        snapshot_quarter,
        unit_id,
        criterion_id,
        -- the category is the part before the dash (B3-2 is of B3, 隐患治理)
        regexp_extract(criterion_id, '^([^-]+)', 1) as criterion_category,
        criterion_name,
        full_points,
        self_points,
        assessed_points,
        -- (greatest and least skip nulls in DuckDB: a score not given stays null)
        case when self_points is not null then least(greatest(self_points, 0), full_points) end
            as self_points_counted,
        case when assessed_points is not null then least(greatest(assessed_points, 0), full_points) end
            as assessed_points_counted,
        coalesce(self_points < 0 or self_points > full_points, false)
            or coalesce(assessed_points < 0 or assessed_points > full_points, false) as score_out_of_range,
        delivered_rows,
        source_file,
        source_row_number
    from deduplicated
)

select * from final
