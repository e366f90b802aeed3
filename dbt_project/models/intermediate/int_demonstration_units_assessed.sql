-- One row per creating unit and quarterly snapshot: its stage, its scores as shares of the
-- full points, and the agreement's verdict (../shared/feeds/README.md, safety_office/
-- demonstration): a unit passes with at least 80 % of the full points overall and no criterion
-- of category B3 (隐患治理) under 60 % of its points. The rules are written here once:
--   - identity: 创建单位编号; the unit's name is its longest spelling in its latest snapshot
--     (天水街道武林门社区, not 武林门社区); its street is 所属街道 mapped exactly
--     (int_street_values_mapped), never a street named inside the unit's name, from the latest
--     snapshot that names a street;
--   - stages: a failed assessment (区级评估 or 复评) returning to 创建中 is real; any other step
--     back is a delivery error: it is flagged and the unit keeps the previous quarter's stage;
--   - scores: assessed when every criterion has 评估得分; a unit already 市级命名 or 复评 whose
--     评估得分 are missing is flagged and has no verdict (passed null).
with

criteria as (
    select * from {{ ref('int_demonstration_criteria_scored') }}
),

staged as (
    select * from {{ ref('stg_safety_office__demonstration') }}
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

unit_rows as (
    -- the unit's attributes in a quarter: from its full-name block when listed twice
    select
        snapshot_quarter,
        unit_id,
        arg_max(unit_name, struct_pack(n := length(unit_name), f := source_file, r := source_row_number)) as unit_name,
        arg_max(unit_tier, struct_pack(n := length(unit_name), f := source_file, r := source_row_number)) as unit_tier,
        arg_max(street_raw, struct_pack(n := length(unit_name), f := source_file, r := source_row_number)) as street_raw,
        arg_max(creation_type, struct_pack(n := length(unit_name), f := source_file, r := source_row_number)) as creation_type,
        arg_max(target_year, struct_pack(n := length(unit_name), f := source_file, r := source_row_number)) as target_year,
        arg_max(stage, struct_pack(n := length(unit_name), f := source_file, r := source_row_number)) as stage_delivered,
        arg_max(stage_date, struct_pack(n := length(unit_name), f := source_file, r := source_row_number)) as stage_date,
        count(distinct unit_name) as name_spellings
    from staged
    group by snapshot_quarter, unit_id
),

unit_streets as (
    select
        unit_rows.unit_id,
        arg_max(
            coalesce(streets.street_code, 'UNKNOWN'),
            struct_pack(k := coalesce(streets.street_code, 'UNKNOWN') != 'UNKNOWN', q := unit_rows.snapshot_quarter)
        ) as street_code,
        arg_max(unit_rows.unit_name, struct_pack(q := unit_rows.snapshot_quarter, n := length(unit_rows.unit_name)))
            as unit_name
    from unit_rows
    left join streets on unit_rows.street_raw = streets.street_raw
    group by unit_rows.unit_id
),

scores as (
    select
        snapshot_quarter,
        unit_id,
        count(*) as criteria,
        sum(full_points) as full_points,
        sum(self_points_counted) as self_points,
        sum(assessed_points_counted) as assessed_points,
        count(assessed_points_counted) as criteria_assessed,
        min(assessed_points_counted / nullif(full_points, 0)) filter (where criterion_category = 'B3')
            as b3_min_assessed_share,
        count(*) filter (where score_out_of_range) as scores_out_of_range,
        -- weakest criteria: under 60 % of their points, on the district's scores when assessed,
        -- else on the self-assessment
        count(*) filter (
            where coalesce(assessed_points_counted, self_points_counted) < 0.6 * full_points
        ) as weak_criteria_count,
        string_agg(
            criterion_id || ' ' || coalesce(criterion_name, '') || '（'
                || round(100 * coalesce(assessed_points_counted, self_points_counted) / nullif(full_points, 0))::integer::varchar
                || '%）',
            '；'
            order by coalesce(assessed_points_counted, self_points_counted) / nullif(full_points, 0), criterion_id
        ) filter (where coalesce(assessed_points_counted, self_points_counted) < 0.6 * full_points) as weak_criteria
    from criteria
    group by snapshot_quarter, unit_id
),

quartered as (
    select
        unit_rows.*,
        scores.* exclude (snapshot_quarter, unit_id),
        left(unit_rows.snapshot_quarter, 4)::integer as snapshot_year,
        right(unit_rows.snapshot_quarter, 1)::integer as quarter_of_year,
        list_position({{ demonstration_stages() }}, unit_rows.stage_delivered) as stage_delivered_order,
        lag(unit_rows.stage_delivered) over (partition by unit_rows.unit_id order by unit_rows.snapshot_quarter)
            as previous_stage_delivered
    from unit_rows
    inner join scores
        on unit_rows.snapshot_quarter = scores.snapshot_quarter
        and unit_rows.unit_id = scores.unit_id
),

staged_back as (
    select
        *,
        previous_stage_delivered in ('区级评估', '复评') and stage_delivered = '创建中' as is_failed_assessment,
        previous_stage_delivered = '复评' and stage_delivered = '创建中' as is_failed_reassessment,
        coalesce(
            stage_delivered_order < list_position({{ demonstration_stages() }}, previous_stage_delivered)
            and not (previous_stage_delivered in ('区级评估', '复评') and stage_delivered = '创建中'),
            false
        ) as is_stage_regression_flagged
    from quartered
),

final as (
    select
        staged_back.snapshot_quarter || ':' || staged_back.unit_id as unit_quarter_id,
        staged_back.unit_id,
        unit_streets.unit_name,
        staged_back.unit_tier,
        staged_back.creation_type,
        unit_streets.street_code,
        staged_back.target_year,
        staged_back.snapshot_quarter,
        staged_back.snapshot_year,
        staged_back.quarter_of_year,
        (make_date(staged_back.snapshot_year, 3 * staged_back.quarter_of_year, 1) + interval 1 month - interval 1 day)::date
            as quarter_end,
        case when staged_back.is_stage_regression_flagged then staged_back.previous_stage_delivered
            else staged_back.stage_delivered end as stage,
        list_position(
            {{ demonstration_stages() }},
            case when staged_back.is_stage_regression_flagged then staged_back.previous_stage_delivered
                else staged_back.stage_delivered end
        ) as stage_order,
        staged_back.stage_delivered,
        staged_back.stage_date,
        staged_back.is_stage_regression_flagged,
        staged_back.is_failed_assessment,
        staged_back.is_failed_reassessment,
        staged_back.criteria,
        staged_back.full_points,
        round(staged_back.self_points / nullif(staged_back.full_points, 0), 4) as self_share,
        case when staged_back.criteria_assessed = staged_back.criteria
            then round(staged_back.assessed_points / nullif(staged_back.full_points, 0), 4) end as assessed_share,
        case when staged_back.criteria_assessed = staged_back.criteria
            then round(staged_back.b3_min_assessed_share, 4) end as b3_min_assessed_share,
        case when staged_back.criteria_assessed = staged_back.criteria
            then staged_back.assessed_points / nullif(staged_back.full_points, 0) >= 0.8
                and coalesce(staged_back.b3_min_assessed_share, 1) >= 0.6
        end as passed,
        staged_back.criteria_assessed < staged_back.criteria
            and staged_back.stage_delivered in ('市级命名', '复评') as is_assessment_missing_flagged,
        staged_back.weak_criteria_count,
        staged_back.weak_criteria,
        staged_back.scores_out_of_range,
        staged_back.name_spellings
    from staged_back
    inner join unit_streets on staged_back.unit_id = unit_streets.unit_id
)

select * from final
