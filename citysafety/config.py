"""Every setting of the platform, read from the environment with defaults that make the demo work.

Secrets are never defaults here: they come from Airflow connections (pipeline) or `st.secrets`
(dashboard). This module only names them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DAGS_DIR = PROJECT_ROOT / "dags"

# Names of secrets (values live in Airflow connections, never in the repo).
EMB_API_CONN_ID = "emb_api"
GRID_DB_CONN_ID = "grid_db"


@dataclass(frozen=True)
class Settings:
    home: Path

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def raw(self) -> Path:
        """Immutable per-file raw loads (Parquet), one folder per delivered file content."""
        return self.home / "raw"

    @property
    def build_dir(self) -> Path:
        return self.home / "build"

    @property
    def build_db(self) -> Path:
        """The staging copy of the warehouse that dbt builds and the gate validates."""
        return self.build_dir / "citysafety.duckdb"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def warehouse_db(self) -> Path:
        """The published mart. Only citysafety.mart.publish writes it."""
        return self.warehouse_dir / "citysafety.duckdb"

    @property
    def quality_dir(self) -> Path:
        """Great Expectations project (Data Docs under quality/gx/uncommitted/data_docs)."""
        return self.home / "quality"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def secrets_dir(self) -> Path:
        """Secrets the platform writes (0700; each file 0600): demo accounts, the dashboard's
        session key and sign-in store."""
        return self.home / "secrets"


def settings() -> Settings:
    """Read settings now (tests change CITYSAFETY_HOME between cases, so never cache)."""
    home = Path(os.environ.get("CITYSAFETY_HOME", PROJECT_ROOT / "var")).resolve()
    return Settings(home=home)


def dashboard_port() -> int:
    return int(os.environ.get("CITYSAFETY_DASHBOARD_PORT", "8501"))


def bind_address() -> str:
    """The address every service of the platform listens on: the dashboard, the Airflow UI/API
    server, the demo API and dbt docs. Default 127.0.0.1 (this machine only); set
    CITYSAFETY_BIND_ADDRESS=0.0.0.0 (or one interface's address) to open them to other machines."""
    return os.environ.get("CITYSAFETY_BIND_ADDRESS", "").strip() or "127.0.0.1"


def session_hours() -> float:
    """How long a dashboard sign-in lasts (a reload keeps it): CITYSAFETY_SESSION_HOURS, default 8."""
    try:
        hours = float(os.environ.get("CITYSAFETY_SESSION_HOURS", "").strip() or 8)
    except ValueError:
        hours = 8.0
    return hours if hours > 0 else 8.0


def airflow_port() -> int:
    return int(os.environ.get("CITYSAFETY_AIRFLOW_PORT", "8080"))


def ingest_workers() -> int:
    """Files of the high-volume Parquet feed loaded at once (default: one per CPU).

    Each file is one DuckDB pass on one thread: files in parallel keep every core busy even
    when a day's file is a single Parquet row group (which DuckDB reads on one thread).
    """
    return max(1, int(os.environ.get("CITYSAFETY_INGEST_WORKERS") or os.cpu_count() or 1))


def duckdb_memory_limit() -> str:
    """Memory the mart build's DuckDB may use before spilling to disk (build/duckdb_tmp).

    Keeps the pipeline's peak memory bounded whatever the sensor history: the full refresh of a
    year of readings needs more and spills. Passed to dbt as CITYSAFETY_DUCKDB_MEMORY_LIMIT.
    """
    return os.environ.get("CITYSAFETY_DUCKDB_MEMORY_LIMIT") or "5GB"


# dbt's unit tests check the models' SQL on fixed fixtures: they belong to CI (`make test`,
# tests/test_dbt_unit_tests.py), not to every build of the mart, as dbt Labs advises for
# production runs; the data tests still run with each build. (Measured on the test deliveries:
# the 40 unit tests were a quarter of a `dbt build`'s node time.)
DBT_BUILD_ENV = {"DBT_EXCLUDE_RESOURCE_TYPES": "unit_test"}


def demo_seed() -> int:
    return int(os.environ.get("CITYSAFETY_DEMO_SEED", "20180101"))


def as_of_date() -> str | None:
    """The date "now" means for the mart (overdue, last 12 months), YYYY-MM-DD; default today.

    Set it to rebuild the mart as it stood on a past day; a demo set ending in the past sets it
    to its end date.
    """
    return os.environ.get("CITYSAFETY_AS_OF_DATE") or os.environ.get("CITYSAFETY_DEMO_END") or None


def in_process_run() -> bool:
    """True where DAGs run in one process, one task at a time, not under the scheduler: in
    `airflow dags test` (`make pipeline`, citysafety.orchestrate.runner, or by hand), known by
    its command line or by CITYSAFETY_IN_PROCESS_RUN=1."""
    import sys

    return (os.environ.get("CITYSAFETY_IN_PROCESS_RUN", "") == "1"
            or [Path(sys.argv[0]).name, *sys.argv[1:3]] == ["airflow", "dags", "test"])


def resolved_as_of_date() -> str:
    """The as-of date of one run, resolved when the run starts: `as_of_date()`, else today in
    Beijing (never frozen into a DAG at parse time)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    return as_of_date() or dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def task_timeouts() -> dict[str, int]:
    """Execution timeouts (seconds) of the DAG tasks, by kind; CITYSAFETY_TIMEOUT_<KIND> overrides."""
    defaults = {"pull": 600, "load": 1800, "dbt": 3600, "gate": 1800, "publish": 600, "export": 1800}
    return {k: int(os.environ.get(f"CITYSAFETY_TIMEOUT_{k.upper()}", v)) for k, v in defaults.items()}


def demo_end_date() -> str | None:
    """Last day of the demo delivery set (YYYY-MM-DD); default today."""
    return os.environ.get("CITYSAFETY_DEMO_END") or None


def dbt_project_vars() -> dict:
    """The vars of dbt_project.yml: the action plan's base and target years (baseline_year,
    target_year) and reductions, held once there, for the Python that needs them too (the
    quality suites, the dashboards)."""
    import yaml

    with (DBT_PROJECT_DIR / "dbt_project.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["vars"]


# --- Limits on what one delivered file may make the ingest do ------------------------------------
# A delivery is untrusted input: these bound the memory and time one file can cost, so that a
# hostile or broken file is rejected (or its record quarantined) with a reason instead of
# exhausting the worker. Each is an environment variable; a value that is not a positive
# number falls back to the default.


def _positive(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "").strip() or default)
    except ValueError:
        return default
    return value if value > 0 else default


def max_json_depth() -> int:
    """Deepest nesting of arrays/objects in one JSON Lines record (CITYSAFETY_MAX_JSON_DEPTH,
    default 64). Agreed records are flat; deeper ones are quarantined before the parser
    recurses (Python's JSON parser hits its recursion limit near 1,000 levels)."""
    return int(_positive("CITYSAFETY_MAX_JSON_DEPTH", 64))


def max_field_chars() -> int:
    """Longest value of one field (CSV field, JSON value, XLSX cell) in characters
    (CITYSAFETY_MAX_FIELD_CHARS, default 131072, the csv module's own default). The longest
    agreed value is a free-text address or description of a few hundred characters."""
    return int(_positive("CITYSAFETY_MAX_FIELD_CHARS", 131072))


def max_row_fields() -> int:
    """Most fields (columns) one record or header may have (CITYSAFETY_MAX_ROW_FIELDS, default
    1000; the widest agreement has 16). A wider CSV record is quarantined; a wider sheet (an
    XLSX whose dimension claims 16,384 columns makes every row that wide) is rejected."""
    return int(_positive("CITYSAFETY_MAX_ROW_FIELDS", 1000))


def max_unzipped_bytes() -> int:
    """Most bytes an XLSX (a zip) may expand to, all its members together
    (CITYSAFETY_MAX_UNZIPPED_MB, default 512 MiB): a zip bomb of a few kilobytes would otherwise
    fill the worker's memory. A year's enterprise snapshot expands to a few megabytes."""
    return int(_positive("CITYSAFETY_MAX_UNZIPPED_MB", 512) * (1 << 20))


def future_tolerance_days() -> float:
    """How far after its delivery a date may lie before the row is quarantined as implausible
    (CITYSAFETY_FUTURE_TOLERANCE_DAYS, default 1: time zones and a report written just before
    midnight)."""
    return _positive("CITYSAFETY_FUTURE_TOLERANCE_DAYS", 1)


def hidden_report_seconds() -> float:
    """How long a landed file with a hidden name (starting with '.') may stay before it is
    reported as not delivered (CITYSAFETY_HIDDEN_REPORT_SECONDS, default 3600): uploads in
    progress use such names for seconds or minutes."""
    return _positive("CITYSAFETY_HIDDEN_REPORT_SECONDS", 3600)


def landing_quiet_seconds() -> float:
    """A landed file whose size or modification time changed less than this long ago is still
    being written and is not read yet (CITYSAFETY_LANDING_QUIET_SECONDS, default 2; 0 reads
    everything at once, as the tests do)."""
    try:
        value = float(os.environ.get("CITYSAFETY_LANDING_QUIET_SECONDS", "").strip() or 2)
    except ValueError:
        return 2.0
    return max(0.0, value)



def landing_poll_seconds() -> float:
    """How often the triggerer looks for new deliveries in each department's landing folders
    (CITYSAFETY_LANDING_POLL_SECONDS, default 2): the longest a settled file waits before its
    department's ingest starts. A look lists the folders and hashes only new or changed files
    (ingest.pending_files), a few milliseconds when nothing landed."""
    return _positive("CITYSAFETY_LANDING_POLL_SECONDS", 2)

# --- The production profile: Airflow on PostgreSQL, the CeleryExecutor on Redis ------------------
# CITYSAFETY_PROFILE=celery runs the same DAGs on several Celery workers (README "Across
# machines"); unset, everything runs in one process tree on SQLite (the embedded default).

PROFILES = ("embedded", "celery")


class ConfigError(ValueError):
    """A setting is missing or broken: the platform refuses to start rather than guess."""


def profile() -> str:
    """How Airflow runs: `embedded` (default: SQLite, one machine, nothing to install) or
    `celery` (metadata DB on PostgreSQL, CeleryExecutor with Redis as broker, several workers)."""
    value = (os.environ.get("CITYSAFETY_PROFILE") or "embedded").strip().lower()
    if value not in PROFILES:
        raise ConfigError(f"CITYSAFETY_PROFILE={value!r} 无效：只能是 {' 或 '.join(PROFILES)}"
                          f" (unknown profile; use one of {', '.join(PROFILES)})")
    return value


def metadata_db_url() -> str:
    """The Airflow metadata database of the celery profile (CITYSAFETY_METADATA_DB), a
    SQLAlchemy URL on PostgreSQL; default the local server's `citysafety_airflow` database.
    Every machine of the profile uses the same one."""
    url = (os.environ.get("CITYSAFETY_METADATA_DB") or
           "postgresql+psycopg://postgres@127.0.0.1:5432/citysafety_airflow").strip()
    # psycopg (3) is the driver installed (requirements.in), sync and async alike.
    if not url.startswith(("postgresql://", "postgresql+psycopg://")):
        raise ConfigError(f"CITYSAFETY_METADATA_DB 必须是 PostgreSQL 地址（postgresql+psycopg://…），"
                          f"现为 {url.split('@')[-1]!r} (the celery profile's metadata database "
                          "must be PostgreSQL: workers on other machines share it)")
    return url


def celery_broker_url() -> str:
    """The Celery broker of the celery profile (CITYSAFETY_CELERY_BROKER), Redis; default the
    local server's db 0. Every machine of the profile uses the same one."""
    url = (os.environ.get("CITYSAFETY_CELERY_BROKER") or "redis://127.0.0.1:6379/0").strip()
    if not url.startswith(("redis://", "rediss://")):
        raise ConfigError(f"CITYSAFETY_CELERY_BROKER 必须是 Redis 地址（redis://主机:端口/库号），"
                          f"现为 {url.split('@')[-1]!r} (the celery profile's broker must be Redis)")
    return url


def _queue_name(name: str, default: str) -> str:
    value = (os.environ.get(name) or default).strip()
    if not value or any(c in value for c in ", \t"):
        raise ConfigError(f"{name}={value!r} 不是有效的队列名 (a queue name has no commas or spaces)")
    return value


def duckdb_queue() -> str:
    """The Celery queue of every task that opens the DuckDB build copy (CITYSAFETY_DUCKDB_QUEUE,
    default `duckdb`). DuckDB allows one writing process per file, and the file is on one
    machine's disk: one worker, on that machine, serves this queue with a single slot."""
    return _queue_name("CITYSAFETY_DUCKDB_QUEUE", "duckdb")


def default_queue() -> str:
    """The Celery queue of every other task, department ingests included
    (CITYSAFETY_DEFAULT_QUEUE, default Airflow's own `default`); any number of workers serve it."""
    return _queue_name("CITYSAFETY_DEFAULT_QUEUE", "default")


def worker_concurrency() -> int:
    """Tasks one ingest worker runs at once (CITYSAFETY_WORKER_CONCURRENCY, default one per CPU).
    The duckdb queue's worker always runs one."""
    return int(_positive("CITYSAFETY_WORKER_CONCURRENCY", os.cpu_count() or 1))


def airflow_api_url() -> str:
    """Where workers reach the Airflow API server (CITYSAFETY_AIRFLOW_API_URL; default this
    machine's, on CITYSAFETY_AIRFLOW_PORT). Celery workers talk to it, not to the metadata DB."""
    url = (os.environ.get("CITYSAFETY_AIRFLOW_API_URL") or f"http://127.0.0.1:{airflow_port()}").strip()
    return url.rstrip("/")


def worker_loss_retries() -> int:
    """Retries, in the celery profile, of a task that has none of its own
    (CITYSAFETY_TASK_RETRIES, default 1): a worker that dies (killed, machine down) fails its task
    once the heartbeat stops, and the retry runs on a worker that is still up. Every task is safe
    to run again (loads are keyed by file hash, the build starts from the raw layer, publish
    replaces atomically)."""
    return int(_positive("CITYSAFETY_TASK_RETRIES", 1))


def retry_delay_seconds() -> float:
    """Wait before such a retry (CITYSAFETY_RETRY_DELAY_SECONDS, default 60)."""
    return _positive("CITYSAFETY_RETRY_DELAY_SECONDS", 60)


def task_heartbeat_timeout() -> int:
    """Seconds without a heartbeat after which the scheduler fails a running task and retries it
    (CITYSAFETY_TASK_HEARTBEAT_TIMEOUT, default 120; Airflow's own default is 300): how long a
    lost worker delays its task."""
    return int(_positive("CITYSAFETY_TASK_HEARTBEAT_TIMEOUT", 120))


# --- The action path: the operations database and the webhooks of the outbox (citysafety.act) ---


def operations_db_url() -> str:
    """The operations database (alarms, their audited state changes, the notification outbox), a
    SQLAlchemy URL (CITYSAFETY_OPERATIONS_DB_URL). Default, for the demo: the embedded SQLite
    file `$CITYSAFETY_HOME/operations/operations.db` (its folder created, 0700); in production
    PostgreSQL, e.g. `postgresql+psycopg://postgres@127.0.0.1:5432/citysafety_ops`.
    `citysafety.act.store` refuses a URL it cannot parse or whose driver is not installed."""
    url = (os.environ.get("CITYSAFETY_OPERATIONS_DB_URL") or "").strip()
    if url:
        return url
    folder = settings().home / "operations"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'operations.db'}"


