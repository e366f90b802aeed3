"""The platform's commands with the demo's department sources and accounts:
`python -m demo.run pipeline | serve | dashboard | init | env` (what `make pipeline`, `make serve`
and `make dashboard` call).

The same commands as `python -m citysafety.orchestrate`, plus what only the demo needs: for each
run, the bureau's inspections API that `make demo-data` prepared is served on loopback and the
demo grid database is reached, both passed as `AIRFLOW_CONN_*` variables (a connection already
configured in the environment, as in production, is left alone); and the demo accounts'
passwords are shown when the dashboard is up.

`serve` also runs what stands in for the district's offices and gateways: a webhook receiver on
loopback (demo.receiver; the notices arrive in `$CITYSAFETY_HOME/demo_receiver/received.jsonl`),
named by a demo webhooks file (`$CITYSAFETY_HOME/secrets/webhooks.yml`, 0600, written at each
start unless CITYSAFETY_WEBHOOKS_FILE names the operator's own), and the monitoring gateways
publishing a reading per point every minute over MQTT (demo.monitoring; one point goes above its
高报阈值 in the second to fourth minute), when the broker answers.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack, contextmanager

from citysafety import config
from citysafety.orchestrate import cli
from citysafety.orchestrate.runner import VENV_BIN
from demo import accounts, emb_api, grid_db, receiver, webhooks


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


def demo_live(cfg: config.Settings, env: dict[str, str]) -> list[tuple[str, list[str]]]:
    """The demo's receiver of the notices (with the webhooks file naming it) and its monitoring
    gateways, served beside the platform by `serve`."""
    python = str(VENV_BIN / "python")
    added = []
    if not env.get("CITYSAFETY_WEBHOOKS_FILE"):
        port = receiver.demo_receiver_port()
        hooks = webhooks.write_demo_webhooks(cfg.home, port, webhooks.demo_hazard_source_ids(cfg.home))
        added.append(("receiver", [python, "-m", "demo.receiver", "--port", str(port),
                                   "--out", str(cfg.home / "demo_receiver"), "--secret-file", str(hooks)]))
        print(f"通知接收端（演示）: 127.0.0.1:{port}，收到的通知见 {cfg.home / 'demo_receiver' / 'received.jsonl'}",
              flush=True)
    if cli.mqtt_broker_unreachable() is None:  # else the platform's serve says so
        added.append(("gateways", [python, "-m", "demo.monitoring", "publish", "--seconds", "0", "--interval", "60"]))
    return added


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, services=demo_sources, banner=demo_accounts, extra=demo_live, prog="python -m demo.run")


if __name__ == "__main__":
    sys.exit(main())
