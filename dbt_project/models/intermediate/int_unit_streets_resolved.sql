-- The street of a production or business unit, by its credit code: the one rule every table
-- that places a unit's rows in a street uses (fct_inspections, the sensor marts: they join
-- their code through the macro uscc_key, macros/uscc.sql, and take UNKNOWN when no row
-- matches). One row per code of the enterprise registry (int_enterprises_validated, the
-- units of marts.dim_enterprises); when several units carry the code (a unit closed and
-- registered again, a code shared by units of different names, an invalid code), the street is
-- the one of the unit that is active first, then has a valid code, then the latest snapshot,
-- then the later line of that snapshot. The street itself is the registry's 所属街道 mapped
-- exactly (int_street_values_mapped): UNKNOWN when it names no street.
with

units as (
    select * from {{ ref('int_enterprises_validated') }}
    where uscc is not null
),

final as (
    select
        uscc,
        arg_max(
            street_code,
            struct_pack(a := is_active, v := uscc_valid, d := snapshot_date, r := source_row_number)
        ) as street_code,
        arg_max(
            unit_name,
            struct_pack(a := is_active, v := uscc_valid, d := snapshot_date, r := source_row_number)
        ) as unit_name,
        count(*) as units
    from units
    group by uscc
)

select * from final