def webhooks_file() -> Path:
    """The file naming the webhook endpoints the outbox sends to (CITYSAFETY_WEBHOOKS_FILE; default
    `$CITYSAFETY_HOME/secrets/webhooks.yml`): YAML or JSON, `{endpoints: {name: {url, channel,
    secret?}}}`. Robot URLs carry access tokens and signing secrets, so the file must be the
    owner's only (0600) and outside the repository (the platform's secrets folder excepted);
    `citysafety.act.endpoints` refuses it otherwise."""
    named = (os.environ.get("CITYSAFETY_WEBHOOKS_FILE") or "").strip()
    return Path(named).expanduser() if named else settings().secrets_dir / "webhooks.yml"


def outbox_max_attempts() -> int:
    """Tries of one notification before it is given up as dead (CITYSAFETY_OUTBOX_MAX_ATTEMPTS,
    default 12: with the outbox's back-off, from 2 s doubling to at most 10 min, about half an
    hour of a receiver down or refusing)."""
    return int(_positive("CITYSAFETY_OUTBOX_MAX_ATTEMPTS", 12))


def alarm_lookback_hours() -> float:
    """How far back the response looks for published alarm episodes to record and notify
    (CITYSAFETY_ALARM_LOOKBACK_HOURS, default 24): a history delivered at once (the daily file,
    a year of backfill) is shown on 监测 but is not a year of alarms to send today."""
    return _positive("CITYSAFETY_ALARM_LOOKBACK_HOURS", 24)


