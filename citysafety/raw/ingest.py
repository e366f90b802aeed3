"""Landing -> raw: each delivered file of a feed is loaded once, by the loader of its form.

`ingest_feed` takes a feed's delivered files in delivery order and hands each one not loaded yet
to `load_file`, which dispatches on the registry's form: the row loader
(`citysafety.raw.rows`: CSV, JSON Lines, XLSX) or the columnar loader (`citysafety.raw.columnar`:
the high-volume Parquet feed). Both write the same per-file folder of the raw store
(`citysafety.raw.store`). Loading is keyed by (file name, content hash): re-running changes
nothing; the same bytes under a new name are recorded as a duplicate delivery whose rows are
quarantined with the name of the file that already carried them. A file name whose bytes differ
from its latest loaded version (a re-send, a file appended after it was read, or an older
version's bytes sent again) loads as the name's next version (`store.FileVersion`): the earlier
loads stay, and dbt's latest-wins rules decide between the rows.
"""

from __future__ import annotations

import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from citysafety import sources as S
from citysafety import config
from citysafety.config import Settings, ingest_workers, settings
from citysafety.files import sha256_file
from citysafety.raw.columnar import load_parquet_file
from citysafety.raw.rows import load_row_file
from citysafety.raw.store import (
    FIRST, FileResult, FileVersion, commit_rejected, current_versions, delivered_files, feed_dir,
    file_hashes, is_hidden, ledger,
)

log = logging.getLogger(__name__)


def load_file(feed: S.Feed, path: Path, cfg: Settings, duplicate_of: str | None = None,
              sha: str | None = None, threads: int | None = None,
              version: FileVersion = FIRST) -> FileResult:
    """Load one delivered file (all or nothing); `threads` caps DuckDB's for the columnar loader."""
    sha = sha or sha256_file(path)
    if is_hidden(path):
        # Reported, not read: a hidden name is how uploads hide until renamed, and one that
        # stays is a delivery nobody would otherwise see (a reconciliation row, status rejected:
        # the data-health page counts it; renamed, it loads as any file).
        return commit_rejected(
            feed, path, sha, cfg,
            f"hidden file name (starts with '.'), unchanged for over "
            f"{config.hidden_report_seconds():g} s: not read; rename it to deliver it",
            duplicate_of=None, version=version)
    if feed.form == "parquet":
        # High-volume feed: validated and written column-wise by DuckDB, not row by row.
        return load_parquet_file(feed, path, cfg, duplicate_of=duplicate_of, sha=sha, threads=threads,
                                 version=version)
    return load_row_file(feed, path, cfg, duplicate_of=duplicate_of, sha=sha, version=version)


class FeedFailed(RuntimeError):
    """Some files of a feed could not be recorded at all (the raw store or the machine failed,
    not the file's content); the feed's other files were loaded. `results`: what was loaded."""

    def __init__(self, feed: S.Feed, failed: dict[str, BaseException], results: list[FileResult]):
        self.results = results
        names = "; ".join(f"{n}: {type(e).__name__}: {e}" for n, e in failed.items())
        super().__init__(f"{feed.source}/{feed.feed}: {len(failed)} file(s) not recorded, "
                         f"{len(results)} loaded; retried next run: {names}")


def pending_files(feed: S.Feed, cfg: Settings, records: list[dict] | None = None,
                  workers: int = 1) -> list[tuple[Path, str, FileVersion]]:
    """(path, sha256, version) of each settled delivered file whose bytes are not its name's
    current version: what the next ingest of the feed loads. Cheap when nothing changed (hashes
    cached by size and mtime): the landing trigger asks it every few seconds."""
    records = ledger(feed, cfg) if records is None else records
    current = current_versions(records)
    files = delivered_files(feed, cfg)
    waiting = []
    for path, sha in zip(files, file_hashes(feed, cfg, files, workers)):
        held = current.get(path.name)
        if held is not None and held["file_sha256"] == sha:
            continue  # the name's current version: loaded
        # A name loaded before with other bytes: its next version (whatever bytes it had once:
        # sent again now, they are what the department delivered last).
        waiting.append((path, sha, FIRST if held is None else FileVersion(
            max(r["file_version"] for r in records if r["file_name"] == path.name) + 1,
            held["file_sha256"])))
    return waiting


