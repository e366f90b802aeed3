{#- Street spellings vary (武林, 武林街道办事处, 下城区武林街道, stray and full-width spaces,
    full-width characters): fold to half-width, drop whitespace and the district prefix and
    office suffix, so that the seed street_spellings matches the rest. -#}
{% macro clean_street(column) -%}
    regexp_replace(
        regexp_replace(
            regexp_replace(translate({{ column }}, '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　 ', '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~  '), '\s+', '', 'g'),
            '^(浙江省)?(杭州市)?(下城区)?', ''
        ),
        '(办事处|办)$', ''
    )
{%- endmacro %}