# --- Readings over MQTT: the monitoring gateways publish, citysafety.land.mqtt lands -------------


def mqtt_host() -> str:
    """The MQTT broker the monitoring gateways publish to (CITYSAFETY_MQTT_HOST, default
    127.0.0.1: the Mosquitto of this machine)."""
    return (os.environ.get("CITYSAFETY_MQTT_HOST") or "").strip() or "127.0.0.1"


def mqtt_port() -> int:
    """The broker's port (CITYSAFETY_MQTT_PORT, default 1883)."""
    return int(_positive("CITYSAFETY_MQTT_PORT", 1883))


def mqtt_client_id() -> str:
    """The subscriber's client id (CITYSAFETY_MQTT_CLIENT_ID, default `citysafety-landing`). It must
    stay the same across restarts: the broker keeps the persistent session (the subscription and
    the readings not yet acknowledged) under it, and redelivers those to the next subscriber of
    that id. Two subscribers with one id take the session from each other: run one."""
    value = (os.environ.get("CITYSAFETY_MQTT_CLIENT_ID") or "").strip() or "citysafety-landing"
    if len(value.encode("utf-8")) > 65535 or any(c in value for c in "+#/"):
        raise ConfigError(f"CITYSAFETY_MQTT_CLIENT_ID={value!r} 无效：客户端标识不能含 + # / "
                          "(an MQTT client id has no wildcards or slashes)")
    return value


