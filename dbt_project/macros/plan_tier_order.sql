{#- The display order of an emergency plan's tier (预案层级): 区级 1, 部门 2, 街道 3, 社区 4,
    企业 5, anything else (未填写, 不在现行清单) 9. One rule for every table that orders tiers. -#}
{% macro plan_tier_order(tier) -%}
    case {{ tier }}
        when '区级' then 1 when '部门' then 2 when '街道' then 3 when '社区' then 4 when '企业' then 5
        else 9
    end
{%- endmacro %}