def ingest_feed(feed: S.Feed, cfg: Settings | None = None) -> list[FileResult]:
    """Load every delivered file of a feed not loaded yet. Returns what was loaded now.

    Files are taken in delivery order; a file whose bytes an earlier one carried is recorded as
    its duplicate. The Parquet feed loads files whose bytes are new in parallel
    (config.ingest_workers), then the repeats in order, which gives the same results as one
    file after another.
    """
    cfg = cfg or settings()
    for stale in feed_dir(feed, cfg).glob(".*.tmp-*"):  # left by a killed run; redone below
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
    records = ledger(feed, cfg)
    by_sha = {}
    for rec in sorted(records, key=lambda r: (r["loaded_at"], r["file_name"], r["file_version"])):
        if rec["status"] not in ("duplicate", "empty") and not rec["file_name"].startswith("."):
            by_sha.setdefault(rec["file_sha256"], rec["file_name"])
    workers = ingest_workers() if feed.form == "parquet" else 1
    waiting = pending_files(feed, cfg, records, workers)
    pending = [(path, sha) for path, sha, _ in waiting]
    versions = {path: version for path, _, version in waiting}

    def duplicate_of(path: Path, sha: str) -> str | None:
        # the bytes of another name; an earlier version of this very name is not a duplicate
        first = by_sha.get(sha)
        return None if first == path.name else first

    results: dict[Path, FileResult] = {}
    failed: dict[str, BaseException] = {}

    def guarded(path: Path, sha: str, **kw) -> FileResult | Exception:
        # A file's content never raises (every reader failure is a `rejected` verdict); what
        # still can (a full disk, a permission) stops this file only: the others load.
        try:
            return load_file(feed, path, cfg, sha=sha, version=versions[path], **kw)
        except Exception as exc:  # noqa: BLE001
            log.exception("%s/%s %s: not recorded", feed.source, feed.feed, path.name)
            return exc

    def remember(path: Path, sha: str, result: FileResult | Exception) -> None:
        if isinstance(result, Exception):
            failed[path.name] = result
            return
        results[path] = result
        # a hidden file's bytes were not loaded: renamed, they are not its duplicate
        if result.status not in ("duplicate", "empty") and not is_hidden(path):
            by_sha.setdefault(sha, path.name)

    later = pending
    if workers > 1 and len(pending) > 1:
        first: dict[str, Path] = {}
        for path, sha in pending:
            first.setdefault(sha, path)
        # bytes seen neither before nor earlier in this batch: no file can be their duplicate
        fresh = [(p, s) for p, s in pending if duplicate_of(p, s) is None and first[s] == p]
        with ThreadPoolExecutor(workers) as pool:  # DuckDB releases the GIL while it works
            done = list(pool.map(lambda ps: guarded(ps[0], ps[1], threads=1), fresh))
        for (path, sha), result in zip(fresh, done):
            remember(path, sha, result)
        later = [(p, s) for p, s in pending if p not in results and p.name not in failed]
    for path, sha in later:
        remember(path, sha, guarded(path, sha, duplicate_of=duplicate_of(path, sha)))
    loaded = [results[path] for path, _ in pending if path in results]
    if results:
        # Record the new loads in the records kept beside them (store.load_records) now, so that
        # a later run that finds nothing new writes no byte.
        ledger(feed, cfg)
    if failed:
        raise FeedFailed(feed, failed, loaded)
    return loaded


# Beside a feed's loads while an ingest task runs (loads() skips dot names): left behind, it says
# that a run was stopped (SIGKILL, a lost worker) after it may have loaded files and before it
# could announce them (the task's Asset event, which starts the build).
UNANNOUNCED = ".loaded-not-announced"


def begin_announcing(feed: S.Feed, cfg: Settings | None = None) -> bool:
    """Mark the feed's ingest as running; True when an earlier run was stopped before it could
    announce what it loaded (its files are loaded, so a rerun finds nothing new, yet no build
    has taken them: the rerun must announce the feed all the same)."""
    cfg = cfg or settings()
    marker = feed_dir(feed, cfg) / UNANNOUNCED
    stopped = marker.exists()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return stopped


def announced(feed: S.Feed, cfg: Settings | None = None) -> None:
    """The ingest task ends: what it loaded is announced by its outcome (or nothing was)."""
    (feed_dir(feed, cfg or settings()) / UNANNOUNCED).unlink(missing_ok=True)


def summarise(results: list[FileResult]) -> dict:
    """What a task run loaded, for its log and XCom."""
    return {
        "files": len(results),
        "by_status": {s: sum(r.status == s for r in results) for s in sorted({r.status for r in results})},
        "rows_delivered": sum(r.rows_delivered for r in results),
        "rows_loaded": sum(r.rows_loaded for r in results),
        "rows_quarantined": sum(r.rows_quarantined for r in results),
    }
