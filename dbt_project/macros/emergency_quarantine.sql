{#- The Command Centre's quarantined lines of one feed that are in the version of their file name
    that counts. A later version replaces the earlier one entirely, so a line quarantined only in
    a replaced version keeps nothing on the list (and the replaced version's rows are not read).
    One definition for the plans and the resources, which both carry such lines forward. -#}
{% macro emergency_quarantined_lines_counted(feed) %}
    select quarantined.*
    from {{ ref('stg_emergency__quarantined_rows') }} as quarantined
    inner join {{ ref('stg_emergency__deliveries') }} as counted
        on
            quarantined.feed = counted.feed
            and quarantined.file_name = counted.file_name
            and quarantined.file_sha256 = counted.file_sha256
            and counted.is_latest_file_version
    where quarantined.feed = '{{ feed }}'
{% endmacro %}
