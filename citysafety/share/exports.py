"""Per-department exports and read-only analyst files, made from one published warehouse.

After each successful publish, `export_all(cfg)` writes for every principal of the access
policy (`policy/access.yml`: the leader, each department, each street office):

    exports/<name>/<export_id>/          one folder per publish, never changed once in place
        <name>.duckdb                    analyst file: only its tables, only its streets' rows
        <relation>.parquet               each shared table it may see (marts.*); during a version
                                         change both relations (fct_x, fct_x_v2), each with its version
        <relation>.xlsx                  the same with Chinese headers (citysafety.share.labels)
        manifest.json                    table, version, rows, sha256 of every file, published_at
        briefing_YYYYMM.pdf              the monthly briefing (citysafety.share.briefing) of its rows
                                         of marts.rpt_monthly_briefing: the district's, or its street's
    exports/<name>/current  -> <export_id>   switched atomically (os.replace of a new symlink)
    exports/<name>/previous -> <older id>    kept for readers that still hold it; older pruned

`export_id` is `<publish time>-<sha256[:12] of the warehouse file>`. An export never mixes two
publishes: the live warehouse is first pinned (a hard link, or a copy from one open file, taken
under an exclusive lock), and everything of one run is read from that pinned file through one
read-only connection, whatever publishes meanwhile. Each folder is written aside
(`.tmp-<id>-<pid>`) and renamed into place, so a failure leaves the previous `current` as it
was. Files are made read-only (0444).

Readers: `analyst_file(cfg, name)` is the path to open with `duckdb.connect(path,
read_only=True)`; `current_manifest(cfg, name)` the manifest. The dashboards read a signed-in
department's or street office's analyst file instead of the warehouse (dashboards.auth).
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import sys
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from citysafety.share import briefing, contracts, labels
from citysafety.files import fsync, sha256_file
from citysafety.sql import ident, literal
from citysafety.share import policy as P
from citysafety.config import Settings, settings

log = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
CURRENT, PREVIOUS = "current", "previous"
MANIFEST = "manifest.json"
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit less the header row
_FETCH = 10_000


class ExportFailed(RuntimeError):
    pass


def exports_dir(cfg: Settings) -> Path:
    return cfg.home / "exports"


def analyst_file(cfg: Settings, name: str) -> Path:
    """The analyst DuckDB file of a principal in its current export (open it read-only)."""
    return exports_dir(cfg) / name / CURRENT / f"{name}.duckdb"


def current_briefing(cfg: Settings, name: str) -> Path | None:
    """The monthly briefing PDF (briefing_YYYYMM.pdf) in a principal's current export, or None
    (the policy grants it no briefing, or nothing is exported yet). The path is inside the export
    folder `current` points at now, so a switch meanwhile cannot pair one manifest with another
    publish's file."""
    try:
        folder = (exports_dir(cfg) / name / CURRENT).resolve(strict=True)
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    entry = manifest.get("briefing")
    if not entry:
        return None
    path = folder / entry["path"]
    return path if path.is_file() else None


def current_manifest(cfg: Settings, name: str) -> dict | None:
    path = exports_dir(cfg) / name / CURRENT / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


# --- helpers ----------------------------------------------------------------------------------


@contextmanager
def _locked(root: Path):
    """One export run at a time (several build runs must not interleave their switches)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _pinned_warehouse(cfg: Settings, root: Path):
    """The live warehouse file pinned for the whole run: a hard link to the inode that is live
    now (a later publish replaces the name, not this inode), or a copy read from one open file
    where hard links are impossible. Yields (path, stat of the pinned file)."""
    live = cfg.warehouse_db
    snapshots = root / ".snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    for stale in snapshots.iterdir():
        stale.unlink()
    pinned = snapshots / f"{os.getpid()}.duckdb"
    try:
        os.link(live, pinned)
    except FileNotFoundError:
        raise ExportFailed(f"no published warehouse at {live}: nothing to export") from None
    except OSError:
        with live.open("rb") as src, pinned.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            mtime = os.fstat(src.fileno()).st_mtime_ns
        os.utime(pinned, ns=(mtime, mtime))
    try:
        yield pinned, pinned.stat()
    finally:
        pinned.unlink(missing_ok=True)


YES, NO = "是", "否"


def _cell(value, sheet=None):
    """A DuckDB value as an XLSX cell (openpyxl): naive datetimes, no control characters, and
    text that starts like a formula (=HYPERLINK(...), delivered text) kept as text: a shared
    table never carries a formula into a department's Excel."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(LOCAL_TZ).replace(tzinfo=None)
    if isinstance(value, bool):
        # A person reads the workbook: 是/否, not Excel's TRUE/FALSE (issue 13). The Parquet file
        # beside it keeps the boolean for programs.
        return YES if value else NO
    if value is None or isinstance(value, (int, float, dt.date, dt.time, dt.timedelta)):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if sheet is not None and text.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"
        return cell
    return text


