"""Start-up checks: every expected reason not to start is one message and exit code 2.

``newsbot run`` in a container that cannot start must not loop on tracebacks, so
the things an operator gets wrong are checked before anything is built, each
naming what to do: the state directory is not writable, the database is not a
database, the metrics port is taken. The token refused by Telegram is found by
the first Bot API call (``bot.telegram.connect``). A database that cannot be
opened (PostgreSQL down, say) becomes a StartupError in ``open_service``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__
from bot.config.settings import Settings
from bot.core.errors import StartupError
from bot.store.scratch import read_only_uri

if TYPE_CHECKING:
    from bot.app.service import Service

log = logging.getLogger(__name__)


def _who() -> str:
    return f"uid {os.getuid()} (gid {os.getgid()})"


def _writable_dir(folder: Path) -> None:
    """``folder`` exists (or can be made) and this user may create files in it."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise StartupError(
            f"state directory {folder}: {existing} is not a directory; "
            "set state_dir (or NEWSBOT_STATE_DIR) to a folder"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise StartupError(
            f"state directory {existing} is not writable by {_who()}: give that user "
            f"write access (e.g. chown -R {os.getuid()}:{os.getgid()} on it), "
            "or set state_dir (NEWSBOT_STATE_DIR) to a writable folder"
        )


def check_sqlite(db: Path, *, write: bool = True) -> None:
    """The database file (if any) is really an SQLite database, and (``write``) writable."""
    if write:
        _writable_dir(db.parent)
    if not db.exists():
        return
    if write and not os.access(db, os.R_OK | os.W_OK):
        raise StartupError(
            f"database {db} is not writable by {_who()}: give that user write access, "
            "or set state_dir (NEWSBOT_STATE_DIR) to a writable folder"
        )
    try:  # read as the dry run reads it: nothing is created beside the file
        with contextlib.closing(sqlite3.connect(read_only_uri(db), uri=True)) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StartupError(
            f"database {db} is unreadable ({exc}): restore a backup with "
            "`newsbot state restore FILE`, or move the file away to start afresh"
        ) from None


def check_port(host: str, port: int) -> None:
    """The metrics port can be bound (a taken port is named, with the setting)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used: {exc}"
            raise StartupError(
                f"metrics port {host}:{port} {why}: set metrics_port (NEWSBOT_METRICS_PORT) "
                "to a free port, or unset it"
            ) from None


def preflight(settings: Settings, *, dry_run: bool = False) -> None:
    """Every check that needs nothing built yet; raises StartupError."""
    db = settings.sqlite_file
    if db is not None:
        check_sqlite(db, write=not dry_run)
    if settings.metrics_port is not None and not dry_run:
        check_port(settings.metrics_host, settings.metrics_port)


async def open_service(service: Service) -> None:
    """``service.open()``; a database that cannot be opened is a StartupError."""
    import sqlalchemy as sa

    try:
        await service.open()
    except BaseException as exc:
        await _close_partial(service)
        if isinstance(exc, sa.exc.DBAPIError):
            shown = sa.make_url(service.settings.db_url).render_as_string(hide_password=True)
            raise StartupError(
                f"cannot open the database {shown}: {exc.orig}; check database_url "
                "(NEWSBOT_DATABASE_URL) and that the server is up"
            ) from None
        raise


async def _close_partial(service: Service) -> None:
    """Release what a failed ``open`` had acquired before it failed."""
    front = getattr(service, "telegram", None)
    if front is not None:
        with contextlib.suppress(Exception):
            await front.close()
    fetcher = getattr(service, "fetcher", None)
    if fetcher is not None:
        await fetcher.aclose()
    for name in ("workers", "store"):
        part = getattr(service, name, None)
        if part is not None:
            part.close()


def database_shown(settings: Settings) -> str:
    """The database URL without its password, for the log."""
    import sqlalchemy as sa

    return sa.make_url(settings.db_url).render_as_string(hide_password=True)


def log_started(service: Service) -> None:
    """The one start line: version, config directory, database, feeds and topics."""
    settings = service.settings
    log.info(
        "newsbot_started",
        extra={
            "version": __version__,
            "config_dir": str(settings.config_dir),
            "database": database_shown(settings),
            "feeds": len(service.store.feeds.active()),
            "topics": len(service.rules.matcher.rules.topics),
            "console": service.console,
        },
    )