def mqtt_topic() -> str:
    """The topic filter of the readings (CITYSAFETY_MQTT_TOPIC, default
    `xiacheng/monitoring/+/+/readings`): one topic per hazard source and point,
    `<prefix>/<hazard_source_id>/<point_id>/readings`. The two levels before `readings` name the
    source and the point whatever the prefix."""
    value = (os.environ.get("CITYSAFETY_MQTT_TOPIC") or "").strip() or "xiacheng/monitoring/+/+/readings"
    levels = value.split("/")
    if len(levels) < 3 or levels[-1] != "readings" or "#" in value:
        raise ConfigError(f"CITYSAFETY_MQTT_TOPIC={value!r} 无效：应为 …/<危险源>/<监测点>/readings "
                          "(the filter must end in <source>/<point>/readings, without #)")
    return value


def mqtt_secrets_file() -> Path | None:
    """The file holding the subscriber's MQTT username and password (CITYSAFETY_MQTT_SECRETS_FILE;
    default `$CITYSAFETY_HOME/secrets/mqtt.yml` when it exists): YAML or JSON,
    `{username: …, password: …}`, the owner's only (0600). Named but missing, unreadable or
    readable by others: the subscriber refuses to start (citysafety.land.mqtt). None: connect
    without credentials (the demo's loopback broker allows it)."""
    named = (os.environ.get("CITYSAFETY_MQTT_SECRETS_FILE") or "").strip()
    if named:
        return Path(named).expanduser()
    default = settings().secrets_dir / "mqtt.yml"
    return default if default.exists() else None


def mqtt_flush_seconds() -> float:
    """Longest a received reading waits in the subscriber's buffer before it is written to a
    landed file and acknowledged (CITYSAFETY_MQTT_FLUSH_SECONDS, default 5)."""
    return _positive("CITYSAFETY_MQTT_FLUSH_SECONDS", 5)


def mqtt_flush_readings() -> int:
    """Readings that make the subscriber write a file at once (CITYSAFETY_MQTT_FLUSH_READINGS,
    default 500)."""
    return int(_positive("CITYSAFETY_MQTT_FLUSH_READINGS", 500))


def mqtt_idle_flush_seconds() -> float:
    """A buffer that received nothing for this long is written at once
    (CITYSAFETY_MQTT_IDLE_FLUSH_SECONDS, default 1). The broker sends a client only so many
    unacknowledged QoS 1 messages (Mosquitto's max_inflight_messages, 20 by default) and holds the
    rest until those are acknowledged: waiting for the count or the time alone would stall."""
    return _positive("CITYSAFETY_MQTT_IDLE_FLUSH_SECONDS", 1)
