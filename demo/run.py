"""The platform's commands with the demo's department sources and accounts:
`python -m demo.run pipeline | serve | dashboard | init | env` (what `make pipeline`, `make serve`
and `make dashboard` call).

The same commands as `python -m citysafety.orchestrate`, plus what only the demo needs: for each
run, the bureau's inspections API that `make demo-data` prepared is served on loopback and the
demo grid database is reached, both passed as `AIRFLOW_CONN_*` variables (a connection already
configured in the environment, as in production, is left alone); and the demo accounts'
passwords are shown when the dashboard is up.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack, contextmanager

from citysafety import config
from citysafety.orchestrate import cli
from demo import accounts, emb_api, grid_db


@contextmanager
def demo_sources(cfg: config.Settings, env: dict[str, str]):
    """Serve the demo department sources that `make demo-data` prepared, for one pipeline run.

    Yields the Airflow connections (as AIRFLOW_CONN_* variables) that reach them; a connection
    already configured in the environment (production) is left alone.
    """
    extra: dict[str, str] = {}
    with ExitStack() as stack:
        if "AIRFLOW_CONN_EMB_API" not in env:
            extra.update(stack.enter_context(emb_api.demo_connection_env(cfg)))
        if "AIRFLOW_CONN_GRID_DB" not in env:
            extra.update(grid_db.demo_connection_env(cfg))
        yield extra


def demo_accounts(cfg: config.Settings) -> str:
    """The demo accounts and where their passwords are kept, shown when the dashboard is up."""
    return accounts.show_passwords(cfg.home)


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, services=demo_sources, banner=demo_accounts, prog="python -m demo.run")


if __name__ == "__main__":
    sys.exit(main())
