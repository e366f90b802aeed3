-- The registry is a monthly full snapshot and the latest snapshot is the truth. One row per
-- unit: every unit of the latest snapshot (active), plus every unit an earlier snapshot listed
-- that the latest one no longer does (closed), with the values of the last snapshot listing it.
--
-- Codes are checked per GB 32100-2015 (macros/uscc.sql) after upper-casing and removing spaces;
-- invalid and empty codes are flagged (uscc_valid, uscc_issue) and the unit is kept.
--
-- Unit identity: a valid code identifies its unit (its name may change). Without a valid code
-- (empty, malformed, wrong check character), or when a valid code is used by units of
-- different names in one snapshot, the key is a surrogate 'X-' || md5(code | name)[1:16]: stable
-- for as long as the bureau delivers the same code and name. An earlier unit is still present
-- (not closed) when the latest snapshot has its valid code, or a unit of exactly its name (a
-- code corrected or broken since then is the same unit).
with

snapshot_rows as (
    -- a snapshot re-sent under its name with other bytes replaces its earlier version
    select * from {{ ref('stg_emb__enterprises') }}
    where is_latest_file_version
),

streets as (
    select * from {{ ref('int_street_values_mapped') }}
),

normalised as (
    select
        *,
        {{ uscc_key('uscc') }} as uscc_clean,
        regexp_replace(unit_name, '[\s\x{3000}]', '', 'g') as unit_name_clean
    from snapshot_rows
),

checked as (
    select
        *,
        {{ uscc_is_valid('uscc_clean') }} as uscc_valid,
        {{ uscc_issue('uscc_clean') }} as uscc_check_issue
    from normalised
),

files as (
    select
        source_file,
        snapshot_date,
        row_number() over (order by snapshot_date desc, source_file desc) as file_rank
    from (select distinct source_file, snapshot_date from checked)
),

shared_codes as (
    -- A valid code carried by units of different names in one snapshot identifies none of them.
    select source_file, uscc_clean, count(distinct unit_name_clean) as units_sharing
    from checked
    where uscc_valid
    group by source_file, uscc_clean
    having count(distinct unit_name_clean) > 1
),

keyed as (
    select
        checked.*,
        files.file_rank,
        shared_codes.units_sharing,
        case
            when checked.uscc_valid and shared_codes.uscc_clean is null then checked.uscc_clean
            else 'X-' || left(md5(coalesce(checked.uscc_clean, '') || '|' || checked.unit_name_clean), 16)
        end as unit_key,
        case
            when checked.uscc_valid then checked.uscc_clean
            else 'X-' || left(md5(coalesce(checked.uscc_clean, '') || '|' || checked.unit_name_clean), 16)
        end as match_key
    from checked
    inner join files on checked.source_file = files.source_file
    left join shared_codes
        on checked.source_file = shared_codes.source_file
        and checked.uscc_clean = shared_codes.uscc_clean
),

first_seen as (
    select match_key, min(snapshot_date) as first_seen_on
    from keyed
    group by match_key
),

latest as (
    select
        *,
        true as is_active,
        cast(null as date) as missing_since,
        count(*) over (partition by unit_key) as delivered_rows,
        row_number() over (partition by unit_key order by source_row_number desc) as row_rank
    from keyed
    where file_rank = 1
),

gone as (
    -- Rows of earlier snapshots whose unit the latest snapshot no longer lists.
    select
        *,
        min(file_rank) over (partition by match_key) as last_rank
    from keyed
    where file_rank > 1
        and match_key not in (select match_key from keyed where file_rank = 1)
        and unit_name_clean not in (select unit_name_clean from keyed where file_rank = 1)
),

closed as (
    select
        gone.* exclude (last_rank),
        false as is_active,
        next_file.snapshot_date as missing_since,
        count(*) over (partition by gone.unit_key) as delivered_rows,
        row_number() over (partition by gone.unit_key order by gone.source_row_number desc) as row_rank
    from gone
    inner join files as next_file on next_file.file_rank = gone.file_rank - 1
    where gone.file_rank = gone.last_rank
),

units as (
    select * from latest where row_rank = 1
    union all by name
    select * from closed where row_rank = 1
),

final as (
    select
        units.unit_key as enterprise_key,
        units.uscc_clean as uscc,
        units.uscc as uscc_delivered,
        units.uscc_valid,
        coalesce(
            units.uscc_check_issue,
            case when units.units_sharing > 1
                then 'code used by ' || units.units_sharing || ' units of different names in the snapshot'
            end
        ) as uscc_issue,
        units.unit_name,
        coalesce(streets.street_code, 'UNKNOWN') as street_code,
        units.street_raw,
        units.industry,
        units.employees,
        units.above_scale,
        units.standardisation_grade,
        units.insured,
        units.insurance_expires_on,
        {{ insurance_current('units.insured', 'units.insurance_expires_on', 'units.snapshot_date') }}
            as insurance_current,
        units.major_hazard_unit,
        units.is_active,
        units.snapshot_date,
        first_seen.first_seen_on,
        units.missing_since,
        units.delivered_rows::integer as delivered_rows,
        units.source_file,
        units.source_row_number
    from units
    left join streets on units.street_raw = streets.street_raw
    left join first_seen on units.match_key = first_seen.match_key
)

select * from final
