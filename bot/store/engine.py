"""Database engine set-up and schema migrations (Alembic), run on every start."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATE_LOCK = 0x6E657773626F7401  # a PostgreSQL advisory lock: one replica migrates at a time
# The newest migration (tests check it against Alembic's head). A store already at
# HEAD starts without importing Alembic, ~11 MB the long-running process never needs.
HEAD = "0010"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL mode and its parent directory created."""
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def alembic_config() -> Config:
    """Alembic's configuration, pointing at the migrations shipped in the package."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Bring the schema up to the newest migration (a no-op when it already is).

    Replicas starting together on PostgreSQL take turns (a transaction-scoped
    advisory lock): the first migrates, the others then find the schema current.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK})
        if schema_version(conn) == HEAD:
            return
        from alembic import command

        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def schema_version(conn: sa.Connection) -> str | None:
    """The store's Alembic revision, read without Alembic (None for a new store)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