def _write_xlsx(path: Path, cursor, columns: list[str], table: contracts.SharedTable,
                relation: str, version: int, about: dict) -> int:
    """One sheet 数据 (Chinese headers, header row frozen) and one sheet 说明 (what it is)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    data = wb.create_sheet("数据")
    data.freeze_panes = "A2"
    data.append([labels.label(table.name, c) for c in columns])
    rows = 0
    while batch := cursor.fetchmany(_FETCH):
        for row in batch:
            data.append([_cell(v, data) for v in row])
        rows += len(batch)
    sheet = wb.create_sheet("说明")
    descriptions = {c.name: c.description for c in contracts.relation_contracts().get(relation, [])}
    for key, value in (("数据表", f"marts.{relation}"), ("版本", version),
                       ("说明", table.description_zh), ("负责单位", table.owner), *about.items()):
        sheet.append([key, _cell(value, sheet)])
    sheet.append([])
    sheet.append(["列名", "中文名", "说明（dbt 契约）"])
    for c in columns:
        sheet.append([c, labels.label(table.name, c), descriptions.get(c, "")])
    wb.save(path)
    return rows


# --- one principal ----------------------------------------------------------------------------


def _grants(policy: P.Policy, principal: P.Principal, present: dict[str, list[str]]):
    """(qualified relation, shared table or None, version or None) the principal may see."""
    marts = {q.split(".", 1)[1] for q in present if q.startswith("marts.")}
    out = []
    shared_relations = set()
    for table, relation, version in contracts.published_relations(marts):
        shared_relations.add(f"marts.{relation}")
        if principal.sees_table(table.qualified):
            out.append((f"marts.{relation}", table, version))
    for qualified in P.AUDIT_TABLES:
        if qualified in present and principal.sees_table(qualified):
            out.append((qualified, None, None))
    if principal.tables is None:  # everything: tables published but not (yet) registered too
        known = shared_relations | set(P.AUDIT_TABLES)
        out += [(q, None, None) for q in sorted(present) if q not in known]
    return out


def _select(policy: P.Policy, principal: P.Principal, qualified: str, table: contracts.SharedTable | None,
            columns: list[str]) -> tuple[str, dict] | None:
    """What `principal` may see of relation `qualified` (SQL over catalog `wh`, parameters).

    The policy grants, withholds and cuts rows per shared table, by the table's name: every
    relation of the table (`marts.fct_x` and, during a version change, `marts.fct_x_v2`) is read
    under the table's rules, with its own columns (so the street filter applies to each)."""
    if table is None or qualified == table.qualified:
        return P.select_sql(policy, principal, "wh", qualified, columns)
    return P.select_sql(policy, principal, "wh", table.qualified, columns,
                        relation=qualified.split(".", 1)[1])


