"""Value parsers of citysafety.raw.parsing, against the delivery agreements (shared/feeds/README.md).

Every expectation below is computed by hand from the agreement: the three 发生时间 forms of the
accident reports, ISO-8601 with an offset converted to Asia/Shanghai local time, casualty counts
as whole numbers >= 0, losses with thousands separators, and the empty/required rules.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from citysafety import sources as S
from citysafety.raw.parsing import (
    BadValue,
    clean_text,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    parse_value,
)

# --------------------------------------------------------------------------- parse_datetime


@pytest.mark.parametrize(
    "text, expected",
    [
        # the three forms of 发生时间 in the agreement
        ("2019-03-05 14:20", datetime(2019, 3, 5, 14, 20)),
        ("2019/3/5 14:20", datetime(2019, 3, 5, 14, 20)),
        ("2019年3月5日 14时20分", datetime(2019, 3, 5, 14, 20)),
        # unpadded month, day, hour and minute
        ("2019/3/5 9:05", datetime(2019, 3, 5, 9, 5)),
        ("2019年3月5日 9时5分", datetime(2019, 3, 5, 9, 5)),
        ("2019-3-5 9:05", datetime(2019, 3, 5, 9, 5)),
        # padded slash form, seconds, no space in the Chinese form
        ("2019/03/05 14:20:30", datetime(2019, 3, 5, 14, 20, 30)),
        ("2019年03月05日14时20分", datetime(2019, 3, 5, 14, 20)),
        # full-width digits and an ideographic space (as typed in Chinese input methods)
        ("２０１９年３月５日\u3000１４时２０分", datetime(2019, 3, 5, 14, 20)),
        # surrounding spaces
        ("  2019-03-05 14:20  ", datetime(2019, 3, 5, 14, 20)),
        # ISO without offset (fires: 起火时间) is local time as it stands
        ("2016-11-17T06:18:00", datetime(2016, 11, 17, 6, 18)),
        # a date alone is midnight
        ("2019/3/5", datetime(2019, 3, 5, 0, 0)),
        ("2019年3月5日", datetime(2019, 3, 5, 0, 0)),
        # 29 February of a leap year
        ("2020-02-29 23:59", datetime(2020, 2, 29, 23, 59)),
    ],
)
def test_parse_datetime_local_forms(text, expected):
    got = parse_datetime(text)
    assert got == expected
    assert got.tzinfo is None


@pytest.mark.parametrize(
    "text, expected",
    [
        # already Shanghai time: the offset is dropped, the wall clock kept
        ("2019-03-05T14:20:00+08:00", datetime(2019, 3, 5, 14, 20)),
        ("2016-07-31T14:01:00+08:00", datetime(2016, 7, 31, 14, 1)),
        # UTC: +8 hours
        ("2019-03-05T14:20:00Z", datetime(2019, 3, 5, 22, 20)),
        ("2019-03-05T14:20:00+00:00", datetime(2019, 3, 5, 22, 20)),
        # UTC late evening is the next day in Shanghai
        ("2019-03-05T23:30:00Z", datetime(2019, 3, 6, 7, 30)),
        # another offset: 14:20 at +09:00 is 05:20 UTC is 13:20 in Shanghai
        ("2019-03-05T14:20:00+09:00", datetime(2019, 3, 5, 13, 20)),
        # fractional seconds survive
        ("2019-03-05T14:20:00.500Z", datetime(2019, 3, 5, 22, 20, 0, 500000)),
    ],
)
def test_parse_datetime_iso_with_offset_is_shanghai_local_naive(text, expected):
    got = parse_datetime(text)
    assert got == expected
    assert got.tzinfo is None


def test_parse_datetime_accepts_datetime_objects():
    # XLSX cells arrive as datetime objects; aware ones are converted like strings
    assert parse_datetime(datetime(2019, 3, 5, 14, 20)) == datetime(2019, 3, 5, 14, 20)
    aware = datetime(2019, 3, 5, 6, 20, tzinfo=timezone.utc)
    assert parse_datetime(aware) == datetime(2019, 3, 5, 14, 20)
    est = datetime(2019, 3, 5, 1, 20, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_datetime(est) == datetime(2019, 3, 5, 14, 20)


@pytest.mark.parametrize(
    "text",
    [
        "2019-13-45 25:61",  # month, day, hour, minute all out of range
        "不详",  # "unknown"
        "2020-12-00T21:06:00",  # day 0
        "2019-02-29 10:00",  # no 29 February in 2019
        "2019-03-05 24:00",
        "2019年13月5日 14时20分",
        "2019年3月32日",
        "",
        "   ",
        "14:20",
        "2019-03-05 14时",
        "昨天下午",
    ],
)
def test_parse_datetime_invalid_raises_badvalue(text):
    with pytest.raises(BadValue) as info:
        parse_datetime(text)
    # the reason names the offending value so a data engineer can act on it
    assert repr(text) in str(info.value)


def test_badvalue_is_a_valueerror():
    assert issubclass(BadValue, ValueError)


# --------------------------------------------------------------------------- parse_date


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2019-03-06", date(2019, 3, 6)),
        ("2019/3/6", date(2019, 3, 6)),
        ("2019年3月6日", date(2019, 3, 6)),
        (date(2019, 3, 6), date(2019, 3, 6)),
        (datetime(2019, 3, 6, 0, 0), date(2019, 3, 6)),
    ],
)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["2019-03-06 14:20", "2019-02-30", "不详"])
def test_parse_date_invalid(value):
    # 报送日期 is a date: a time of day or an impossible date is not one
    with pytest.raises(BadValue):
        parse_date(value)


# --------------------------------------------------------------------------- parse_int


@pytest.mark.parametrize(
    "value, expected",
    [
        ("3", 3),
        ("0", 0),
        ("３", 3),  # full-width digit
        ("１２", 12),
        (" 3 ", 3),
        ("+3", 3),
        # "3.0" is a whole number written with a decimal point (spreadsheets export counts so):
        # accepted as 3, as is the float 3.0 that openpyxl returns for a numeric cell.
        ("3.0", 3),
        (3.0, 3),
        (7, 7),
        (0, 0),
        ("1,234", 1234),  # correct thousands separators (employees)
    ],
)
def test_parse_int_whole_numbers(value, expected):
    got = parse_int(value)
    assert got == expected
    assert type(got) is int


@pytest.mark.parametrize(
    "value, word",
    [
        ("-1", "negative"),
        (-1, "negative"),
        ("1.5", "whole"),
        (1.5, "whole"),
        ("两", "whole"),  # Chinese numeral "two" is not a number the platform guesses
        ("三人", "whole"),
        ("", "whole"),
        ("abc", "whole"),
        ("NaN", "whole"),
        ("Infinity", "whole"),
        (True, "whole"),  # a JSON true is not a count
        (False, "whole"),
    ],
)
def test_parse_int_rejects(value, word):
    with pytest.raises(BadValue) as info:
        parse_int(value)
    assert word in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", ["1,2", "1,23,4", "12,34"])
def test_parse_int_rejects_bad_thousands_separators(value):
    with pytest.raises(BadValue):
        parse_int(value)


# --------------------------------------------------------------------------- parse_decimal


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1,234.5", 1234.5),
        ("12,345,678.9", 12345678.9),
        ("178,691", 178691.0),
        ("1234.5", 1234.5),
        ("15.0", 15.0),
        ("0", 0.0),
        ("503.7", 503.7),
        ("１，２３４．５", 1234.5),  # full-width digits, comma and point
        (" 1,234.5 ", 1234.5),
        (985.6, 985.6),
        (1040, 1040.0),
    ],
)
def test_parse_decimal(value, expected):
    got = parse_decimal(value)
    assert got == expected
    assert type(got) is float


@pytest.mark.parametrize(
    "value",
    [
        "1,23,4",  # commas not in groups of three
        "1234,5",  # decimal comma
        "12,34.5",
        ",123",
        "-1",  # losses are >= 0
        "-1,234.5",
        -0.5,
        "abc",
        "",
        "约10万",
        "nan",
        "inf",
        True,
    ],
)
def test_parse_decimal_rejects(value):
    with pytest.raises(BadValue) as info:
        parse_decimal(value)
    assert repr(value) in str(info.value)


def test_parse_decimal_reason_says_separators():
    with pytest.raises(BadValue, match="thousands separators"):
        parse_decimal("1,23,4")


# --------------------------------------------------------------------------- parse_bool / clean_text


@pytest.mark.parametrize("value, expected", [("是", True), ("否", False), ("true", True),
                                             ("FALSE", False), (True, True), (False, False)])
def test_parse_bool(value, expected):
    assert parse_bool(value) is expected


def test_parse_bool_rejects():
    with pytest.raises(BadValue):
        parse_bool("也许")


@pytest.mark.parametrize(
    "value, expected",
    [(None, None), ("", None), ("   ", None), ("\u3000", None), ("\ufeff", None),
     ("  武林 ", "武林"), ("\u3000武林街道\u3000", "武林街道"), (3, "3")],
)
def test_clean_text(value, expected):
    assert clean_text(value) == expected


# --------------------------------------------------------------------------- parse_value

ACC = S.EMB_ACCIDENTS
ECO = S.STATS_ECONOMY


@pytest.mark.parametrize("empty", [None, "", "   ", "\u3000", " \u3000 "])
@pytest.mark.parametrize("column", [ACC.column("deaths"), ACC.column("occurred_at"),
                                    ACC.column("accident_id"), ACC.column("reported_on"),
                                    ECO.column("data_status")])
def test_parse_value_required_empty_raises(column, empty):
    assert column.required
    with pytest.raises(BadValue, match="required value is empty"):
        parse_value(column, empty)


@pytest.mark.parametrize("empty", [None, "", "  ", "\u3000"])
@pytest.mark.parametrize("column", [ACC.column("direct_loss_10k_yuan"), ACC.column("uscc"),
                                    ACC.column("related_incident_id"), ECO.column("vehicles_10k"),
                                    ACC.column("contact_phone")])
def test_parse_value_optional_empty_is_none(column, empty):
    assert not column.required
    assert parse_value(column, empty) is None


def test_parse_value_typed_by_kind():
    assert parse_value(ACC.column("accident_id"), " XC-AQ-2019-0007 ") == "XC-AQ-2019-0007"
    assert parse_value(ACC.column("occurred_at"), "2019年3月5日 9时5分") == datetime(2019, 3, 5, 9, 5)
    assert parse_value(ACC.column("deaths"), "２") == 2
    assert parse_value(ACC.column("deaths"), " 0 ") == 0
    assert parse_value(ACC.column("direct_loss_10k_yuan"), "1,234.5") == 1234.5
    assert parse_value(ACC.column("reported_on"), "2019-03-06") == date(2019, 3, 6)
    assert parse_value(ECO.column("year"), 2019) == 2019
    assert parse_value(ECO.column("year"), 2019.0) == 2019
    assert parse_value(ECO.column("gdp_100m_yuan"), 985.6) == 985.6
    # a number in a text column is kept as its text
    assert parse_value(ACC.column("contact_phone"), 13812345678) == "13812345678"


@pytest.mark.parametrize("value, bad", [("-1", "negative"), ("1.5", "whole"), ("两", "whole")])
def test_parse_value_int_column_rejects(value, bad):
    with pytest.raises(BadValue, match=bad):
        parse_value(ACC.column("deaths"), value)


def test_parse_value_choice():
    status = ECO.column("data_status")
    assert status.kind == S.CHOICE
    assert parse_value(status, "初步核算") == "初步核算"
    assert parse_value(status, "最终核实") == "最终核实"
    assert parse_value(status, "  最终核实\u3000") == "最终核实"
    with pytest.raises(BadValue) as info:
        parse_value(status, "预计")
    assert "初步核算/最终核实" in str(info.value)
    assert "'预计'" in str(info.value)
    with pytest.raises(BadValue):
        parse_value(status, "最终")  # a prefix is not a choice


def test_parse_value_optional_choice():
    level = S.Column("等级", "level", S.CHOICE, choices=("一般", "重大"))
    assert parse_value(level, "") is None
    assert parse_value(level, None) is None
    assert parse_value(level, "重大") == "重大"
    with pytest.raises(BadValue, match="一般/重大"):
        parse_value(level, "较大")


CHOICE_COLUMNS = [(f.id, c) for f in S.all_feeds() for c in f.columns if c.choices and c.strict]
# Choices the agreement flags rather than rejects (Column.strict=False): other spellings load.
FLAGGED_CHOICE_COLUMNS = [(f.id, c) for f in S.all_feeds() for c in f.columns if c.choices and not c.strict]


def test_choices_are_declared_on_text_columns_only():
    assert len(CHOICE_COLUMNS) > 10
    for feed_id, column in CHOICE_COLUMNS:
        assert column.kind in (S.TEXT, S.CHOICE), (feed_id, column.name)
    for feed in S.all_feeds():
        for column in feed.columns:
            assert column.choices or column.kind != S.CHOICE, (feed.id, column.name)


@pytest.mark.parametrize("feed_id, column", CHOICE_COLUMNS, ids=[f"{f}.{c.name}" for f, c in CHOICE_COLUMNS])
def test_every_declared_choice_is_enforced(feed_id, column):
    """Every column declaring choices loads only one of them (in the registry's spelling,
    full-width forms folded) and names the column's choices and the value otherwise."""
    for choice in column.choices:
        assert parse_value(column, choice) == choice
        assert parse_value(column, f" {choice}\u3000") == choice
    wide = column.choices[0].translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    assert parse_value(column, wide) == column.choices[0]
    with pytest.raises(BadValue) as info:
        parse_value(column, "其他写法X")
    assert str(info.value) == f"not one of {'/'.join(column.choices)}: '其他写法X'"


def test_flagged_choices_load_other_spellings_for_the_mart_to_flag():
    assert [(f, c.name) for f, c in FLAGGED_CHOICE_COLUMNS] == [("safety_office__risk_points", "risk_level")]
    for _, column in FLAGGED_CHOICE_COLUMNS:
        assert parse_value(column, "蓝") == "蓝"
        assert parse_value(column, " 蓝色 ") == "蓝色"  # int_risk_points_assessed reads it as 蓝


def test_pulled_feeds_declare_their_key_table_and_watermark_in_the_registry():
    pulled = [f for f in S.all_feeds() if f.pull]
    assert {f.id: f.pull.kind for f in pulled} == {"emb__inspections": "http", "grid__hazard_reports": "sql"}
    for feed in pulled:
        delivered = {c.delivered: c for c in feed.columns}
        assert delivered[feed.pull.key].required, feed.id
        assert delivered[feed.pull.watermark].kind == S.DATETIME, feed.id
        assert feed.pull.connection
        assert (feed.pull.table if feed.pull.kind == "sql" else feed.pull.path), feed.id
