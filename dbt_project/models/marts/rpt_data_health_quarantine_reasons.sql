-- The 数据健康 page's quarantine reasons: audit.quarantine grouped by feed, reason, delivered
-- file and Beijing day, the reason masked. Reasons embed the offending values (a quoted value,
-- a whole broken CSV line, the name of the file a duplicate repeats): they are replaced by "…"
-- so that equal reasons group together and no delivered value (possibly personal data) leaves
-- the audit trail through this table; so is the column where a JSON parser stopped. Kept as
-- they are: "file lacks required columns [...]" (the headers of the agreement) and unquoted
-- text. Rows add up over days and files.
with

quarantine as (
    select * from {{ source('emergency_audit', 'quarantine') }}
),

masked as (
    select
        source,
        feed,
        file_sha256,
        quarantined_at,
        -- audit timestamps are UTC; the page's days are Beijing days
        timezone('Asia/Shanghai', timezone('UTC', quarantined_at))::date as quarantined_on,
        case
            when reason is null then '（未注明）'
            -- the missing headers come from the agreement, not from the delivered data
            when reason like 'file lacks required columns %' then reason
            else regexp_replace(
                regexp_replace(
                    regexp_replace(
                        regexp_replace(reason, '''(?:[^''\\]|\\.)*''', '…', 'g'),
                        '"(?:[^"\\]|\\.)*"', '…', 'g'
                    ),
                    '(already loaded from )[^ ()]+', '\1…', 'g'
                ),
                -- where in a broken JSON line the parser stopped
                '\(column [0-9]+\)', '(column …)', 'g'
            )
        end as reason
    from quarantine
),

final as (
    select
        md5(concat_ws('|', source, feed, reason, file_sha256, quarantined_on::varchar))::varchar
            as report_id,
        source::varchar as source,
        feed::varchar as feed,
        reason::varchar as reason,
        file_sha256::varchar as file_sha256,
        quarantined_on::date as quarantined_on,
        count(*)::integer as rows_quarantined,
        max(quarantined_at)::timestamp as last_quarantined_at
    from masked
    group by source, feed, reason, file_sha256, quarantined_on
)

select * from final
