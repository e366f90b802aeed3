"""JSON Lines: one object a line; a line that is not a JSON object is a broken record."""

from __future__ import annotations

import json
from pathlib import Path

from citysafety.raw.readers.base import Broken, Delivery, Record


def read_jsonl(path: Path) -> Delivery:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    header: list[str] = []

    def items():
        for n, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8").rstrip("\r")
            except UnicodeDecodeError:
                yield Broken(n, "line is not valid UTF-8", repr(raw))
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Broken(n, f"not valid JSON: {exc.msg} (column {exc.colno})", text)
                continue
            if not isinstance(value, dict):
                yield Broken(n, f"not a JSON object but {type(value).__name__}", text)
                continue
            for key in value:
                if key not in header:
                    header.append(key)
            yield Record(n, value)

    return Delivery(header=header, items=items())
