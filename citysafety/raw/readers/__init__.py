"""One reader per delivery form. A reader turns a file into records and broken records.

Readers know nothing of a department: they are given an encoding, a header row, a sheet. They
yield `Record`s (values by delivered header) and `Broken`s (what could not be read as a record,
with the reason and the raw text), and never drop anything silently. The types are in
`citysafety.raw.readers.base`; `read` picks the reader of a form.
"""

from __future__ import annotations

from pathlib import Path

from citysafety.raw.readers.base import Delivery
from citysafety.raw.readers.csv_reader import read_csv
from citysafety.raw.readers.jsonl_reader import read_jsonl
from citysafety.raw.readers.xlsx_reader import read_xlsx


def read(path: Path, form: str, *, encoding: str = "utf-8", header_row: int = 1,
         sheet: str | None = None, expected: list[str] | None = None) -> Delivery:
    if path.stat().st_size == 0:
        return Delivery(header=[], items=iter(()), notes=["empty file"])
    if form == "csv":
        return read_csv(path, encoding=encoding, header_row=header_row)
    if form == "jsonl":
        return read_jsonl(path)
    if form == "xlsx":
        return read_xlsx(path, header_row=header_row, sheet=sheet, expected=expected or [])
    raise ValueError(f"no reader for form {form!r}")
