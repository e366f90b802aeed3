{#- Unified social credit codes (统一社会信用代码, GB 32100-2015). Twin of citysafety/uscc.py:
    both must agree on every input (tests/test_enterprises_risk_points.py checks).
    18 characters of 0-9 A-H J-N P-R T-U W-Y; character 18 checks the first 17 with weights
    3^i mod 31: check = 31 - (sum mod 31), 31 -> 0. Strict: normalise (upper, no spaces) first. -#}

{% macro uscc_charset() -%}
    '0123456789ABCDEFGHJKLMNPQRTUWXY'
{%- endmacro %}

{% macro uscc_pattern() -%}
    '[0-9A-HJ-NP-RTUWXY]{18}'
{%- endmacro %}

{#- The check character of the first 17 characters of `column` (meaningful only when they are
    all in the character set). -#}
{% macro uscc_check_char(column) -%}
    {%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] -%}
    substr({{ uscc_charset() }}, ((31 - (
        {%- for w in weights %}
        (instr({{ uscc_charset() }}, substr({{ column }}, {{ loop.index }}, 1)) - 1) * {{ w }}{{ ' +' if not loop.last }}
        {%- endfor %}
    ) % 31) % 31) + 1, 1)
{%- endmacro %}

{#- True when the code is well formed with the right check character; false for null/empty. -#}
{% macro uscc_is_valid(column) -%}
    coalesce(
        regexp_full_match({{ column }}, {{ uscc_pattern() }})
        and right({{ column }}, 1) = {{ uscc_check_char(column) }},
        false
    )
{%- endmacro %}

{#- Why a code is not valid (null when it is); the same texts as citysafety.uscc.issue. -#}
{% macro uscc_issue(column) -%}
    case
        when {{ column }} is null or {{ column }} = '' then 'empty'
        when length({{ column }}) != 18 then 'length ' || length({{ column }}) || ', not 18'
        when not regexp_full_match({{ column }}, {{ uscc_pattern() }})
            then 'character outside 0-9 A-H J-N P-R T-U W-Y'
        when right({{ column }}, 1) != {{ uscc_check_char(column) }}
            then 'check character ' || right({{ column }}, 1) || ', expected ' || {{ uscc_check_char(column) }}
    end
{%- endmacro %}

{#- The form a credit code is compared in: upper case, no spaces (ASCII or full-width), null
    when empty. dim_enterprises.uscc is in this form; join any delivered code through it. -#}
{% macro uscc_key(column) -%}
    nullif(upper(regexp_replace(coalesce({{ column }}, ''), '[\s\x{3000}]', '', 'g')), '')
{%- endmacro %}
