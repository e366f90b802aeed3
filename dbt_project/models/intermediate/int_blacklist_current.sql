-- The safety blacklist as it stands. An inspection whose latest version says blacklisted puts
-- its unit on the list for var('blacklist_years') years (3: 应急管理部《安全生产严重失信主体
-- 名单管理办法》); a new blacklisting before that ends extends the listing (one episode). A
-- version revoking the flag (review) takes the inspection off. A unit is currently blacklisted
-- when its last episode ends after var('blacklist_as_of') (default: the build day in Beijing).
{%- set as_of = var('blacklist_as_of', none) %}
{%- set years = var('blacklist_years', 3) %}
with

inspections as (
    select * from {{ ref('int_inspections_deduplicated') }}
),

entries as (
    select
        uscc,
        inspection_id,
        inspected_on,
        lag(inspected_on) over (
            partition by uscc order by inspected_on, inspection_id
        ) as previous_on
    from inspections
    where blacklisted and uscc is not null
),

episodes as (
    select
        *,
        sum(
            case
                when previous_on is null
                    or inspected_on >= (previous_on + to_years({{ years }}))::date then 1
                else 0
            end
        ) over (
            partition by uscc order by inspected_on, inspection_id
            rows between unbounded preceding and current row
        ) as episode
    from entries
),

last_episode as (
    select *
    from episodes
    qualify episode = max(episode) over (partition by uscc)
),

listings as (
    select
        uscc,
        min(inspected_on) as first_blacklisted_on,
        max(inspected_on) as last_blacklisted_on,
        (max(inspected_on) + to_years({{ years }}))::date as listed_until,
        count(*)::integer as blacklistings,
        arg_max(inspection_id, inspected_on::varchar || inspection_id) as last_inspection_id
    from last_episode
    group by uscc
),

final as (
    select *
    from listings
    where listed_until > {% if as_of %}date '{{ as_of }}'{% else %}{{ beijing_today() }}{% endif %}
)

select * from final
