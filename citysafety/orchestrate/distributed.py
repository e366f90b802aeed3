"""The celery profile (CITYSAFETY_PROFILE=celery): Airflow's metadata database on PostgreSQL,
the CeleryExecutor with Redis as broker, and the Airflow components as separate processes that
may run on separate machines (README "Across machines").

`airflow_settings(cfg)` is the Airflow environment the profile adds (runner.airflow_env calls it);
`role_command(role)` the command of one component; `check_services()` refuses to start, with the
reason, when PostgreSQL or Redis cannot be reached; `ensure_database()` creates the metadata
database when it is missing. The secrets every component must share (the API server's JWT secret
and secret key, the fernet key of stored connections) are files of mode 0600 under
`$CITYSAFETY_HOME/secrets/airflow/`, passed to Airflow as `*_CMD` settings: the environment holds
the command that reads them, never the secret.
"""

from __future__ import annotations

import shlex
import socket
from pathlib import Path
from urllib.parse import urlsplit

from citysafety import config
from citysafety.orchestrate import launch

# The components one machine may run; `all` (make serve-celery) is every one on this machine.
ROLES = ("api-server", "scheduler", "dag-processor", "triggerer", "worker-duckdb", "worker")


def _secret(cfg: config.Settings, name: str, make) -> Path:
    from citysafety.secretfiles import private_dir, read_or_create_secret

    private_dir(cfg.secrets_dir)
    folder = private_dir(cfg.secrets_dir / "airflow")
    read_or_create_secret(folder / name, make)
    return folder / name


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _token() -> str:
    import secrets

    return secrets.token_urlsafe(48)


SECRET_NAMES = ("jwt_secret", "api_secret_key", "fernet_key")


def secret_files(cfg: config.Settings) -> dict[str, Path]:
    """The shared secrets, created (0600) when missing; every machine of the profile needs the
    same files (shared CITYSAFETY_HOME, or copied once)."""
    makers = {"jwt_secret": _token, "api_secret_key": _token, "fernet_key": _fernet_key}
    return {name: _secret(cfg, name, makers[name]) for name in SECRET_NAMES}


def _read_cmd(path: Path) -> str:
    return f"cat {shlex.quote(str(path))}"


def _async_url(url: str) -> str:
    return "postgresql+psycopg_async://" + url.split("://", 1)[1]


def airflow_settings(cfg: config.Settings) -> dict[str, str]:
    """The Airflow environment of the celery profile (on top of runner.airflow_env's)."""
    db = config.metadata_db_url()
    secrets = secret_files(cfg)
    longest = max(config.task_timeouts().values())
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db,
        # The API server's async engine on the same driver (Airflow would pick asyncpg, not installed).
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": _async_url(db),
        "AIRFLOW__CELERY__BROKER_URL": config.celery_broker_url(),
        # Task states in the metadata database, not in the broker.
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + db,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(config.worker_concurrency()),
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": config.default_queue(),
        # cosmos's watcher mode sends its dbt producer (and a model sensor's retry, which runs dbt
        # itself) to this queue: the build copy's single slot; the sensors stay on any worker.
        "AIRFLOW__COSMOS__WATCHER_DBT_EXECUTION_QUEUE": config.duckdb_queue(),
        # A message not acknowledged within this long is handed out again (tasks acknowledge when
        # they end): longer than any task may run, or a long dbt node would be started twice.
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": str(2 * longest),
        # Workers run tasks through the API server's execution API, not the database.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": config.airflow_api_url() + "/execution/",
        "AIRFLOW__API__BASE_URL": config.airflow_api_url(),
        # A worker on another machine, or a busy API server, answers slower than Airflow's 5 s.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
        # How long a lost worker holds its task before the scheduler fails it (then it is retried).
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(config.task_heartbeat_timeout()),
        "AIRFLOW__API_AUTH__JWT_SECRET_CMD": _read_cmd(secrets["jwt_secret"]),
        "AIRFLOW__API__SECRET_KEY_CMD": _read_cmd(secrets["api_secret_key"]),
        "AIRFLOW__CORE__FERNET_KEY_CMD": _read_cmd(secrets["fernet_key"]),
    }


def _endpoint(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url.replace("+psycopg", ""))
    return parts.hostname or "127.0.0.1", parts.port or default_port


def check_services() -> None:
    """Refuse to start the profile, saying what is missing, when PostgreSQL or Redis cannot be
    reached (the workers would otherwise start and wait forever)."""
    problems = []
    for what, url, port in (("PostgreSQL 元数据库 (CITYSAFETY_METADATA_DB)", config.metadata_db_url(), 5432),
                            ("Redis 消息队列 (CITYSAFETY_CELERY_BROKER)", config.celery_broker_url(), 6379)):
        host, port = _endpoint(url, port)
        try:
            socket.create_connection((host, port), timeout=5).close()
        except OSError as exc:
            problems.append(f"{what} 无法连接 {host}:{port}（{exc}）")
    if problems:
        raise config.ConfigError("celery 生产配置无法启动 (cannot start the celery profile): "
                                 + "；".join(problems))


def ensure_database(url: str | None = None) -> None:
    """Create the metadata database when it does not exist yet (the server's `postgres` database
    is where the CREATE runs)."""
    import psycopg
    from psycopg import sql

    url = url or config.metadata_db_url()
    parts = urlsplit(url.replace("+psycopg", ""))
    name = parts.path.lstrip("/")
    if not name:
        raise config.ConfigError("CITYSAFETY_METADATA_DB 缺少数据库名 (the URL names no database)")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as con:
        if not con.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            con.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def role_command(role: str, *, venv_bin: Path, name: str | None = None,
                 queues: list[str] | None = None, concurrency: int | None = None,
                 serve_logs: bool = True) -> list[str]:
    """The command of one component. Workers: `worker-duckdb` serves the build copy's queue with
    one slot (run it on the machine that holds CITYSAFETY_HOME/build); `worker` serves the default
    queue (department ingests) with CITYSAFETY_WORKER_CONCURRENCY slots, as many as you like.
    serve_logs: one log server per machine is enough (the workers of a machine share its log
    folder), and two on one machine would claim the same port."""
    if role in ("api-server", "scheduler", "dag-processor", "triggerer"):
        return launch.command([role], venv_bin)
    if role not in ("worker-duckdb", "worker"):
        raise config.ConfigError(f"未知角色 {role!r}，可选：{', '.join(ROLES)} (unknown role)")
    host = socket.gethostname()
    if role == "worker-duckdb":
        # One slot whatever else it serves: with `queues` (e.g. the default queue, on a machine
        # with one worker) it also takes ingests, still one task at a time.
        queues, concurrency = [config.duckdb_queue(), *(queues or [])], 1
        name = name or f"duckdb@{host}"
    else:
        queues = queues or [config.default_queue()]
        concurrency = concurrency or config.worker_concurrency()
        name = name or f"ingest@{host}"
    args = ["celery", "worker", "--queues", ",".join(queues), "--concurrency", str(concurrency),
            "--celery-hostname", name]
    if not serve_logs:
        args.append("--skip-serve-logs")
    return launch.command(args, venv_bin)
