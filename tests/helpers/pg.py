"""PostgreSQL for tests: a real server, a fresh database per test.

``NEWSBOT_TEST_PG_URL`` names a server and a database to administer from
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``; ``.ci/run``
exports it). The ``pg_url`` fixture creates ``newsbot_t_<random>`` there, yields
its SQLAlchemy URL, and afterwards terminates every session still connected to
it (a replica the test killed, a leader lock) and drops it.

When the server is unreachable the tests that need it are skipped, with the
reason, on a developer's machine, and fail in CI (``CI`` set, as every CI
system does), so CI can never pass by silently skipping them.

tests/conftest.py imports the fixture for every test module, and marks each test
that uses it ``postgres`` (so also ``slow``: ``pytest -m "not postgres"`` leaves them out).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

PG_ENV = "NEWSBOT_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PREFIX = "newsbot_t_"
_reachable: dict[str, str | None] = {}  # admin URL -> None when reachable, else the error


def admin_url() -> sa.URL:
    """The server and maintenance database the tests administer from."""
    url = sa.make_url(os.environ.get(PG_ENV) or DEFAULT_PG_URL)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def in_ci() -> bool:
    """True on a CI machine (``CI`` set to anything but an explicit false)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def admin_engine(url: sa.URL | None = None) -> sa.Engine:
    """An AUTOCOMMIT engine on the maintenance database (CREATE/DROP DATABASE)."""
    return sa.create_engine(
        url or admin_url(),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.NullPool,
        connect_args={"connect_timeout": 5},
    )


def require_server() -> sa.URL:
    """The admin URL, or skip (locally) / fail (in CI) naming why it cannot be used."""
    url = admin_url()
    key = url.render_as_string(hide_password=False)
    if key not in _reachable:
        try:
            engine = admin_engine(url)
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
            finally:
                engine.dispose()
            _reachable[key] = None
        except Exception as exc:  # any failure to connect: refused, auth, bad URL
            _reachable[key] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    error = _reachable[key]
    if error is not None:
        where = url.render_as_string(hide_password=True)
        reason = (
            f"PostgreSQL is not reachable at {where} ({error}); start it, or point "
            f"{PG_ENV} at one (.ci/run starts and exports it)"
        )
        if in_ci():
            pytest.fail(f"CI is set, so this cannot be skipped: {reason}", pytrace=False)
        pytest.skip(reason)
    return url


def drop_database(engine: sa.Engine, name: str) -> None:
    """End every session on ``name`` (killed replicas may have left some), then drop it."""
    with engine.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": name},
        )
        force = " WITH (FORCE)" if conn.dialect.server_version_info >= (13,) else ""
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"{force}'))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A SQLAlchemy URL of a fresh, empty database (dropped after the test)."""
    url = require_server()
    name = PREFIX + secrets.token_hex(6)
    engine = admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            drop_database(engine, name)
    finally:
        engine.dispose()
