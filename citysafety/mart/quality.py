"""The quality gate: Great Expectations suites (expectations/) over the build copy.

Each table named by a suite is exported from the build copy to Parquet, one checkpoint
validates them all and updates the Data Docs under $CITYSAFETY_HOME/quality/, and the results
are written to `audit.quality_results` in the build copy (published with it). A failed
expectation raises `QualityGateFailed`, so the publish step never runs.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

import duckdb

from citysafety.config import EXPECTATIONS_DIR, Settings, settings
from citysafety.mart import freshness
from citysafety.sql import literal

log = logging.getLogger(__name__)


# The gate's results, published with the audit schema; the columns declared once (the build
# copy's table, the dashboard tests' fixture).
RESULTS_TABLE = "audit.quality_results"
RESULTS_COLUMNS = """checked_at timestamp, table_name varchar, expectation varchar, column_name varchar,
    success boolean, unexpected_count bigint, unexpected_sample varchar"""


class QualityGateFailed(RuntimeError):
    pass


@dataclass
class SuiteModule:
    table: str
    query: str
    module: ModuleType

    @property
    def batch_name(self) -> str:
        return self.table.replace(".", "__")


def suites(directory: Path = EXPECTATIONS_DIR) -> list[SuiteModule]:
    found = []
    for path in sorted(directory.glob("*/*.py")):
        spec = importlib.util.spec_from_file_location(f"expectations.{path.parent.name}.{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        expected = f"{path.parent.name}.{path.stem}"
        if module.TABLE != expected:
            raise ValueError(f"{path}: suite file must be named after its table {module.TABLE}")
        found.append(SuiteModule(module.TABLE, getattr(module, "QUERY", None) or _default_query(module.TABLE),
                                 module))
    return found


def _default_query(table: str) -> str:
    """The whole table, but never a personal-data column: batches and Data Docs are shared."""
    from citysafety import sources

    schema, name = table.split(".", 1)
    feed = next((f for f in sources.all_feeds() if schema == "raw" and f.id == name), None)
    personal = [c.name for c in feed.columns if c.personal] if feed else []
    if personal:
        return f"select * exclude ({', '.join(personal)}) from {table}"
    return f"select * from {table}"


def _context(cfg: Settings):
    import great_expectations as gx

    cfg.quality_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(cfg.quality_dir))
    context.variables.progress_bars = {"globally": False}
    return context


def data_docs_index(cfg: Settings | None = None) -> Path:
    cfg = cfg or settings()
    return cfg.quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def localize_data_docs(cfg: Settings | None = None) -> list[str]:
    """Point the Data Docs just written at the copies of their styles and scripts shipped with
    the platform (citysafety.mart.datadocs): the report works offline and calls out to no CDN."""
    from citysafety.mart import datadocs

    return datadocs.localize(data_docs_index(cfg).parent)


def _datasource(context, batches: Path, names: list[str]):
    """The batches as one Pandas filesystem datasource: an asset per table, each with one batch
    definition (its Parquet file), declared whole.

    Kept as it is when the context already holds exactly these; otherwise written in one go. (GE
    writes great_expectations.yml again after every asset and every batch definition added one
    by one: ~95 writes of a growing file, a third of the gate's time on a new home.)
    """
    wanted = sorted(names)
    try:
        current = context.data_sources.get("build_copy")
        if (Path(current.base_directory) == batches
                and sorted(a.name for a in current.assets) == wanted
                and all(a.get_batch_definition("latest") for a in current.assets)):
            return current
    except (KeyError, LookupError, ValueError, AttributeError):
        pass
    assets = [{"name": name, "type": "parquet", "batch_definitions": [
        {"name": "latest", "partitioner": {"regex": f"^{re.escape(name)}\\.parquet$", "param_names": []}}]}
        for name in wanted]
    from great_expectations.datasource.fluent import PandasFilesystemDatasource

    source = PandasFilesystemDatasource(name="build_copy", base_directory=batches, assets=assets)
    # GE connects each asset to its files when it stores a datasource, after testing the
    # connection; a datasource declared whole needs that before (tests/test_pipeline.py, the gate).
    source._data_context = context
    source._rebuild_asset_data_connectors()
    return context.data_sources.add_or_update_pandas_filesystem(datasource=source)


def validate(cfg: Settings | None = None, db: Path | None = None) -> dict:
    """Validate the build copy; return the summary, or raise QualityGateFailed."""
    import great_expectations as gx

    cfg = cfg or settings()
    db = db or cfg.build_db
    batches = cfg.quality_dir / "batches"
    batches.mkdir(parents=True, exist_ok=True)
    modules = suites()
    # Same configuration as dbt's connection: with dbt run in-process (cosmos DBT_RUNNER under
    # `dags test`) DuckDB refuses a second connection to the file with a different one.
    con = duckdb.connect(str(db))
    try:
        for s in modules:
            target = batches / f"{s.batch_name}.parquet"
            con.execute(f"copy ({s.query}) to {literal(target)} (format parquet)")
    finally:
        con.close()

    context = _context(cfg)
    source = _datasource(context, batches, [s.batch_name for s in modules])
    definitions = []
    for s in modules:
        batch = source.get_asset(s.batch_name).get_batch_definition("latest")
        suite = context.suites.add_or_update(s.module.suite())
        definitions.append(context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=s.table, data=batch, suite=suite)))
    # Data Docs are built once, after the run, for this run's results: GE's UpdateDataDocsAction
    # rebuilt the site's index after each of the ~46 validations (quadratic: measured as 46% of
    # the gate, 148 s of 323 s under load, Jinja recompiling its templates for every page).
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name="quality_gate", validation_definitions=definitions, actions=[],
        result_format="SUMMARY"))
    result = checkpoint.run()
    context.build_data_docs(resource_identifiers=list(result.run_results))
    localize_data_docs(cfg)

    checked_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    rows, failures = [], []
    for run in result.run_results.values():
        table = run.suite_name
        for r in run.results:
            cfg_ = r.expectation_config
            column = cfg_.kwargs.get("column") or ",".join(
                str(cfg_.kwargs.get(k)) for k in ("column_A", "column_B", "column_list") if cfg_.kwargs.get(k))
            unexpected = r.result.get("unexpected_count")
            sample = r.result.get("partial_unexpected_list")
            rows.append((checked_at, table, cfg_.type, column, bool(r.success), unexpected,
                         json.dumps(sample, ensure_ascii=False, default=str) if sample else None))
            if not r.success:
                failures.append(f"{table}: {cfg_.type}({column}) failed"
                                + (f", {unexpected} unexpected, e.g. {sample[:3]}" if unexpected else ""))
    # dbt source freshness (citysafety.mart.freshness): a feed past error_after stops the
    # publish like a failed expectation; its row joins the gate's results.
    con = duckdb.connect(str(db))
    try:
        stale = freshness.errors(con)
    finally:
        con.close()
    for source_table, message in stale:
        failures.append(message)
        rows.append((checked_at, f"source.{source_table}", "dbt_source_freshness", None, False, None, None))
    summary = {"success": bool(result.success) and not stale, "checked_at": checked_at.isoformat(),
               "expectations": len(rows), "failures": failures,
               "data_docs": str(data_docs_index(cfg))}
    (cfg.quality_dir / "last_gate.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))

    con = duckdb.connect(str(db))
    try:
        con.execute("create schema if not exists audit")
        con.execute(f"create or replace table {RESULTS_TABLE} ({RESULTS_COLUMNS})")
        con.executemany(f"insert into {RESULTS_TABLE} values (?, ?, ?, ?, ?, ?, ?)", rows)
    finally:
        con.close()

    if failures:
        raise QualityGateFailed("quality gate failed, nothing published:\n- " + "\n- ".join(failures)
                                + f"\nData Docs: {summary['data_docs']}")
    log.info("quality gate passed: %d expectations on %d tables", len(rows), len(modules))
    return summary
