-- The current emergency plans, each followed up its chain of parents (上级预案编号) by a
-- recursive walk. A plan reaches the district plan when the walk ends at a 区级 plan. The walk
-- stops, and the plan does not reach it, at a parent that is not on the current list
-- (上级预案不存在), at a plan already on its path (循环引用), or at a plan without a parent that
-- is not 区级 (未衔接到区级预案). A plan whose chain runs into a broken link carries that issue.
--
-- Current list: every monthly file is the full list, so the latest file the ingest loaded (by
-- the month in its name, then its name) is the current list, and a plan missing from it is no
-- longer current (withdrawn). A file rejected as a whole, or empty, does not replace the list;
-- a re-sent copy of an earlier file stands for that file. A plan whose line in the current list
-- was quarantined (unreadable date, wrong column count) is still on the list: its latest loaded
-- version is carried forward (carried_forward), so that one bad line neither drops the plan nor
-- breaks the chains of the plans below it.
--
-- Street (street_code): district (区级) and department (部门) plans belong to the whole district,
-- 'ALL'. Any other plan belongs to the street of the nearest plan on its chain (the plan itself
-- first) whose 编制单位, cleaned as delivered streets are (macros/clean_street.sql), is an
-- accepted spelling of a street (seed street_spellings, or a street's full name) or starts with
-- one: 武林街道办事处 and 武林街道竹竿巷社区居委会 are WL, 天水街道武林门社区居委会 is TS. A street's
-- bare short name (武林) counts only as the whole owner, never as a beginning: 武林门社区居委会
-- is a community of 天水街道, not of 武林 (and no name is searched for inside an owner). A plan
-- whose chain reaches no such owner is 'UNKNOWN'.
with recursive

plans as (
    -- a list re-sent under its name with other bytes replaces its earlier version
    select * from {{ ref('stg_emergency__plans') }}
    where is_latest_file_version
),

deliveries as (
    select * from {{ ref('stg_emergency__deliveries') }}
    where feed = 'plans'
),

quarantined as (
    {{ emergency_quarantined_lines_counted('plans') }}
),

streets as (
    select * from {{ ref('streets') }}
    where street_code != 'UNKNOWN'
),

spellings as (
    -- every accepted spelling, cleaned; a bare short name matches only a whole owner
    select
        cleaned.spelling_clean,
        cleaned.street_code,
        cleaned.spelling_clean not in (select streets.short_name from streets) as may_begin_owner
    from (
        select {{ clean_street('spelling') }} as spelling_clean, street_code
        from {{ ref('street_spellings') }}
        union
        select {{ clean_street('street_name') }} as spelling_clean, street_code
        from streets
    ) as cleaned
    where cleaned.spelling_clean != ''
),

latest_list as (
    -- A re-sent copy stands for its original, if that one loaded rows.
    select coalesce(deliveries.duplicate_of, deliveries.file_name) as list_file
    from deliveries
    inner join deliveries as original
        on coalesce(deliveries.duplicate_of, deliveries.file_name) = original.file_name
        and original.status in ('loaded', 'partial')
    where deliveries.status in ('loaded', 'partial', 'duplicate')
    order by deliveries.list_month desc, deliveries.file_name desc, deliveries.loaded_at desc
    limit 1
),

listed as (
    select plans.plan_id
    from plans
    inner join latest_list on plans.source_file = latest_list.list_file
    union
    select quarantined.record_id as plan_id
    from quarantined
    inner join latest_list on quarantined.file_name = latest_list.list_file
    where quarantined.record_id is not null
),

ranked as (
    select
        plans.*,
        plans.source_file = latest_list.list_file as in_latest_list,
        row_number() over (
            partition by plans.plan_id
            order by
                plans.source_file = latest_list.list_file desc,
                plans.list_month desc,
                plans.source_file desc,
                plans.source_row_number desc
        ) as version_rank
    from plans
    cross join latest_list
    inner join listed on plans.plan_id = listed.plan_id
),

current_plans as (
    select * from ranked
    where version_rank = 1
),

owner_streets as (
    -- the street whose spelling the owner is or begins with; an owner matching two streets: none
    select
        owners.plan_id,
        case when count(distinct spellings.street_code) = 1 then min(spellings.street_code) end
            as street_code
    from (
        select plan_id, {{ clean_street('owner_unit') }} as owner_clean
        from current_plans
    ) as owners
    inner join spellings
        on owners.owner_clean = spellings.spelling_clean
        or (spellings.may_begin_owner and starts_with(owners.owner_clean, spellings.spelling_clean))
    group by owners.plan_id
),

walk as (
    select
        plan_id as start_plan_id,
        plan_id as node_id,
        [plan_id] as path,
        0 as steps,
        false as looped
    from current_plans
    union all
    select
        walk.start_plan_id,
        node.parent_plan_id as node_id,
        list_append(walk.path, node.parent_plan_id) as path,
        walk.steps + 1 as steps,
        list_contains(walk.path, node.parent_plan_id) as looped
    from walk
    inner join current_plans as node on walk.node_id = node.plan_id
    where node.parent_plan_id is not null and not walk.looped
),

walk_ends as (
    select * from walk
    qualify row_number() over (partition by start_plan_id order by steps desc) = 1
),

path_nodes as (
    select
        walk_ends.start_plan_id as plan_id,
        nodes.node_id,
        nodes.pos
    from walk_ends, unnest(walk_ends.path) with ordinality as nodes (node_id, pos)
),

chain_streets as (
    select
        path_nodes.plan_id,
        arg_min(owner_streets.street_code, path_nodes.pos) as street_code
    from path_nodes
    inner join owner_streets on path_nodes.node_id = owner_streets.plan_id
    where owner_streets.street_code is not null
    group by path_nodes.plan_id
),

linked as (
    select
        walk_ends.start_plan_id as plan_id,
        walk_ends.path,
        walk_ends.steps,
        walk_ends.node_id as chain_top_plan_id,
        case
            when walk_ends.looped then '循环引用'
            when chain_top.plan_id is null then '上级预案不存在'
            when chain_top.tier = '区级' then null
            else '未衔接到区级预案'
        end as link_issue
    from walk_ends
    left join current_plans as chain_top on walk_ends.node_id = chain_top.plan_id
),

final as (
    select
        current_plans.plan_id,
        current_plans.plan_name,
        current_plans.tier,
        current_plans.owner_unit,
        current_plans.parent_plan_id,
        linked.link_issue is null as reaches_district_plan,
        linked.link_issue,
        case when linked.link_issue is null then linked.steps end as depth,
        array_to_string(list_reverse(linked.path), ' > ') as chain,
        linked.chain_top_plan_id,
        case
            when current_plans.tier in ('区级', '部门') then 'ALL'
            else coalesce(chain_streets.street_code, 'UNKNOWN')
        end as street_code,
        current_plans.published_on,
        current_plans.revised_on,
        not current_plans.in_latest_list as carried_forward,
        current_plans.list_month,
        current_plans.source_file,
        current_plans.source_row_number
    from current_plans
    inner join linked on current_plans.plan_id = linked.plan_id
    left join chain_streets on current_plans.plan_id = chain_streets.plan_id
)

select * from final
