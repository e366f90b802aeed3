"""CSV in a given encoding (GB18030, UTF-8 with or without BOM)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from citysafety import config
from citysafety.raw.readers.base import Broken, Delivery, Record, UnreadableFile


def _records(text: str):
    """(first line, last line, fields, raw text) per CSV record; quoted line breaks kept."""
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(io.StringIO(text, newline=""))
    end = 0
    for fields in reader:
        start, end = end + 1, reader.line_num
        yield start, fields, "".join(lines[start - 1:end]).rstrip("\r\n")


def _line_by_line(data: bytes, encoding: str):
    """Fallback when the whole file does not decode (or parse): each physical line alone.

    A delivery with a few undecodable lines still loads its good lines; the bad ones are
    quarantined with their bytes shown as escapes.
    """
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode(encoding).rstrip("\r")
        except UnicodeDecodeError:
            yield number, None, repr(raw)
            continue
        try:
            fields = next(csv.reader([line]), [])
        except csv.Error as exc:
            yield number, exc, line
            continue
        yield number, fields, line


def read_csv(path: Path, *, encoding: str, header_row: int = 1) -> Delivery:
    data = path.read_bytes()
    notes: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        if encoding.lower().replace("-", "").replace("_", "") not in ("utf8", "utf8sig"):
            # Some export tools prepend it whatever they encode: the rows after it are readable.
            notes.append(f"UTF-8 byte order mark at the start of a {encoding} file dropped")
    # Longer fields are a malformed line, quarantined (module-wide in the csv module).
    csv.field_size_limit(config.max_field_chars())
    try:
        records = list(_records(data.decode(encoding)))
    except UnicodeDecodeError as exc:
        notes.append(f"not all of the file is valid {encoding}: {exc.reason} at byte {exc.start}")
        records = list(_line_by_line(data, encoding))
    except csv.Error as exc:
        notes.append(f"CSV structure broken ({exc}); read line by line")
        records = list(_line_by_line(data, encoding))

    # Blank lines are not records.
    records = [r for r in records if r[1] is None or not isinstance(r[1], list)
               or any(f.strip() for f in r[1])]
    if not records:
        return Delivery(header=[], items=iter(()), notes=notes + ["empty file"])

    # The header is the first record at or after `header_row`.
    start = next((i for i, r in enumerate(records) if r[0] >= header_row), None)
    if start is None or not isinstance(records[start][1], list):
        raise UnreadableFile(f"header row is missing or not valid {encoding}")
    header = records[start][1]
    if len(header) > config.max_row_fields():
        raise UnreadableFile(f"header has {len(header)} fields, more than the limit of "
                             f"{config.max_row_fields()} (CITYSAFETY_MAX_ROW_FIELDS)")

    def items():
        for n, _, raw in records[:start]:
            yield Broken(n, "line above the header row", raw)
        width = len(header)
        for n, fields, raw in records[start + 1:]:
            if fields is None:
                yield Broken(n, f"line is not valid {encoding}", raw)
            elif isinstance(fields, csv.Error):
                yield Broken(n, f"malformed CSV line: {fields}", raw)
            elif len(fields) != width:
                yield Broken(n, f"expected {width} fields, got {len(fields)}", raw)
            else:
                yield Record(n, dict(zip(header, fields)))

    return Delivery(header=header, items=items(), notes=notes)
