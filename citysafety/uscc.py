"""Unified social credit codes (统一社会信用代码, GB 32100-2015): the Python twin of macros/uscc.sql.

A code is 18 characters from the 31-character set 0-9 A-H J-N P-R T-U W-Y (no I, O, S, V, Z).
Character 18 is a check character over the first 17: with the characters' values (their
position in the set) and the weights 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28
(3^i mod 31), check = 31 - (sum mod 31), where 31 becomes 0.

The SQL macros (`uscc_is_valid`, `uscc_check_char`, `uscc_issue`) and these functions must
agree on every input; tests/test_enterprises_risk_points.py runs both on the same codes. Both
are strict: no trimming or upper-casing here (the caller normalises first, as
int_enterprises_validated does with `upper` and whitespace removal).
"""

from __future__ import annotations

import re

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_FORM = re.compile(r"[0-9A-HJ-NP-RTUWXY]{18}")
_BODY = re.compile(r"[0-9A-HJ-NP-RTUWXY]{17}")


def check_char(first17: str) -> str:
    """The check character (18th) of a code whose first 17 characters are given."""
    if not _BODY.fullmatch(first17 or ""):
        raise ValueError(f"need 17 characters of {CHARSET}, got {first17!r}")
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS))
    return CHARSET[(31 - total % 31) % 31]


def issue(code: str | None) -> str | None:
    """Why a code is not valid (the same texts as the SQL macro `uscc_issue`), or None."""
    if code is None or code == "":
        return "empty"
    if len(code) != 18:
        return f"length {len(code)}, not 18"
    if not _FORM.fullmatch(code):
        return "character outside 0-9 A-H J-N P-R T-U W-Y"
    expected = check_char(code[:17])
    if code[17] != expected:
        return f"check character {code[17]}, expected {expected}"
    return None


def is_valid(code: str | None) -> bool:
    """True when the code is 18 characters of the set with the right check character."""
    return issue(code) is None


def complete(first17: str) -> str:
    """A valid code: the 17 characters plus their check character."""
    return first17 + check_char(first17)
