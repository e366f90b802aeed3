"""CSV in a given encoding (GB18030, UTF-8 with or without BOM)."""

from __future__ import annotations

import csv
from pathlib import Path

from citysafety.readers import Broken, Delivery, Record, UnreadableFile


def _decode_lines(data: bytes, encoding: str):
    """Yield (line_number, text or None, raw bytes) when the whole file does not decode.

    A delivery with a few undecodable lines still loads its good lines; the bad ones are
    quarantined with their bytes shown as escapes.
    """
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            yield number, raw.decode(encoding).rstrip("\r"), raw
        except UnicodeDecodeError:
            yield number, None, raw


def read_csv(path: Path, *, encoding: str, header_row: int = 1) -> Delivery:
    data = path.read_bytes()
    if encoding.lower().replace("-", "") in ("utf8", "utf8sig") and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    notes: list[str] = []
    try:
        text = data.decode(encoding)
        lines = [(n, line, None) for n, line in enumerate(text.splitlines(), start=1)]
    except UnicodeDecodeError as exc:
        notes.append(f"not all of the file is valid {encoding}: {exc.reason} at byte {exc.start}")
        lines = list(_decode_lines(data, encoding))

    body = [(n, line, raw) for n, line, raw in lines if line is None or line.strip()]
    if not body:
        return Delivery(header=[], items=iter(()), notes=notes + ["empty file"])

    # The header is the first non-blank line at or after `header_row`.
    start = next((i for i, (n, _, _) in enumerate(body) if n >= header_row), None)
    if start is None or body[start][1] is None:
        raise UnreadableFile(f"header row is missing or not valid {encoding}")
    header = next(csv.reader([body[start][1]]))
    before = body[:start]

    def items():
        for n, line, raw in before:
            yield Broken(n, "line above the header row", line if line is not None else repr(raw))
        width = len(header)
        for n, line, raw in body[start + 1:]:
            if line is None:
                yield Broken(n, f"line is not valid {encoding}", repr(raw))
                continue
            try:
                fields = next(csv.reader([line]))
            except csv.Error as exc:
                yield Broken(n, f"malformed CSV line: {exc}", line)
                continue
            if len(fields) != width:
                yield Broken(n, f"expected {width} fields, got {len(fields)}", line)
                continue
            yield Record(n, dict(zip(header, fields)))

    return Delivery(header=header, items=items(), notes=notes)


