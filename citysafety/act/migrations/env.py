"""Alembic's environment for the operations database (citysafety.act.store).

No alembic.ini: `store.upgrade()` builds the configuration in code and hands over its own
connection (`config.attributes["connection"]`), so the URL's checks and the engine's settings
are the store's. Run any other way (the `alembic` command with `-x url=...` or nothing), the URL
is `-x url` or the setting CITYSAFETY_OPERATIONS_DB_URL. The revisions are written by hand and
frozen: they never import the ORM; `tests/test_operations.py` checks that they build exactly the
ORM's schema.
"""

from __future__ import annotations

from alembic import context

from citysafety.act import store

config = context.config
target_metadata = store.Base.metadata


def run_offline() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url")
    context.configure(url=store.database_url(url).render_as_string(hide_password=False),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = context.get_x_argument(as_dictionary=True).get("url")
        with store.engine(url).begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
