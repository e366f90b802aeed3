-- One row per casualty event across the three departments that report them, each event
-- counted once: an emb accident that another department also reported lives on as that
-- department's record (its id kept in linked_emb_accident_ids).
with

accidents as (
    select * from {{ ref('int_accidents_matched') }}
),

fires as (
    select * from {{ ref('int_fires_deduplicated') }}
),

road_accidents as (
    select * from {{ ref('int_road_accidents_deduplicated') }}
),

streets as (
    select * from {{ ref('streets') }}
),

links as (
    select
        counted_under_department as department,
        counted_under_record_id as record_id,
        string_agg(accident_id, ',' order by accident_id) as linked_emb_accident_ids
    from accidents
    where counted_under_record_id is not null
    group by 1, 2
),

emb_events as (
    select
        'emb' as department,
        '{{ casualty_departments()['emb'] }}' as department_name,
        accident_id as source_record_id,
        occurred_at,
        street_code,
        deaths,
        serious_injuries + minor_injuries as injuries,
        direct_loss_10k_yuan,
        accident_category as category,
        null as linked_emb_accident_ids,
        reported_on::timestamp as reported_at,
        source_file,
        source_row_number
    from accidents
    where counted_under_record_id is null
),

fire_events as (
    select
        'fire' as department,
        '{{ casualty_departments()['fire'] }}' as department_name,
        fires.fire_id as source_record_id,
        fires.occurred_at,
        fires.street_code,
        fires.deaths,
        fires.injuries,
        fires.direct_loss_10k_yuan,
        fires.place_type as category,
        links.linked_emb_accident_ids,
        fires.reported_at,
        fires.source_file,
        fires.source_row_number
    from fires
    left join links on links.department = 'fire' and fires.fire_id = links.record_id
),

road_events as (
    select
        'traffic' as department,
        '{{ casualty_departments()['traffic'] }}' as department_name,
        road_accidents.accident_no as source_record_id,
        road_accidents.occurred_at,
        road_accidents.street_code,
        road_accidents.deaths,
        road_accidents.injuries,
        null::double as direct_loss_10k_yuan,
        '道路交通事故' as category,
        links.linked_emb_accident_ids,
        road_accidents.reported_at,
        road_accidents.source_file,
        road_accidents.source_row_number
    from road_accidents
    left join links
        on links.department = 'traffic' and road_accidents.accident_no = links.record_id
),

events as (
    select * from emb_events
    union all
    select * from fire_events
    union all
    select * from road_events
),

final as (
    select
        (events.department || ':' || events.source_record_id)::varchar as event_id,
        events.department::varchar as department,
        events.department_name::varchar as department_name,
        events.source_record_id::varchar as source_record_id,
        events.occurred_at::timestamp as occurred_at,
        events.occurred_at::date as occurred_on,
        year(events.occurred_at)::integer as year,
        events.street_code::varchar as street_code,
        streets.street_name::varchar as street_name,
        events.deaths::integer as deaths,
        events.injuries::integer as injuries,
        events.direct_loss_10k_yuan::double as direct_loss_10k_yuan,
        events.category::varchar as category,
        events.linked_emb_accident_ids::varchar as linked_emb_accident_ids,
        events.reported_at::timestamp as reported_at,
        events.source_file::varchar as source_file,
        events.source_row_number::integer as source_row_number
    from events
    left join streets on events.street_code = streets.street_code
)

select * from final