def _export_principal(con: duckdb.DuckDBPyConnection, policy: P.Policy, principal: P.Principal,
                      present: dict[str, list[str]], dest: Path, folder: str, publish: dict) -> dict:
    name = principal.name
    tmp = dest / f".tmp-{folder}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    analyst = tmp / f"{name}.duckdb"
    con.execute(f"attach {literal(analyst)} as out")
    tables, analyst_tables = [], []
    scope = "全区" if principal.streets is None else "仅本街道：" + "、".join(principal.streets)
    about = {"发布批次": publish["publish_id"], "发布时间": publish["published_at"],
             "导出对象": f"{principal.name_zh}（{scope}）"}
    try:
        for qualified, table, version in _grants(policy, principal, present):
            schema, relation = qualified.split(".", 1)
            select = _select(policy, principal, qualified, table, present[qualified])
            if select is None:
                continue
            sql, params = select
            con.execute(f"create schema if not exists out.{ident(schema)}")
            con.execute(f"create table out.{ident(schema)}.{ident(relation)} as {sql}", params)
            columns = [r[0] for r in con.execute(
                "select column_name from duckdb_columns() where database_name = 'out' "
                "and schema_name = ? and table_name = ? order by column_index", [schema, relation]).fetchall()]
            rows = con.execute(f"select count(*) from out.{ident(schema)}.{ident(relation)}").fetchone()[0]
            analyst_tables.append({"table": qualified, "rows": rows})
            if table is None:
                continue  # not a shared table: in the analyst file only
            source = f"select * from out.{ident(schema)}.{ident(relation)}"
            parquet = tmp / f"{relation}.parquet"
            con.execute(f"copy ({source}) to {literal(parquet)} (format parquet, compression zstd)")
            files = {"parquet": parquet}
            entry = {
                "table": qualified, "name": table.name, "relation": relation, "version": version,
                "description_zh": table.description_zh, "owner": table.owner, "rows": rows,
                "streets": list(principal.streets) if principal.streets is not None and
                policy.street_column in columns else None,
                "columns": [{"name": c, "label": labels.label(table.name, c)} for c in columns],
            }
            if rows <= XLSX_MAX_ROWS:
                xlsx = tmp / f"{relation}.xlsx"
                written = _write_xlsx(xlsx, con.execute(source), columns, table, relation, version, about)
                assert written == rows, (qualified, written, rows)
                files["xlsx"] = xlsx
            else:
                entry["xlsx_omitted"] = f"{rows} 行，超过 Excel 上限，请使用 Parquet"
            entry["files"] = {kind: {"path": p.name, "sha256": sha256_file(p), "bytes": p.stat().st_size}
                              for kind, p in files.items()}
            tables.append(entry)
        # The monthly briefing, from the rows just written for this principal (the policy has cut
        # them already: a street office's briefing cannot hold another street).
        pdf = briefing.write(con, "out", list(principal.streets) if principal.streets is not None else None,
                             tmp, principal_name=principal.name_zh, publish_id=publish["publish_id"])
        con.execute("checkpoint out")
    finally:
        con.execute("detach out")
    leftovers = [p.name for p in tmp.iterdir() if p.name.endswith(".wal")]
    if leftovers:
        raise ExportFailed(f"{name}: analyst file left {leftovers}")
    manifest = {
        "principal": name, "kind": principal.kind, "name_zh": principal.name_zh,
        "streets": list(principal.streets) if principal.streets is not None else None,
        **publish,
        "export_id": folder,
        "exported_at": dt.datetime.now(LOCAL_TZ).isoformat(timespec="seconds"),
        "policy_version": policy.version, "policy_sha256": policy.digest,
        "analyst_file": {"path": analyst.name, "sha256": sha256_file(analyst),
                         "bytes": analyst.stat().st_size, "tables": analyst_tables},
        "tables": tables,
        "briefing": {"path": pdf.name, "sha256": sha256_file(pdf), "bytes": pdf.stat().st_size}
        if pdf is not None else None,
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    for path in tmp.iterdir():
        path.chmod(0o444)
        fsync(path)
    fsync(tmp)
    os.rename(tmp, dest / folder)
    fsync(dest)
    return manifest


def _link_target(link: Path) -> str | None:
    try:
        return os.readlink(link)
    except (FileNotFoundError, OSError):
        return None


def _switch(dest: Path, folder: str) -> None:
    """Point `current` at `folder` atomically; the former current becomes `previous`."""
    old = _link_target(dest / CURRENT)
    if old == folder:
        return
    for link_name, target in ((PREVIOUS, old), (CURRENT, folder)):
        if target is None:
            continue
        tmp = dest / f".{link_name}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        os.symlink(target, tmp)  # relative: the folder beside the link
        os.replace(tmp, dest / link_name)
    fsync(dest)


def _prune(dest: Path) -> list[str]:
    keep = {_link_target(dest / CURRENT), _link_target(dest / PREVIOUS)}
    removed = []
    for path in dest.iterdir():
        if path.is_symlink() or not path.is_dir() or path.name in keep:
            continue
        shutil.rmtree(path, ignore_errors=True)  # also .tmp-* of runs that died (we hold the lock)
        removed.append(path.name)
    return removed


def _reusable(dest: Path, folder: str, policy: P.Policy) -> bool:
    try:
        manifest = json.loads((dest / folder / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return False
    return manifest.get("policy_sha256") == policy.digest


# --- all principals ---------------------------------------------------------------------------


def export_all(cfg: Settings | None = None, principals: list[str] | None = None) -> dict:
    """Export the live warehouse for every principal of the policy (or the ones named).

    Returns a JSON-able summary (publish id, and per principal the export id and rows per
    table). Raises ExportFailed after trying every principal if any failed; a failed principal
    keeps its previous `current`.
    """
    cfg = cfg or settings()
    policy = P.load()
    root = exports_dir(cfg)
    names = principals or list(policy.principals)
    summary: dict = {"exports": {}}
    failures: dict[str, str] = {}
    with _locked(root), _pinned_warehouse(cfg, root) as (pinned, stat):
        sha = sha256_file(pinned)
        published_at = dt.datetime.fromtimestamp(stat.st_mtime_ns / 1e9, tz=LOCAL_TZ)
        publish = {
            "publish_id": f"{published_at:%Y%m%dT%H%M%S}-{sha[:12]}",
            "published_at": published_at.isoformat(timespec="seconds"),
            "warehouse_sha256": sha,
        }
        summary.update(publish)
        con = duckdb.connect()
        try:
            con.execute(f"attach {literal(pinned)} as wh (read_only)")
            present: dict[str, list[str]] = {}
            for schema, table, column in con.execute(
                    "select schema_name, table_name, column_name from duckdb_columns() "
                    "where database_name = 'wh' order by schema_name, table_name, column_index").fetchall():
                present.setdefault(f"{schema}.{table}", []).append(column)
            for name in names:
                principal = policy.principal(name)
                dest = root / name
                dest.mkdir(parents=True, exist_ok=True)
                folder = publish["publish_id"]
                if (dest / folder).exists() and not _reusable(dest, folder, policy):
                    folder = f"{folder}-p{policy.digest[:8]}"  # same publish, policy changed since
                try:
                    reused = (dest / folder).exists() and _reusable(dest, folder, policy)
                    if not reused:
                        _export_principal(con, policy, principal, present, dest, folder, publish)
                    _switch(dest, folder)
                    _prune(dest)
                except Exception as exc:  # noqa: BLE001 - reported below, the others still run
                    log.exception("export for %s failed", name)
                    failures[name] = f"{type(exc).__name__}: {exc}"
                    shutil.rmtree(dest / f".tmp-{folder}-{os.getpid()}", ignore_errors=True)
                    continue
                manifest = json.loads((dest / folder / MANIFEST).read_text(encoding="utf-8"))
                summary["exports"][name] = {
                    "export_id": folder, "reused": reused,
                    "tables": {t["table"]: t["rows"] for t in manifest["tables"]},
                }
        finally:
            con.close()
    log.info("exported publish %s for %d principals%s", summary["publish_id"], len(summary["exports"]),
             f"; failed: {sorted(failures)}" if failures else "")
    if failures:
        raise ExportFailed("exports failed (their previous export stays current): "
                           + "; ".join(f"{k}: {v}" for k, v in failures.items()))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export the published warehouse per department and street office.")
    parser.add_argument("--home", type=Path, help="CITYSAFETY_HOME (default: the environment's)")
    parser.add_argument("principals", nargs="*", help="only these principals (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cfg = Settings(home=args.home.resolve()) if args.home else settings()
    summary = export_all(cfg, args.principals or None)
    print(json.dumps({k: v for k, v in summary.items() if k != "exports"}, ensure_ascii=False))
    for name, info in summary["exports"].items():
        print(f"{name}: {exports_dir(cfg) / name / CURRENT} -> {info['export_id']} "
              f"({len(info['tables'])} tables)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
