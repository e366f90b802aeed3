"""XLSX workbooks, possibly with merged title rows above the header."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from citysafety import config
from citysafety.raw.readers.base import Broken, Delivery, Record, UnreadableFile, header_key

_SCAN_ROWS = 10


def _check_zip(path: Path) -> None:
    """Refuse a workbook that would expand beyond config.max_unzipped_bytes (a zip bomb). The
    sizes its directory declares are binding: Python's zipfile stops reading a member there."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise UnreadableFile(f"not a readable XLSX workbook: {type(exc).__name__}: {exc}") from None
    limit = config.max_unzipped_bytes()
    if total > limit:
        raise UnreadableFile(f"XLSX expands to {total} bytes, more than the limit of {limit} "
                             f"(CITYSAFETY_MAX_UNZIPPED_MB)")


def read_xlsx(path: Path, *, header_row: int, sheet: str | None, expected: list[str]) -> Delivery:
    import openpyxl

    _check_zip(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on broken parts
        raise UnreadableFile(f"not a readable XLSX workbook: {type(exc).__name__}: {exc}") from None
    notes: list[str] = []
    try:
        if sheet and sheet in book.sheetnames:
            ws = book[sheet]
        elif sheet and len(book.sheetnames) > 1:
            raise UnreadableFile(f"sheet {sheet!r} not found (sheets: {book.sheetnames})")
        else:
            ws = book.worksheets[0]
            if sheet:
                notes.append(f"sheet {sheet!r} not found; read the only sheet {ws.title!r}")
        width, limit = ws.max_column or 0, config.max_row_fields()
        if width > limit:
            raise UnreadableFile(f"sheet {ws.title!r} is {width} columns wide, more than the limit "
                                 f"of {limit} (CITYSAFETY_MAX_ROW_FIELDS)")
        try:
            rows = [(n, list(r)) for n, r in enumerate(ws.iter_rows(values_only=True), start=1)]
        except UnreadableFile:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. sheet XML cut off inside a valid zip
            raise UnreadableFile(f"sheet {ws.title!r} is not readable: {type(exc).__name__}: "
                                 f"{str(exc)[:300]}") from None
    finally:
        book.close()

    rows = [(n, r) for n, r in rows if any(v is not None and str(v).strip() for v in r)]
    if not rows:
        return Delivery(header=[], items=iter(()), notes=notes + ["empty workbook"])

    # Departments add or drop title rows: the header is the row (among the first few) that
    # names most of the expected columns, the agreed header row winning ties.
    wanted = {header_key(e) for e in expected}

    def score(item):
        n, r = item
        return (sum(header_key(v) in wanted for v in r if v is not None), n == header_row)

    head_n, head = max(rows[:_SCAN_ROWS], key=score)
    if wanted and score((head_n, head))[0] == 0:
        # No row names an agreed column (renamed headers, or a title row taken for one): any
        # choice of header would be a guess that loses a row. Every row is kept, quarantined.
        reason = f"no header row found: none of the first {_SCAN_ROWS} rows names an agreed column"
        notes.append(reason)
        return Delivery(header=[], items=iter([Broken(n, reason, _dump(r)) for n, r in rows]), notes=notes)
    if head_n != header_row:
        notes.append(f"header found on row {head_n}, agreed row is {header_row}")
    header = [("" if v is None else str(v)) for v in head]
    while header and not header[-1]:
        header.pop()

    above = []  # rows above the header that are not a (merged) title: one text alone
    for n, r in rows:
        if n < head_n:
            filled = [v for v in r if v is not None and str(v).strip()]
            if len(filled) == 1:
                notes.append(f"title row {n}: {str(filled[0])[:100]!r}")
            else:
                above.append(n)

    def items():
        for n, r in rows:
            if n < head_n:
                if n in above:
                    yield Broken(n, "row above the header row", _dump(r))
                continue
            if n == head_n:
                continue
            extra = [v for v in r[len(header):] if v is not None and str(v).strip()]
            if extra:
                yield Broken(n, f"values beyond the {len(header)} header columns", _dump(r))
                continue
            yield Record(n, {h: v for h, v in zip(header, r) if h})

    return Delivery(header=header, items=items(), notes=notes)


def _dump(row) -> str:
    return json.dumps([None if v is None else str(v) for v in row], ensure_ascii=False)
