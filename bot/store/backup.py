"""``newsbot state backup`` / ``restore``: consistent copies of the SQLite database.

A plain ``cp`` of a live WAL-mode database can miss committed pages still in the
``-wal`` file, or copy a page mid-write. SQLite's online backup API copies one
consistent snapshot instead, in a single read transaction that (in WAL mode)
never blocks the running bot. Every copy is checked with ``PRAGMA
integrity_check`` before it takes the final name, and is written as a
self-contained file (rollback-journal mode, no ``-wal`` beside it).

Restore needs the bot **stopped**. The running bot keeps pooled connections
open, so ``restore`` asks SQLite for exclusive access (leaving WAL mode and
``BEGIN IMMEDIATE`` both fail while another process has the database open or
locked) and refuses with "stop the bot first" if it cannot get it. The current
database is kept as ``<name>.before-restore`` before it is overwritten.

PostgreSQL deployments use ``pg_dump`` / ``pg_restore`` instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from bot.core.errors import NewsbotError
from bot.store.engine import alembic_config

log = logging.getLogger(__name__)
BUSY_TIMEOUT = 10.0  # seconds to wait for a checkpoint or a short write to finish
LOCK_TIMEOUT = 2.0  # seconds restore waits for exclusive access before refusing
SAFETY_SUFFIX = ".before-restore"


def sqlite_path(db_url: str) -> Path:
    """The database file behind ``db_url``; a clear error for anything but an SQLite file."""
    try:
        url = sa.make_url(db_url)
    except sa.exc.ArgumentError as exc:
        raise NewsbotError(f"database_url {db_url!r} is not a database URL: {exc}") from exc
    if url.get_backend_name() != "sqlite":
        shown = url.render_as_string(hide_password=True)
        raise NewsbotError(
            f"state backup and restore support SQLite only, and the database is {shown}: "
            "use pg_dump / pg_restore (or your database's own tools) instead"
        )
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise NewsbotError(f"database_url {db_url!r} does not name an SQLite file to copy")
    return Path(url.database)


def backup_name(now: datetime | None = None) -> str:
    """``newsbot-YYYYmmdd-HHMMSS.sqlite3`` (UTC), the name used when ``dest`` is a folder."""
    return f"newsbot-{(now or datetime.now(UTC)):%Y%m%d-%H%M%S}.sqlite3"


def backup(db_url: str, dest: Path | str) -> Path:
    """Copy the live database to ``dest`` (a file, or a folder for a timestamped name).

    Safe while the bot runs. Returns the path written; never overwrites a file.
    """
    source = sqlite_path(db_url)
    if not source.is_file():
        raise NewsbotError(f"no database at {source}: nothing to back up")
    target = Path(dest)
    if target.is_dir() or str(dest).endswith(("/", os.sep)):
        target = target / backup_name()
    if target.exists():
        raise NewsbotError(f"{target} already exists; choose another name or remove it")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.closing(_connect(source, "rw", BUSY_TIMEOUT)) as conn:
            _copy_to_file(conn, target)
        verify(target)
    except (sqlite3.Error, OSError) as exc:
        raise NewsbotError(f"backup of {source} to {target} failed: {exc}") from exc
    log.info("state_backup_written", extra={"source": str(source), "dest": str(target)})
    return target


def verify(path: Path) -> str:
    """Check that ``path`` is an intact newsbot database; return its schema revision."""
    if not path.is_file():
        raise NewsbotError(f"{path}: no such file")
    try:
        with contextlib.closing(_connect(path, "ro", BUSY_TIMEOUT)) as conn:
            _check_integrity(conn, path)
            has_table = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
            if not has_table:
                raise NewsbotError(f"{path} is not a newsbot database (no alembic_version table)")
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error as exc:
        raise NewsbotError(f"{path} is not a readable SQLite database: {exc}") from exc
    if row is None:
        raise NewsbotError(f"{path} has an empty alembic_version table: schema version unknown")
    revision = str(row[0])
    try:
        from alembic.script import ScriptDirectory  # only for backup/restore, not the service

        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except Exception as exc:  # alembic raises several types for an unknown revision
        raise NewsbotError(
            f"{path} has schema revision {revision!r}, which this newsbot does not know: "
            "it was written by a newer version; upgrade newsbot before restoring it"
        ) from exc
    return revision


def restore(db_url: str, src: Path | str) -> None:
    """Replace the database with the verified backup ``src``. The bot must be stopped.

    The current database is first kept as ``<name>.before-restore``.
    """
    source, target = Path(src), sqlite_path(db_url)
    verify(source)
    if target.exists() and source.resolve() == target.resolve():
        raise NewsbotError(f"{source} is the live database itself; nothing to restore")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.closing(_connect(source, "ro", BUSY_TIMEOUT)) as src_conn:
            if target.exists():
                _restore_over(src_conn, target)
            else:
                _remove_sidecars(target)
                _copy_to_file(src_conn, target)
    except (sqlite3.Error, OSError) as exc:
        raise NewsbotError(f"restore of {source} into {target} failed: {exc}") from exc
    log.info("state_restored", extra={"source": str(source), "target": str(target)})


def _restore_over(src_conn: sqlite3.Connection, target: Path) -> None:
    """Keep a safety copy, then overwrite ``target`` in one SQLite transaction."""
    with contextlib.closing(_claim(target)) as conn:
        safety = target.with_name(target.name + SAFETY_SUFFIX)
        safety.unlink(missing_ok=True)
        _copy_to_file(conn, safety)
        src_conn.backup(conn)  # atomic: the old content stays until this commits
        _check_integrity(conn, target)
    _remove_sidecars(target)


def _claim(path: Path) -> sqlite3.Connection:
    """A connection with proof that no other process has the database open or locked."""
    conn = _connect(path, "rw", LOCK_TIMEOUT)
    try:
        # Leaving WAL mode needs every other connection closed; a running bot keeps
        # pooled ones open. It also checkpoints, so the safety copy is complete.
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        conn.close()
        raise _in_use(path, str(exc)) from exc
    if str(mode).lower() != "delete":
        conn.close()
        raise _in_use(path, f"journal mode stays {mode!r}")
    return conn


def _in_use(path: Path, why: str) -> NewsbotError:
    return NewsbotError(
        f"{path} is in use by another process ({why}): stop the bot first "
        "(e.g. `docker compose stop newsbot`), then run the restore again"
    )


def _connect(path: Path, mode: str, timeout: float) -> sqlite3.Connection:
    """Open an existing file (``mode`` ro or rw; never creates one) in autocommit mode."""
    uri = f"file:{quote(str(path.absolute()))}?mode={mode}"
    return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)


def _copy_to_file(conn: sqlite3.Connection, dest: Path) -> None:
    """Snapshot ``conn``'s database into a new file, checked, then renamed into place."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    tmp.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(tmp, isolation_level=None)) as out:
            conn.backup(out)  # one step: one consistent read transaction
            out.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            _check_integrity(out, dest)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    if rows != ["ok"]:
        raise NewsbotError(f"{path} failed the integrity check: {'; '.join(rows[:5])}")


def _remove_sidecars(path: Path) -> None:
    """Drop leftover ``-wal``/``-shm`` files, which would otherwise be replayed onto ``path``."""
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
