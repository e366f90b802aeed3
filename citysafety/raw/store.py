"""The raw store: one folder per delivered file content, and what every load writes.

`raw/<source>/<feed>/<file>-<sha12>/` holds `rows.parquet` (typed rows plus lineage),
`quarantine.parquet` (broken rows with the reason and the raw record) and
`reconciliation.parquet` (one row: delivered = loaded + quarantined). The folder is written aside
and renamed into place (`commit_load`), so a killed run leaves either a whole load or none. This
A file name delivered again with other bytes is a new version of that file (`FileVersion`):
its load gets a folder of its own (`<file>-<sha12>.v<n>`), its reconciliation names the version
and the sha256 of the version it supersedes, and every row carries `_file_version`, so both
versions stay and the mart's latest-wins rules decide between their rows. This
module is shared by the row loads (`citysafety.raw.rows`), the columnar loads
(`citysafety.raw.columnar`) and the dispatcher (`citysafety.raw.ingest`); it imports neither.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from citysafety import sources as S
from citysafety import config
from citysafety.config import Settings
from citysafety.files import atomic_path, atomic_write, sha256_file

log = logging.getLogger(__name__)

_ARROW = {
    S.TEXT: pa.string(),
    S.CHOICE: pa.string(),
    S.INT: pa.int64(),
    S.DECIMAL: pa.float64(),
    S.NUMBER: pa.float64(),
    S.DATETIME: pa.timestamp("us"),
    S.DATE: pa.date32(),
    S.BOOL: pa.bool_(),
    S.APPROX_COUNT: pa.string(),  # the delivered text; staging reads the number
}


LINEAGE = pa.schema([
    ("_source_file", pa.string()),
    ("_row_number", pa.int64()),
    ("_file_sha256", pa.string()),
    ("_loaded_at", pa.timestamp("us")),
    # which delivery of this file name the row came from (1 = first; FileVersion)
    ("_file_version", pa.int64()),
])


QUARANTINE = pa.schema([
    ("source", pa.string()),
    ("feed", pa.string()),
    ("file_name", pa.string()),
    ("row_number", pa.int64()),
    ("reason", pa.string()),
    ("raw_record", pa.string()),
    ("file_sha256", pa.string()),
    ("quarantined_at", pa.timestamp("us")),
])


RECONCILIATION = pa.schema([
    ("source", pa.string()),
    ("feed", pa.string()),
    ("file_name", pa.string()),
    ("file_sha256", pa.string()),
    ("file_bytes", pa.int64()),
    ("rows_delivered", pa.int64()),
    ("rows_loaded", pa.int64()),
    ("rows_quarantined", pa.int64()),
    ("status", pa.string()),
    ("duplicate_of", pa.string()),
    ("notes", pa.string()),
    ("loaded_at", pa.timestamp("us")),
    # FileVersion: the n-th delivery of this file name with new bytes, and the sha256 of the
    # version it replaces (null for a first delivery). Loads recorded before versions existed
    # have neither; ledger() numbers them by load time.
    ("file_version", pa.int64()),
    ("supersedes", pa.string()),
])


@dataclass(frozen=True)
class FileVersion:
    """Which delivery of a file name a load is: `number` 1 for the first bytes delivered under
    the name, n for the n-th time the name arrived with bytes other than its current version's
    (a re-send; bytes of an older version again count too: the department sent them last);
    `supersedes` the sha256 of the version it replaces."""

    number: int = 1
    supersedes: str | None = None

    @property
    def is_resend(self) -> bool:
        return self.number > 1


FIRST = FileVersion()


# Lineage that is the same on every row of a file. The high-volume Parquet feed does not store
# it in rows.parquet: written per row, a 64-character constant costs DuckDB's Parquet writer more
# than the readings themselves (measured: +0.4 s on 7.3M rows, where the rows take 0.4 s).
# prepare_build attaches them per file from the load's reconciliation (build.raw_select), so
# the raw view still has raw_schema(feed).
PER_FILE_LINEAGE = ("_source_file", "_file_sha256", "_file_version")


def raw_schema(feed: S.Feed) -> pa.Schema:
    """The raw table's (or view's) schema: the registry's typed columns, then the lineage."""
    fields = [(c.name, _ARROW[c.kind]) for c in feed.columns]
    return pa.schema(fields + list(LINEAGE))


