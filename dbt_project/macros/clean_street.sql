{#- Street spellings vary (武林, 武林街道办事处, 下城区武林街道, 文晖街道（办事处）, stray and
    full-width spaces, full-width characters): fold to half-width, drop whitespace, the district
    prefix and the office suffix (办事处, 办, or a parenthesised (办事处)), so that the seed
    street_spellings matches the rest. Cleaning only normalises the form: whether a cleaned value
    is a street is decided by an exact match with a cleaned spelling of the seed
    (int_street_values_mapped), never by what it contains. -#}
{% macro clean_street(column) -%}
    regexp_replace(
        regexp_replace(
            regexp_replace(translate({{ column }}, '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　 ', '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~  '), '\s+', '', 'g'),
            '^(浙江省)?(杭州市)?(下城区)?', ''
        ),
        '(\(办事处\)|办事处|办)$', ''
    )
{%- endmacro %}
