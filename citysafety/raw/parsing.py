"""Value parsers for the column kinds of the registry.

Each parser takes the delivered value (str, number, bool or None) and returns the typed value,
or raises `BadValue` with a reason a data engineer can act on. Empty optional values become None.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from citysafety import sources as S

SHANGHAI = timezone(timedelta(hours=8))
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_INT64_MAX = 2**63 - 1


class BadValue(ValueError):
    pass


def clean_text(value) -> str | None:
    """Strip surrounding (also full-width) spaces; empty means missing."""
    if value is None:
        return None
    text = str(value).replace("\ufeff", "").replace("\u3000", " ").strip()
    return text or None


def _ascii(text: str) -> str:
    # Full-width digits, letters and punctuation (２０１９／３／５, １，２３４．５) -> ASCII.
    return unicodedata.normalize("NFKC", text).strip()


def parse_int(value) -> int:
    if isinstance(value, bool):
        raise BadValue(f"not a whole number: {value!r}")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        text = _ascii(str(value)).replace(" ", "")
        if "," in text:
            if not _THOUSANDS.match(text):
                raise BadValue(f"not a whole number (bad thousands separators): {value!r}")
            text = text.replace(",", "")
        if not _PLAIN_NUMBER.match(text):
            raise BadValue(f"not a whole number: {value!r}")
        number = Decimal(text)
    if not number.is_finite() or number != number.to_integral_value():
        raise BadValue(f"not a whole number: {value!r}")
    if number < 0:
        raise BadValue(f"negative: {value!r}")
    if number > _INT64_MAX:
        raise BadValue(f"too large for a count: {value!r}")
    return int(number)


def parse_number(value) -> float:
    """Any finite number, sign allowed (thresholds, sensor values)."""
    if isinstance(value, str) and _ascii(value).lstrip().startswith("-"):
        return -parse_decimal(_ascii(value).lstrip()[1:])
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return -parse_decimal(-value)
    return parse_decimal(value)


def parse_decimal(value) -> float:
    if isinstance(value, bool):
        raise BadValue(f"not a number: {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = _ascii(str(value)).replace(" ", "")
        if "," in text:
            if not _THOUSANDS.match(text):
                raise BadValue(f"not a number (bad thousands separators): {value!r}")
            text = text.replace(",", "")
        if not _PLAIN_NUMBER.match(text):
            raise BadValue(f"not a number: {value!r}")
        number = float(Decimal(text))
    if number != number or number in (float("inf"), float("-inf")):
        raise BadValue(f"not a number: {value!r}")
    if number < 0:
        raise BadValue(f"negative: {value!r}")
    return number


_CN_DATETIME = re.compile(
    r"^(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:(\d{1,2})[时:](\d{1,2})分?(?:(\d{1,2})秒)?)?$"
)
_SLASH_DATETIME = re.compile(
    r"^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?$"
)


def parse_datetime(value) -> datetime:
    """A local (Asia/Shanghai) naive timestamp.

    Accepts `2019-03-05 14:20`, `2019/3/5 14:20`, `2019年3月5日 14时20分` and ISO-8601; a value with
    an offset (`+08:00`, `Z`) is converted to Shanghai time.
    """
    if isinstance(value, datetime):
        stamp = value
    else:
        text = _ascii(str(value))
        stamp = None
        for pattern in (_CN_DATETIME, _SLASH_DATETIME):
            m = pattern.match(text)
            if m:
                parts = [int(p) if p else 0 for p in m.groups()]
                try:
                    stamp = datetime(*parts)
                except ValueError:
                    raise BadValue(f"not a valid date-time: {value!r}") from None
                break
        if stamp is None:
            try:
                stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise BadValue(f"unreadable date-time: {value!r}") from None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(SHANGHAI).replace(tzinfo=None)
    return stamp


def parse_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    stamp = parse_datetime(value)
    if (stamp.hour, stamp.minute, stamp.second) != (0, 0, 0) and "T" not in str(value):
        raise BadValue(f"expected a date, got a date-time: {value!r}")
    return stamp.date()


# 约200人, 大约200, 200余人, 200多人次, 200人左右 (after NFKC; spaces removed).
_APPROX_COUNT = re.compile(r"^(?:约|大约)?\d+(?:余|多)?(?:人次|人)?(?:左右)?$")


def parse_approx_count(value) -> str:
    """A count as delivered, plain or approximate (约200人, 200余人): its NFKC-folded text.

    Staging reads the number and whether it was approximate (dbt macros/approx_count.sql); here
    only what cannot be read as a count is refused."""
    if isinstance(value, bool):
        raise BadValue(f"not a count: {value!r}")
    if isinstance(value, (int, float)):
        return str(parse_int(value))
    text = _ascii(str(value)).replace(" ", "")
    if not _APPROX_COUNT.match(text):
        raise BadValue(f"not a count (约200人 / 200余人 / 200 are read): {value!r}")
    return text


_TRUE = {"是", "true", "1", "y", "yes", "t"}
_FALSE = {"否", "false", "0", "n", "no", "f"}


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = _ascii(str(value)).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadValue(f"not 是/否: {value!r}")


def parse_choice(column: S.Column, value) -> str:
    """One of the column's declared `choices`, in the registry's spelling, or BadValue.

    Full-width and other compatibility forms fold as the other kinds' values do (NFKC: ＭＰａ is
    MPa, °C is ℃); any other spelling is not one of the choices."""
    text = str(value)
    if text in column.choices:
        return text
    folded = _ascii(text)
    for choice in column.choices:
        if _ascii(choice) == folded:
            return choice
    raise BadValue(f"not one of {'/'.join(column.choices)}: {value!r}")


def parse_value(column: S.Column, value):
    """Typed value of one delivered cell, or BadValue."""
    if isinstance(value, str) or value is None:
        text = clean_text(value)
        if text is None:
            if column.required:
                raise BadValue("required value is empty")
            return None
        value = text
    if column.kind in (S.TEXT, S.CHOICE):
        return parse_choice(column, value) if column.choices and column.strict else str(value)
    parser = {
        S.INT: parse_int,
        S.DECIMAL: parse_decimal,
        S.NUMBER: parse_number,
        S.DATETIME: parse_datetime,
        S.DATE: parse_date,
        S.BOOL: parse_bool,
        S.APPROX_COUNT: parse_approx_count,
    }[column.kind]
    return parser(value)
