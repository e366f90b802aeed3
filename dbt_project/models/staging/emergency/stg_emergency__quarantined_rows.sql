-- The Command Centre's delivered lines that were quarantined (audit.quarantine), with the id
-- they carry: a line in the latest full list whose date was unreadable (or that was a re-sent
-- copy) still names a plan or resource that is on the list.
with

source as (
    select * from {{ source('emergency_audit', 'quarantine') }}
),

final as (
    select
        feed,
        file_name,
        row_number::integer as source_row_number,
        reason,
        raw_record,
        -- A line that was read as a record is kept as JSON by delivered header; a line that could
        -- not be split into the agreed columns is kept as text, whose first field is the id.
        nullif(trim(coalesce(
            case
                when json_valid(raw_record) then json_extract_string(
                    raw_record,
                    case feed
                        when 'plans' then '$."预案编号"'
                        when 'drills' then '$."演练编号"'
                        when 'resources' then '$."资源编号"'
                    end
                )
            end,
            case
                when not json_valid(raw_record)
                    then replace(split_part(raw_record, ',', 1), '"', '')
            end
        )), '') as record_id,
        quarantined_at,
        -- the bytes of the file version the line came from (audit.reconciliation.file_sha256)
        file_sha256
    from source
    where source = 'emergency'
)

select * from final
