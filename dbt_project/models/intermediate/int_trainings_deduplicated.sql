-- One row per training or education activity. Per 活动编号 the registry's latest version wins
-- (citysafety/sources.py: the later file, then the later row). The same activity reported by
-- two organisers under two ids - same date, same topic, same street, both offline - counts
-- once: the report listed first (earliest list, then the smallest id) stands for it and the
-- other ids are kept beside it. Online courses (线上课程) are never merged with anything: their
-- 参加人次 are page views. An empty 所属街道 is a district-wide (or online) activity: ALL; a
-- street value that names no street is UNKNOWN. 考核合格人数 above 参加人次 counts as 参加人次
-- and is flagged.
with

activities as (
    {{ latest_version(ref('stg_emb__trainings'), 'emb__trainings', file_date='list_month', versions_as='versions') }}
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

placed as (
    select
        activities.*,
        activities.activity_type = '线上课程' as is_online,
        case
            when nullif(trim(activities.street_raw), '') is null then 'ALL'
            else coalesce(streets.street_code, 'UNKNOWN')
        end as street_code
    from activities
    left join streets on activities.street_raw = streets.street_raw
),

grouped as (
    select
        *,
        -- offline reports of one date, topic and street are one activity
        case
            when is_online or topic is null then activity_id
            else activity_date::varchar || '|' || topic || '|' || street_code
        end as activity_group
    from placed
),

ranked as (
    select
        *,
        -- the report listed first stands for the activity (versions of one id are already
        -- resolved above, by the registry's rule)
        first_value(activity_id) over (partition by activity_group order by list_month, activity_id)
            as standing_id,
        count(*) over (partition by activity_group) as reports,
        string_agg(activity_id, '、' order by list_month, activity_id) over (partition by activity_group)
            as reported_ids
    from grouped
),

final as (
    select
        activity_id,
        case when reports > 1 then reported_ids end as reported_ids,
        reports,
        activity_date,
        activity_type,
        is_online,
        topic,
        organiser,
        street_code,
        street_raw,
        audience,
        uscc,
        attendances,
        attendances_delivered,
        attendances_approximate,
        case when passed is not null then least(passed, attendances) end as passed,
        passed as passed_delivered,
        coalesce(passed > attendances, false) as passed_exceeds_attendances,
        hours,
        versions,
        source_file,
        source_row_number
    from ranked
    where activity_id = standing_id
)

select * from final
