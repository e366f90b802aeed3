-- One event reported by two departments counts once (the agreement's rule): an emb accident
-- whose 关联事故编号 names a delivered fire or road accident, or an emb accident of category 火灾
-- with the same unit code and the same date as a delivered fire, is that event, and its
-- deaths are counted under the other department's record.
with

accidents as (
    select * from {{ ref('int_accidents_deduplicated') }}
),

fires as (
    select fire_id, occurred_on, upper(uscc) as uscc
    from {{ ref('int_fires_deduplicated') }}
),

road_accidents as (
    select accident_no from {{ ref('int_road_accidents_deduplicated') }}
),

by_reference as (
    select
        accidents.accident_id,
        case
            when fires.fire_id is not null then 'fire'
            when road_accidents.accident_no is not null then 'traffic'
        end as matched_department,
        coalesce(fires.fire_id, road_accidents.accident_no) as matched_record_id
    from accidents
    left join fires on accidents.related_incident_id = fires.fire_id
    left join road_accidents on accidents.related_incident_id = road_accidents.accident_no
),

by_unit_and_date as (
    select
        accidents.accident_id,
        min(fires.fire_id) as fire_id
    from accidents
    inner join fires
        on
            upper(trim(accidents.uscc)) = fires.uscc
            and accidents.occurred_on = fires.occurred_on
    where accidents.accident_category = '火灾'
    group by accidents.accident_id
),

final as (
    select
        accidents.*,
        coalesce(
            by_reference.matched_department,
            case when by_unit_and_date.fire_id is not null then 'fire' end
        ) as counted_under_department,
        coalesce(by_reference.matched_record_id, by_unit_and_date.fire_id)
            as counted_under_record_id,
        case
            when by_reference.matched_record_id is not null then 'related_id'
            when by_unit_and_date.fire_id is not null then 'fire_unit_and_date'
        end as match_rule
    from accidents
    left join by_reference on accidents.accident_id = by_reference.accident_id
    left join by_unit_and_date on accidents.accident_id = by_unit_and_date.accident_id
)

select * from final
