-- Every accepted spelling of the seed street_spellings, once cleaned as delivered values are
-- (macros/clean_street.sql), names one street and is not empty: a spelling claimed by two
-- streets would map to neither, an empty one would map empty values, and UNKNOWN (a street of
-- the seed streets, which the seed's relationships test accepts) is what no spelling means.
select
    {{ clean_street('spelling') }} as street_clean,
    count(distinct street_code) as streets
from {{ ref('street_spellings') }}
group by 1
having count(distinct street_code) > 1 or {{ clean_street('spelling') }} = ''
    or bool_or(street_code = 'UNKNOWN')
