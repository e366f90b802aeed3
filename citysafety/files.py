"""Files written so that a reader never sees half of one: the one helper for hashing a file,
syncing it to disk and writing it atomically (aside, synced, renamed into place), whole
(`atomic_write`) or streamed (`atomic_stream`).

A crash leaves either the old file or the new one, never a mix; the temporary name starts with
a dot, so the landing and raw scanners never take it for a delivery.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TextIO

_BLOCK = 1 << 20


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def fsync(path: Path) -> None:
    """Flush a file, or a folder's entries (after a rename into it), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes | str, *, mode: int = 0o644, exclusive: bool = False,
                 encoding: str = "utf-8") -> Path:
    """Write `data` to `path` atomically: a temporary file beside it, created with `mode` (0o600
    for a secret: never readable by others, not even for a moment), synced, renamed over
    `path`, and the folder synced. Returns `path`.

    exclusive: never replace an existing file (FileExistsError), so that processes creating the
    same file at once agree on the first one written (a hard link puts it in place)."""
    path = Path(path)
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
    tmp = _temporary(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            os.fchmod(fd, mode)  # whatever the umask
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync(path.parent)
    return path


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


class Stream:
    """The handle `atomic_stream` yields: `write` text; `discard()` keeps `path` as it was."""

    def __init__(self, handle: TextIO):
        self.handle, self.kept = handle, True

    def write(self, text: str) -> None:
        self.handle.write(text)

    def discard(self) -> None:
        self.kept = False


@contextmanager
def atomic_stream(path: Path, *, mode: int = 0o644, encoding: str = "utf-8") -> Iterator[Stream]:
    """Write text to `path` piece by piece, atomically (what does not fit in memory at once, such
    as a pull's pages): into a temporary file beside it, synced and renamed over `path` (the
    folder synced) when the block ends. An exception, or `discard()` in the block, removes the
    temporary file and leaves `path` untouched."""
    path = Path(path)
    tmp = _temporary(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # whatever the umask
        with os.fdopen(fd, "w", encoding=encoding, newline="\n") as handle:
            out = Stream(handle)
            yield out
            handle.flush()
            os.fsync(handle.fileno())
        if out.kept:
            os.replace(tmp, path)
            fsync(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: Path, *, sync: bool = True) -> Iterator[Path]:
    """A temporary path beside `path` for a writer that wants a path (pyarrow, DuckDB, a copy):
    renamed over `path` when the block ends (synced first, and the folder after, unless
    `sync=False`: a benchmark's scratch data); removed on an exception."""
    path = Path(path)
    tmp = _temporary(path)
    try:
        yield tmp
        if sync:
            fsync(tmp)
        os.replace(tmp, path)
        if sync:
            fsync(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
