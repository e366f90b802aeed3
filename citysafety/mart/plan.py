"""Which part of the mart a build rebuilds: what is downstream of the feeds that changed.

The build copy keeps every model of the last build (build.py), so a build started by deliveries
needs to rebuild only the models downstream of the feeds they changed, as `dbt build --select
source:<feed>+` does, plus what changes with every build whatever was delivered:

- the models over the audit trail (reconciliation, quarantine, freshness: every load adds to it);
- the models that read the as-of date ("today"), when it is another day than the last
  published build's.

Everything is rebuilt when the run was not started by deliveries (by hand, `make pipeline`, the
scheduler's first run), when the dbt project changed since the last published build (its
manifest's checksums), or when no build was published from this build copy yet. A build that
fails keeps its feeds pending: the next build takes them too, until one is published
(`published`). The state is a small JSON file beside the build copy, written atomically.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from citysafety import config
from citysafety.files import atomic_write

STATE_FILE = "build_plan.json"
# Every node of the project: the selection of a full build.
EVERYTHING = "package:citysafety"
# The macros through which a model reads "today" (dbt_project/macros/as_of_date.sql).
AS_OF_MACROS = frozenset({"macro.citysafety.as_of_date", "macro.citysafety.beijing_today"})


def _manifest() -> dict:
    return json.loads((config.DBT_PROJECT_DIR / "target" / "manifest.json").read_text(encoding="utf-8"))


def fingerprint(manifest: dict) -> str:
    """One hash of every node's and macro's checksum: changes when the project's code does."""
    h = hashlib.sha256()
    for section in ("nodes", "macros", "sources", "seeds"):
        for unique_id, node in sorted(manifest.get(section, {}).items()):
            checksum = (node.get("checksum") or {}).get("checksum") or json.dumps(
                node.get("config", {}), sort_keys=True, default=str)
            h.update(f"{unique_id}={checksum}\n".encode())
    h.update(json.dumps(manifest.get("metadata", {}).get("dbt_version")).encode())
    return h.hexdigest()


def _source_selectors(manifest: dict, feed_ids: list[str]) -> list[str]:
    """`source:<dbt source>.<table>+` for each feed (raw.<source>__<feed>) and for the audit
    and operations tables (every load changes the audit trail; the operations database changes
    between deliveries: acknowledgements, handling), whatever dbt source groups declare them."""
    tables = {f"{n['schema']}.{n['identifier']}": f"source:{n['source_name']}.{n['name']}+"
              for n in manifest["sources"].values()}
    wanted = [f"raw.{feed_id}" for feed_id in feed_ids]
    missing = [w for w in wanted if w not in tables]
    if missing:
        raise ValueError(f"no dbt source for {', '.join(missing)} (dbt_project/models/staging)")
    audit = sorted(sel for table, sel in tables.items() if table.startswith(("audit.", "operations.")))
    return sorted({tables[w] for w in wanted}) + audit


def _as_of_models(manifest: dict) -> list[str]:
    """Models that read the as-of date, directly or through a macro of this project."""
    macros = set(AS_OF_MACROS)
    grew = True
    while grew:
        grew = False
        for unique_id, macro in manifest["macros"].items():
            if unique_id not in macros and macros & set(macro["depends_on"]["macros"]):
                macros.add(unique_id)
                grew = True
    return sorted(f"{node['name']}+" for node in manifest["nodes"].values()
                  if node["resource_type"] == "model" and macros & set(node["depends_on"]["macros"]))


def _read_state(path: Path) -> dict:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def plan(changed_feeds: list[str] | None, as_of: str, cfg: config.Settings | None = None) -> dict:
    """The selection of this build (`select`, for `dbt build --select`), and why.

    `changed_feeds`: the feed ids (`<source>__<feed>`, the feeds' Asset names) whose assets
    started this run, or None
    when the run was not started by deliveries.
    """
    cfg = cfg or config.settings()
    manifest = _manifest()
    path = cfg.build_dir / STATE_FILE
    state = _read_state(path)
    print_ = fingerprint(manifest)
    pending = sorted(set(state.get("pending_feeds", [])) | set(changed_feeds or []))
    if changed_feeds is None:
        reason = "full: not started by a delivery"
    elif state.get("pending_full"):
        reason = "full: an earlier full build was not published"
    elif not state.get("published_fingerprint") or not cfg.build_db.exists():
        reason = "full: no build of this build copy was published yet"
    elif state["published_fingerprint"] != print_:
        reason = "full: the dbt project changed since the last published build"
    else:
        reason = None
    if reason:
        selection, full = EVERYTHING, True
    else:
        selectors = _source_selectors(manifest, pending)
        if state.get("published_as_of") != as_of:
            selectors += _as_of_models(manifest)
        selection, full = " ".join(selectors), False
        reason = f"feeds changed: {', '.join(pending)}" + (
            f"; as-of date {state.get('published_as_of')} -> {as_of}"
            if state.get("published_as_of") != as_of else "")
    # Pending until published: a build that fails leaves them for the next one.
    cfg.build_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps({**state, "pending_feeds": pending,
                                   "pending_full": full or bool(state.get("pending_full"))},
                                  ensure_ascii=False, indent=1))
    return {"select": selection, "full": full, "reason": reason, "feeds": pending,
            "fingerprint": print_, "as_of": as_of}


def published(planned: dict | None, cfg: config.Settings | None = None) -> None:
    """After a publish: the feeds this build took are no longer pending."""
    if not planned:
        return
    cfg = cfg or config.settings()
    path = cfg.build_dir / STATE_FILE
    state = _read_state(path)
    still = sorted(set(state.get("pending_feeds", [])) - set(planned["feeds"]))
    atomic_write(path, json.dumps({
        "pending_feeds": still,
        "pending_full": False,
        "published_fingerprint": planned["fingerprint"],
        "published_as_of": planned["as_of"],
    }, ensure_ascii=False, indent=1))
