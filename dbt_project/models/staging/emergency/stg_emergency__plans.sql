with

source as (
    select * from {{ source('emergency', 'emergency__plans') }}
),

final as (
    select
        {{ delivered_row_id() }} as plan_row_id,
        plan_id,
        plan_name,
        tier,
        owner_unit,
        -- Empty only for the district plan (区级).
        nullif(trim(parent_plan_id), '') as parent_plan_id,
        published_on::date as published_on,
        revised_on::date as revised_on,
        -- The month the list describes (plans_YYYYMM.csv) orders the monthly full lists.
        {{ file_month() }} as list_month,
        {{ lineage_columns() }}
    from source
)

select * from final