def raw_file_schema(feed: S.Feed) -> pa.Schema:
    """The schema of a load's rows.parquet: raw_schema, less the per-file lineage for Parquet feeds."""
    schema = raw_schema(feed)
    if feed.form != "parquet":
        return schema
    return pa.schema([f for f in schema if f.name not in PER_FILE_LINEAGE])


@dataclass
class FileResult:
    file_name: str
    status: str
    rows_delivered: int
    rows_loaded: int
    rows_quarantined: int


def loads(feed: S.Feed, cfg: Settings) -> list[Path]:
    """Folders of completed file loads of a feed (renamed into place, so always whole)."""
    base = feed_dir(feed, cfg)
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir()
                  if not p.name.startswith(".") and (p / "reconciliation.parquet").exists())


def quiet_seconds(feed: S.Feed) -> float:
    """How long a landed file of the feed must stay unchanged before it is read: a department's
    upload may still be growing (config.landing_quiet_seconds), but the extracts of a pulled feed
    are written aside by the platform itself and renamed whole (citysafety.files.atomic_stream),
    so the load that follows a pull takes them at once."""
    return 0.0 if feed.pull is not None else config.landing_quiet_seconds()


def delivered_files(feed: S.Feed, cfg: Settings) -> list[Path]:
    """The landed files to take now. Partial uploads (`.tmp`, `.part`) and files changed within
    config.landing_quiet_seconds (still being written) wait for a later run. A hidden name
    (starting with '.') is an upload in progress too, until it has stayed unchanged for
    config.hidden_report_seconds: then it is taken, to be reported (`is_hidden`), not read."""
    folder = cfg.landing / feed.source / feed.feed
    if not folder.is_dir():
        return []
    quiet, hidden_after = quiet_seconds(feed), config.hidden_report_seconds()
    now_s = time.time()
    files = []
    for p in folder.iterdir():
        try:
            if not p.is_file() or p.name.endswith((".tmp", ".part")):
                continue
            age = now_s - max(p.stat().st_mtime, p.stat().st_ctime)
        except OSError:  # gone between listing and stat: a rename in progress
            continue
        if age < quiet or (is_hidden(p) and age < hidden_after):
            continue
        files.append(p)
    return sorted(files)


def settles_in(feed: S.Feed, cfg: Settings) -> float | None:
    """Seconds until the first of the feed's landed files still being written (changed within
    config.landing_quiet_seconds) will have been quiet long enough to be taken; None when no file
    is settling. Hidden names (uploads in progress, reported much later) and partial uploads are
    left out, as delivered_files leaves them."""
    quiet, now_s, waits = quiet_seconds(feed), time.time(), []
    try:
        with os.scandir(cfg.landing / feed.source / feed.feed) as listing:
            for entry in listing:
                if entry.name.startswith(".") or entry.name.endswith((".tmp", ".part")):
                    continue
                try:
                    st = entry.stat()
                except OSError:  # gone between listing and stat: a rename in progress
                    continue
                age = now_s - max(st.st_mtime, st.st_ctime)
                if age < quiet:
                    waits.append(quiet - age)
    except FileNotFoundError:
        return None
    return min(waits) if waits else None


