-- A year arrives as 初步核算 and is later revised: 最终核实 wins, and among equal statuses the
-- newest file (date in its name), then the later row.
with

reports as (
    select * from {{ ref('stg_stats__economy') }}
),

ranked as (
    select
        *,
        -- the registry's latest_wins is data_status, its later choice wins (macros/latest_version.sql)
        row_number() over ({{ latest_version_window('stats__economy', file_date='file_date') }}) as version_rank
    from reports
),

-- Population and vehicles may be missing in the winning file: take them from the best
-- version that has them.
filled as (
    select
        year,
        arg_min(population_10k, version_rank) filter (where population_10k is not null)
            as population_10k,
        arg_min(vehicles_10k, version_rank) filter (where vehicles_10k is not null)
            as vehicles_10k
    from ranked
    group by year
),

final as (
    select
        ranked.year,
        ranked.gdp_100m_yuan,
        filled.population_10k,
        filled.vehicles_10k,
        ranked.data_status,
        ranked.file_date,
        ranked.source_file,
        ranked.source_row_number
    from ranked
    inner join filled on ranked.year = filled.year
    where ranked.version_rank = 1
)

select * from final
