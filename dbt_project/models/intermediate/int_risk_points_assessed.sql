-- The inventory is a quarterly full snapshot; the latest snapshot (quarter in the file name,
-- then file name) is the current inventory. One row per risk point of it, with L x S
-- recomputed and checked against the delivered 风险值 and 风险等级 (the level follows the
-- value: 20-25 红, 15-16 橙, 9-12 黄, 1-8 蓝). Inconsistent rows are flagged with the reason
-- and kept; a point listed twice in one snapshot keeps its last row and says so.
with

snapshot_rows as (
    -- a snapshot re-sent under its name with other bytes replaces its earlier version
    select * from {{ ref('stg_safety_office__risk_points') }}
    where is_latest_file_version
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

latest_file as (
    select source_file
    from snapshot_rows
    order by snapshot_quarter desc, source_file desc
    limit 1
),

latest_file_rows as (
    select snapshot_rows.*
    from snapshot_rows
    inner join latest_file on snapshot_rows.source_file = latest_file.source_file
),

latest as (
    -- a point listed twice in the snapshot: its last line wins (macros/latest_version.sql)
    {{ latest_version('latest_file_rows', 'safety_office__risk_points', file_date='snapshot_quarter', versions_as='delivered_rows') }}
),

computed as (
    select
        *,
        likelihood * severity as risk_value_computed,
        coalesce(likelihood between 1 and 5, false) as likelihood_in_range,
        coalesce(severity between 1 and 5, false) as severity_in_range,
        -- The delivered level, read leniently (红色 / 重大风险 count as 红).
        case
            when left(risk_level, 1) in ('红', '橙', '黄', '蓝') then left(risk_level, 1)
            when risk_level like '重大%' then '红'
            when risk_level like '较大%' then '橙'
            when risk_level like '一般%' then '黄'
            when risk_level like '低%' then '蓝'
        end as risk_level_read
    from latest
),

levelled as (
    select
        *,
        case
            when risk_value_computed between 20 and 25 then '红'
            when risk_value_computed between 15 and 16 then '橙'
            when risk_value_computed between 9 and 12 then '黄'
            when risk_value_computed between 1 and 8 then '蓝'
        end as risk_level_computed
    from computed
),

checked as (
    select
        *,
        coalesce(risk_value = risk_value_computed, false) as value_consistent,
        coalesce(risk_level_read = risk_level_computed, false) as level_consistent
    from levelled
),

flagged as (
    select
        *,
        nullif(concat_ws('; ',
            case
                when likelihood is null then '可能性L missing'
                when not likelihood_in_range then '可能性L ' || likelihood || ' outside 1-5'
            end,
            case
                when severity is null then '严重性S missing'
                when not severity_in_range then '严重性S ' || severity || ' outside 1-5'
            end,
            case
                when value_consistent then null
                when risk_value is null then '风险值 missing'
                when risk_value_computed is null then null
                else '风险值 ' || risk_value || ' != L×S ' || risk_value_computed
            end,
            case
                when level_consistent then null
                when risk_level is null then '风险等级 missing'
                when risk_level_computed is null then '风险等级 ' || risk_level || ' cannot be checked'
                else '风险等级 ' || risk_level || ', L×S ' || risk_value_computed || ' gives ' || risk_level_computed
            end,
            case when delivered_rows > 1 then 'listed ' || delivered_rows || ' times in the snapshot' end
        ), '') as flag_reason,
        -- the same checks, in Chinese (the 风险 page shows them), separated by '；'
        nullif(concat_ws('；',
            case
                when likelihood is null then '可能性L缺失'
                when not likelihood_in_range then '可能性L为' || likelihood || '，超出1–5'
            end,
            case
                when severity is null then '严重性S缺失'
                when not severity_in_range then '严重性S为' || severity || '，超出1–5'
            end,
            case
                when value_consistent then null
                when risk_value is null then '风险值缺失'
                when risk_value_computed is null then null
                else '上报风险值' || risk_value || ' ≠ L×S=' || risk_value_computed
            end,
            case
                when level_consistent then null
                when risk_level is null then '风险等级缺失'
                when risk_level_computed is null then '上报风险等级“' || risk_level || '”无法核对（L或S无效）'
                else '上报风险等级“' || risk_level || '”，按L×S=' || risk_value_computed || '应为“' || risk_level_computed || '”'
            end,
            case when delivered_rows > 1 then '清单中重复出现' || delivered_rows || '次（以最后一行为准）' end
        ), '') as flag_reason_zh
    from checked
),

final as (
    select
        flagged.risk_point_id,
        flagged.risk_point_name,
        coalesce(streets.street_code, 'UNKNOWN') as street_code,
        flagged.street_raw,
        flagged.risk_category,
        flagged.likelihood,
        flagged.severity,
        flagged.risk_value,
        flagged.risk_value_computed,
        flagged.risk_level,
        flagged.risk_level_computed,
        -- The level the district counts: from L x S when both are in 1-5, else as delivered.
        case
            when flagged.likelihood_in_range and flagged.severity_in_range then flagged.risk_level_computed
            else flagged.risk_level_read
        end as risk_level_effective,
        flagged.value_consistent,
        flagged.level_consistent,
        flagged.flag_reason is not null as flagged,
        flagged.flag_reason,
        flagged.flag_reason_zh,
        flagged.responsible_unit,
        flagged.assessed_on,
        flagged.snapshot_quarter,
        flagged.delivered_rows::integer as delivered_rows,
        flagged.source_file,
        flagged.source_row_number
    from flagged
    left join streets on flagged.street_raw = streets.street_raw
)

select * from final