def look_signature(feed: S.Feed, cfg: Settings) -> tuple | None:
    """What `delivered_files` and the ledger of a feed depend on, cheaply: the landed files'
    names, sizes and times, and the raw feed folder's mtime (a load is renamed into it). Equal
    signatures give the same pending files. None while a landed file may still settle (changed
    within the quiet seconds, or hidden and younger than the report time): then only a full
    look tells. Partial uploads (`.tmp`, `.part`) are left out, as delivered_files leaves them."""
    try:
        raw = os.stat(feed_dir(feed, cfg)).st_mtime_ns
    except FileNotFoundError:
        raw = None
    quiet, hidden_after = quiet_seconds(feed), config.hidden_report_seconds()
    now_s = time.time()
    entries = []
    try:
        with os.scandir(cfg.landing / feed.source / feed.feed) as listing:
            for entry in listing:
                if entry.name.endswith((".tmp", ".part")):
                    continue
                try:
                    st = entry.stat()
                except OSError:  # gone between listing and stat: a rename in progress
                    return None
                if now_s - max(st.st_mtime, st.st_ctime) < (hidden_after if entry.name.startswith(".")
                                                           else quiet):
                    return None
                entries.append((entry.name, entry.is_file(), st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    except FileNotFoundError:
        pass
    return raw, tuple(sorted(entries))


_NAME_DATE = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")
_SHANGHAI = timezone(timedelta(hours=8))


def delivered_by(path: Path) -> datetime:
    """The latest instant (Asia/Shanghai wall time, as the registry's dates) the file's rows can
    describe: its landing time (mtime), or the end of the day its name carries (YYYYMMDD, as
    the agreements name daily and snapshot files) when that is later (a file copied with its
    old mtime kept), plus config.future_tolerance_days."""
    landed = datetime.fromtimestamp(path.stat().st_mtime, _SHANGHAI).replace(tzinfo=None)
    match = _NAME_DATE.search(path.name)
    if match:
        try:
            named = datetime(*map(int, match.groups())) + timedelta(days=1)
        except ValueError:
            named = landed
        landed = max(landed, named)
    return landed + timedelta(days=config.future_tolerance_days())


def is_hidden(path: Path) -> bool:
    return path.name.startswith(".")


def feed_dir(feed: S.Feed, cfg: Settings) -> Path:
    return cfg.raw / feed.source / feed.feed


def ledger(feed: S.Feed, cfg: Settings) -> list[dict]:
    """What has been loaded: the reconciliation record of every load, each with its
    `file_version` (loads recorded before versions existed are numbered by load time)."""
    return [rec for _, rec in load_records(loads(feed, cfg))]


_RECORDS: dict[tuple[str, int], dict] = {}  # (load folder, mtime of its record) -> record
# Per feed, beside its loads (loads() skips dot names): every load's record as of the last read,
# with the folder's name and the record's mtime. A process starting cold (each Airflow task is
# one) reads this one file instead of a small Parquet file per load: prepare_build spent 3.4 of
# its 4.1 s reading ~4,800 of them on a small home, at every build.
_KEPT_RECORDS = ".records-by-load.parquet"
_KEY_FIELDS = [pa.field("_load", pa.string()), pa.field("_record_mtime_ns", pa.int64())]


def _kept_records(parent: Path) -> dict[tuple[str, int], dict]:
    """The records kept beside the loads of `parent`; none if the file is missing, unreadable
    or of another schema (written before the record changed): they are read from the loads."""
    try:
        table = pq.read_table(parent / _KEPT_RECORDS)
    except (OSError, pa.ArrowException):
        return {}
    if table.schema.remove_metadata() != pa.schema([*RECONCILIATION, *_KEY_FIELDS]):
        return {}
    kept = {}
    for rec in table.to_pylist():
        kept[(str(parent / rec.pop("_load")), rec.pop("_record_mtime_ns"))] = rec
    return kept


def _keep_records(parent: Path, keys: list[tuple[str, int]]) -> None:
    """Write the records of these loads (all of `parent`) beside them, for the next process. A
    derived copy: a failed write (another process replacing it the same instant) is not an error."""
    rows = [{**_RECORDS[key], "_load": Path(key[0]).name, "_record_mtime_ns": key[1]} for key in keys]
    try:
        with atomic_path(parent / _KEPT_RECORDS, sync=False) as tmp:
            pq.write_table(pa.Table.from_pylist(rows, schema=pa.schema([*RECONCILIATION, *_KEY_FIELDS])), tmp)
    except (OSError, pa.ArrowException) as exc:
        log.warning("could not keep the load records of %s: %s", parent, exc)


def load_records(folders: list[Path]) -> list[tuple[Path, dict]]:
    """(load folder, its reconciliation record) for each folder, `file_version` always set:
    loads recorded before versions existed are numbered 1, 2, ... by load time per file name
    (they are older than any numbered load, whose numbers counted them)."""
    if not folders:
        return []
    # A load folder never changes once renamed into place (commit_load): its record is read once
    # per process, and the landing trigger, which asks every few seconds, reads only new loads.
    # Kept by path and the file's mtime, so a folder replaced by hand is read again.
    keys = [(str(f), (f / "reconciliation.parquet").stat().st_mtime_ns) for f in folders]
    new = [(f, key) for f, key in zip(folders, keys) if key not in _RECORDS]
    for parent in sorted({f.parent for f, _ in new}):
        kept = _kept_records(parent)
        _RECORDS.update({key: kept[key] for f, key in new if f.parent == parent and key in kept})
    new = [(f, key) for f, key in new if key not in _RECORDS]
    if new:
        # one multi-file read: a year of daily files is 365 small Parquet files
        read = pq.ParquetDataset([str(f / "reconciliation.parquet") for f, _ in new],
                                 schema=RECONCILIATION).read().to_pylist()
        if len(read) != len(new):  # one row each, read in folder order
            raise RuntimeError(f"{len(new)} loads but {len(read)} reconciliation rows under "
                               f"{new[0][0].parent}: a load folder was changed by hand")
        _RECORDS.update(zip((key for _, key in new), read))
        for parent in sorted({f.parent for f, _ in new}):
            _keep_records(parent, [key for f, key in zip(folders, keys) if f.parent == parent])
    records = [dict(_RECORDS[key]) for key in keys]  # copies: numbered below
    legacy: dict[str, list[dict]] = {}
    for rec in records:
        if rec["file_version"] is None:
            legacy.setdefault(rec["file_name"], []).append(rec)
    for recs in legacy.values():
        for number, rec in enumerate(sorted(recs, key=lambda r: r["loaded_at"]), start=1):
            rec["file_version"] = number
    return list(zip(folders, records))


def current_versions(records: list[dict]) -> dict[str, dict]:
    """file name -> the record of its latest version."""
    current: dict[str, dict] = {}
    for rec in records:
        held = current.get(rec["file_name"])
        if held is None or rec["file_version"] > held["file_version"]:
            current[rec["file_name"]] = rec
    return current


_HASHES = ".sha256-by-stat.json"  # per feed, beside its loads (loads() skips dot names)


def file_hashes(feed: S.Feed, cfg: Settings, files: list[Path], workers: int) -> list[str]:
    """sha256 of each delivered file. A file whose size and mtime (ns) are what they were when
    it was last hashed is not read again, as git's index does: a day's run then reads the new
    file, not the year of files before it. Any change of size or mtime rehashes."""
    cache_path = feed_dir(feed, cfg) / _HASHES
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    stats = {p.name: p.stat() for p in files}

    def sha(path: Path) -> str:
        st, hit = stats[path.name], cache.get(path.name)
        if isinstance(hit, list) and hit[:2] == [st.st_size, st.st_mtime_ns]:
            return hit[2]
        return sha256_file(path)

    if workers > 1 and len(files) > 1:
        with ThreadPoolExecutor(workers) as pool:  # hashlib releases the GIL on large reads
            shas = list(pool.map(sha, files))
    else:
        shas = [sha(p) for p in files]
    # A file changed twice within the file system's timestamp granularity could keep size and
    # mtime ("racy git"): only files unchanged for a while are remembered.
    settled = time.time_ns() - 2_000_000_000
    fresh = {p.name: [stats[p.name].st_size, stats[p.name].st_mtime_ns, h]
             for p, h in zip(files, shas) if stats[p.name].st_mtime_ns < settled}
    if fresh != cache and files:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cache_path, json.dumps(fresh))
    return shas


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd")


def file_status(delivered: int, loaded: int, duplicate: bool, rejected: bool) -> str:
    if duplicate and delivered:
        return "duplicate"
    if rejected:
        return "rejected"
    if delivered == 0:
        return "empty"
    if loaded == 0:
        return "rejected"
    return "partial" if loaded < delivered else "loaded"


def reconciliation_table(feed: S.Feed, path: Path, sha: str, loaded_at: datetime, *,
                         delivered: int, loaded: int, quarantined: int, status: str,
                         duplicate_of: str | None, notes: list[str],
                         version: FileVersion = FIRST) -> pa.Table:
    if version.is_resend:
        notes = [*notes, f"re-sent: version {version.number} of {path.name}, "
                         f"supersedes the content {version.supersedes[:12]}"]
    return pa.Table.from_pylist([{
        "source": feed.source, "feed": feed.feed, "file_name": path.name, "file_sha256": sha,
        "file_bytes": path.stat().st_size, "rows_delivered": delivered, "rows_loaded": loaded,
        "rows_quarantined": quarantined, "status": status,
        "duplicate_of": duplicate_of if status == "duplicate" else None,
        "notes": "; ".join(notes) or None, "loaded_at": loaded_at,
        "file_version": version.number, "supersedes": version.supersedes,
    }], schema=RECONCILIATION)


_NAME_MAX = 200  # bytes of a load folder's name (file systems allow 255; the tmp name adds some)


def load_folder_name(file_name: str, sha: str, version: FileVersion = FIRST) -> str:
    """`<file>-<sha12>`, the load folder of a file; `<file>-<sha12>.v<n>` for its n-th version
    (n > 1: the bytes of an earlier version sent again need a folder of their own). A name
    starting with a dot gets `%2E` instead (loads() skips dot names); a name too long for the
    file system keeps its first bytes."""
    name = "%2E" + file_name[1:] if file_name.startswith(".") else file_name
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) > _NAME_MAX:
        name = raw[:_NAME_MAX].decode("utf-8", "ignore") + "~"
    suffix = f".v{version.number}" if version.is_resend else ""
    return f"{name}-{sha[:12]}{suffix}"


