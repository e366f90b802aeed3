"""One reader per delivery form. A reader turns a file into records and broken records.

Readers know nothing of a department: they are given an encoding, a header row, a sheet. They
yield `Record`s (values by delivered header) and `Broken`s (what could not be read as a record,
with the reason and the raw text), and never drop anything silently.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
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


def read(path: Path, form: str, *, encoding: str = "utf-8", header_row: int = 1,
         sheet: str | None = None, expected: list[str] | None = None) -> Delivery:
    if path.stat().st_size == 0:
        return Delivery(header=[], items=iter(()), notes=["empty file"])
    if form == "csv":
        from citysafety.readers.csv_reader import read_csv
        return read_csv(path, encoding=encoding, header_row=header_row)
    if form == "jsonl":
        from citysafety.readers.jsonl_reader import read_jsonl
        return read_jsonl(path)
    if form == "xlsx":
        from citysafety.readers.xlsx_reader import read_xlsx
        return read_xlsx(path, header_row=header_row, sheet=sheet, expected=expected or [])
    raise ValueError(f"no reader for form {form!r}")
