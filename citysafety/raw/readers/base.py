"""What every reader yields: records, broken records, the whole-file refusal; header matching.

Readers know nothing of a department: they are given an encoding, a header row, a sheet. They
yield `Record`s (values by delivered header) and `Broken`s (what could not be read as a record,
with the reason and the raw text), and never drop anything silently.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Iterator, Union


@dataclass
class Record:
    row_number: int
    values: dict  # delivered header -> delivered value


@dataclass
class Broken:
    row_number: int
    reason: str
    raw: str


Item = Union[Record, Broken]


class UnreadableFile(Exception):
    """The file as a whole cannot be read in its agreed form."""


@dataclass
class Delivery:
    header: list[str]
    items: Iterator[Item]
    notes: list[str] = field(default_factory=list)


def header_key(name) -> str:
    """Headers compare after NFKC (full-width brackets), without spaces or a BOM."""
    text = "" if name is None else str(name)
    return "".join(unicodedata.normalize("NFKC", text.replace("\ufeff", "")).split())