def exception_text(exc: BaseException) -> str:
    """An exception as a reason: its type and the first line of its message, at most 300 characters."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__


def commit_rejected(feed: S.Feed, path: Path, sha: str, cfg: Settings, reason: str, *,
                    notes: list[str] | None = None, duplicate_of: str | None = None,
                    version: FileVersion = FIRST) -> FileResult:
    """Record a file none of whose rows could be read: one delivered record, quarantined with
    `reason` (the file's name as its raw record), so that it adds up, shows in quarantine and is
    in the ledger (not read again until its bytes change)."""
    loaded_at = now()
    notes = [*(notes or []), reason]
    reason = f"file rejected: {reason}"
    if duplicate_of:
        reason = f"duplicate delivery: identical content already loaded from {duplicate_of} (there: {reason})"
    status = file_status(1, 0, bool(duplicate_of), True)

    def write(folder: Path) -> pa.Table:
        write_parquet(pa.Table.from_pylist([], schema=raw_file_schema(feed)), folder / "rows.parquet")
        write_parquet(pa.Table.from_pylist([{
            "source": feed.source, "feed": feed.feed, "file_name": path.name, "row_number": 0,
            "reason": reason, "raw_record": path.name, "file_sha256": sha, "quarantined_at": loaded_at,
        }], schema=QUARANTINE), folder / "quarantine.parquet")
        return reconciliation_table(feed, path, sha, loaded_at, delivered=1, loaded=0, quarantined=1,
                                    status=status, duplicate_of=duplicate_of, notes=notes,
                                    version=version)

    commit_load(feed, path, sha, cfg, write, version)
    log.warning("%s/%s %s: %s, %s", feed.source, feed.feed, path.name, status, reason)
    return FileResult(path.name, status, 1, 0, 1)


def commit_load(feed: S.Feed, path: Path, sha: str, cfg: Settings, write,
                version: FileVersion = FIRST) -> Path:
    """Write one file's load aside, then rename it into place (all or nothing).

    `write(folder)` must create rows.parquet and quarantine.parquet in `folder` and return the
    reconciliation table, which is written last.
    """
    target = feed_dir(feed, cfg) / load_folder_name(path.name, sha, version)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        recon = write(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # nothing half-written stays behind
        raise
    write_parquet(recon, tmp / "reconciliation.parquet")
    if target.exists():  # only after a crash between an earlier rmtree and rename
        shutil.rmtree(target)
    os.rename(tmp, target)
    return target
