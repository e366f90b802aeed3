"""One process for a pipeline's DAG runs: `python -m citysafety.orchestrate.dag_runs`, driven by
`runner.run_pipeline`.

`make pipeline` ran each DAG as its own `airflow dags test` process, and about 9 s of each went
before the DAG's first task: importing Airflow, parsing the DAG folder (build_mart renders a
task per dbt node) and starting the in-process execution API. Here that is done once: the
process reads one request a line on stdin (`{"dag_id": ..., "conf": {...} | null, "log": path}`),
runs that DAG once as `airflow dags test` does (the same CLI function, `dag_command.dag_test`,
on the DAG parsed once) and answers `{"dag_id": ..., "returncode": 0 | 1}` on its stdout.

While a DAG runs, the process's stdout and stderr (the file descriptors, so whatever its tasks
start writes there too) are its log file; between runs they go nowhere, so the answers are the
only thing the caller reads. A DAG that fails answers 1 and the next request is served.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from argparse import Namespace
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def _output_to(log: Path):
    """Point file descriptors 1 and 2 at `log` (appended) for the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _parse_dags() -> dict:
    """Every DAG of the configured bundles, parsed once and written to the metadata database (as
    `airflow dags test` does for the one it runs)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    dags = {}
    for bundle in manager.get_all_dag_bundles():
        bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, bundle.version)
        dags.update(bag.dags)
    return dags


def _run(dags: dict, dag_id: str, conf: dict | None) -> int:
    from airflow.cli.commands import dag_command

    if dag_id not in dags:
        print(f"Dag {dag_id!r} could not be found; either it does not exist or it failed to parse.",
              file=sys.stderr)
        return 1
    args = Namespace(dag_id=dag_id, conf=json.dumps(conf) if conf is not None else None, logical_date=None,
                     use_executor=False, mark_success_pattern=None, show_dagrun=False, imgcat_dagrun=False,
                     save_dagrun=None, bundle_name=None, dagfile_path=None, verbose=False)
    try:
        dag_command.dag_test(args, dag=dags[dag_id])
    except SystemExit as exc:  # "DagRun failed"
        print(exc, file=sys.stderr)
        return 1
    except Exception:  # noqa: BLE001 - the DAG's failure, reported in its log; the next one runs
        traceback.print_exc()
        return 1
    return 0


def main() -> int:
    answers = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    dags = None
    for line in sys.stdin:
        request = json.loads(line)
        with _output_to(Path(request["log"])):
            try:
                if dags is None:  # in the first DAG's log, as the CLI would write it
                    dags = _parse_dags()
                code = _run(dags, request["dag_id"], request.get("conf"))
            except Exception:  # noqa: BLE001 - Airflow itself could not start: every DAG fails
                traceback.print_exc()
                code = 1
        answers.write(json.dumps({"dag_id": request["dag_id"], "returncode": code}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
