"""Operations databases for the tests of citysafety.act and its readers: a SQLite file, a fresh
PostgreSQL database on the machine's server (127.0.0.1:5432, dropped after; when the server does
not answer the test fails under CI=true and is skipped otherwise, with the reason), and both as
one parametrised fixture. Import the fixtures into a test module to use them;
`postgres_admin()` also serves the grid database's tests (tests/test_grid.py)."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from citysafety.act import store

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def postgres_admin() -> sa.Engine:
    """An AUTOCOMMIT engine on the server's `postgres` database, or the test fails (CI) / skips."""
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool,
                             connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as con:
            con.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        reason = f"PostgreSQL at 127.0.0.1:5432 does not answer: {str(exc).splitlines()[0]}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return admin


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'ops' / 'operations.db'}"
    yield url
    store.dispose(url)


@pytest.fixture
def pg_url():
    admin = postgres_admin()
    name = f"citysafety_ops_{uuid.uuid4().hex[:12]}"
    with admin.connect() as con:
        con.execute(sa.text(f'create database "{name}"'))
    url = f"{PG_SERVER}/{name}"
    try:
        yield url
    finally:
        store.dispose(url)
        with admin.connect() as con:
            con.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    return request.getfixturevalue(f"{'pg' if request.param == 'postgresql' else 'sqlite'}_url")


@pytest.fixture
def ops(db_url):
    """An operations database of either kind, migrated to the head revision."""
    store.upgrade(db_url)
    return db_url
