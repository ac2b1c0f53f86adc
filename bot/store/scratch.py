"""A throwaway in-memory copy of the store, so ``once --dry-run`` changes nothing on disk.

A dry run walks the real cycle's code path: it syncs the feed list, claims feeds
and reads what was seen, and all of that writes. Pointed at this copy instead, it
sees exactly what the real store holds, and whatever it writes is gone when the
process ends. Nothing is created where there was no database: the copy then
starts empty, like a first run.

An SQLite file is read without creating its ``-wal``/``-shm`` files: through them
when the bot is running (they exist), else as an immutable file. Another database
(PostgreSQL) is copied table by table. The copy costs memory in proportion to the
database, which retention keeps bounded.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from bot.store import Store
from bot.store.engine import migrate
from bot.store.schema import metadata

BATCH = 1000


def _memory_engine(conn: sqlite3.Connection) -> sa.Engine:
    """An engine over one in-memory connection (every checkout gets the same database)."""
    engine = sa.create_engine("sqlite://", creator=lambda: conn, poolclass=StaticPool)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    return engine


def read_only_uri(path: Path) -> str:
    """A URI that reads ``path`` without creating anything beside it."""
    live = all(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm"))
    return f"file:{path}?mode=ro" if live else f"file:{path}?mode=ro&immutable=1"


def _copy_tables(source: sa.Engine, target: sa.Engine) -> None:
    """Every newsbot table's rows (the columns the source has), into a migrated target."""
    with source.connect() as src, target.begin() as dst:
        present = sa.inspect(src)
        for table in metadata.sorted_tables:
            if not present.has_table(table.name):
                continue
            have = {c["name"] for c in present.get_columns(table.name)}
            rows = src.execute(sa.select(*(c for c in table.c if c.name in have))).mappings()
            while batch := rows.fetchmany(BATCH):
                dst.execute(table.insert(), [dict(r) for r in batch])


def scratch_copy(url: str, sqlite_file: Path | None) -> Store:
    """An in-memory store holding what the store at ``url`` holds (empty if there is none).

    ``sqlite_file`` is the file behind ``url`` when it is SQLite, else None.
    """
    memory = sqlite3.connect(":memory:", check_same_thread=False)
    if sqlite_file is not None and sqlite_file.is_file():
        source = sqlite3.connect(read_only_uri(sqlite_file), uri=True)
        try:
            source.backup(memory)
        finally:
            source.close()
    engine = _memory_engine(memory)
    migrate(engine)  # an older copy is brought up to date in memory, never the file
    if sqlite_file is None:
        source_engine = sa.create_engine(url)
        try:
            _copy_tables(source_engine, engine)
        finally:
            source_engine.dispose()
    return Store(engine)
