"""JSON Lines: one object a line; a line that is not a JSON object is a broken record.

A line is refused before it is parsed when it nests deeper than config.max_json_depth (the
parser would recurse once per level), and after it is parsed when one of its objects repeats a
key (the parser would keep the last value silently).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from citysafety import config
from citysafety.raw.readers.base import Broken, Delivery, Record

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in a JSON text (brackets inside strings not counted)."""
    depth = deepest = 0
    for char in _STRING.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def read_jsonl(path: Path) -> Delivery:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    header: list[str] = []
    max_depth, max_chars = config.max_json_depth(), config.max_field_chars()

    def items():
        for n, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8").rstrip("\r")
            except UnicodeDecodeError:
                yield Broken(n, "line is not valid UTF-8", repr(raw))
                continue
            shown = text if len(text) <= max_chars else text[:max_chars] + "…"
            if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
                yield Broken(n, f"JSON nested deeper than {max_depth} levels (CITYSAFETY_MAX_JSON_DEPTH)",
                             shown)
                continue
            try:
                value = json.loads(text, object_pairs_hook=_no_duplicates)
            except _DuplicateKey as exc:
                yield Broken(n, f"duplicate JSON key {exc.args[0]!r}: which value holds is ambiguous", shown)
                continue
            except json.JSONDecodeError as exc:
                yield Broken(n, f"not valid JSON: {exc.msg} (column {exc.colno})", shown)
                continue
            except (RecursionError, ValueError) as exc:  # e.g. an integer too long to convert
                yield Broken(n, f"not readable JSON: {type(exc).__name__}: {str(exc)[:200]}", shown)
                continue
            if not isinstance(value, dict):
                yield Broken(n, f"not a JSON object but {type(value).__name__}", shown)
                continue
            for key in value:
                if key not in header:
                    header.append(key)
            yield Record(n, value)

    return Delivery(header=header, items=items())
