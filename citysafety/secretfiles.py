"""Secret files of the platform: readable by their owner only (file 0600, folder 0700).

Every secret the platform writes goes through ``write_secret`` (demo account hashes and
passwords, the dashboard's session signing key, the emb demo API token, Airflow's simple auth
manager password file), and every secret store it opens is made private with ``private_file``
(the sign-in store). A file is written by the one atomic writer (`citysafety.files`) with mode
0600 from the start, so a reader never sees a half-written or world-readable secret.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from citysafety.files import atomic_write

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create the folder (and parents) when missing and make it 0700."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
        os.chmod(path, DIR_MODE)
    return path


def write_secret(path: Path, data: str | bytes, *, exclusive: bool = False,
                 private_parent: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically with mode 0600.

    exclusive: never replace an existing file (raise FileExistsError), so that several processes
    creating the same secret at once agree on the first one written (a hard link puts it in place).
    private_parent: make the folder 0700 too (off for a folder shared with non-secret files).
    """
    path = Path(path)
    if private_parent:
        private_dir(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, data, mode=FILE_MODE, exclusive=exclusive)


def private_file(path: Path) -> Path:
    """Make an existing file 0600 (or create it empty with that mode)."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    if stat.S_IMODE(path.stat().st_mode) != FILE_MODE:
        os.chmod(path, FILE_MODE)
    return path


def read_or_create_secret(path: Path, make) -> str:
    """The secret in ``path``; created with ``make()`` (first writer wins) when missing."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    if text:
        private_file(path)
        return text
    try:
        write_secret(path, make() + "\n", exclusive=not path.exists())
    except FileExistsError:
        pass  # another process wrote it first: use theirs
    return path.read_text(encoding="utf-8").strip()
