"""Is the bot healthy? One rule, used by ``newsbot healthcheck`` and by ``/healthz``.

Healthy means: a polling cycle finished at most ``3 × poll_interval_seconds + 60``
seconds ago (the heartbeat ``last_cycle_at`` that every finished cycle writes),
and the store accepts a write. A hung cycle, a stopped scheduler or a dead
process all stop the heartbeat, so they all turn the check unhealthy. So do a
running service's own store fault (``/healthz``: bot/app/storewatch.py) and, for
SQLite, a disk with less than ``MIN_FREE_BYTES`` left: a tiny test write can
still fit on a full disk while the next alert's cannot.

``newsbot healthcheck`` runs every minute inside the container, with a 10 s
timeout, so it must be quick and must change nothing but its probe row: on
SQLite it talks to the file with the standard library (no SQLAlchemy, no
migrations, no ``mkdir``), and a missing database is unhealthy, not created.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config.settings import Settings
from bot.core.clock import utcnow

if TYPE_CHECKING:
    from bot.store import Store

SLACK_SECONDS = 60.0  # on top of three poll intervals: a slow cycle is not a stall
BUSY_SECONDS = 5.0  # wait this long for the bot's own write to finish (timeout is 10 s)
PROBE_KEY, HEARTBEAT_KEY = "healthcheck_at", "last_cycle_at"
MIN_FREE_BYTES = 1024 * 1024


def max_age(poll_interval_seconds: float) -> float:
    """The oldest heartbeat still counted as healthy, in seconds."""
    return 3 * poll_interval_seconds + SLACK_SECONDS


def verdict(last: str | None, poll_interval_seconds: float) -> tuple[bool, str]:
    """(healthy, reason) for the heartbeat ``last`` (ISO time, or None: no cycle yet)."""
    if last is None:
        return False, "no polling cycle has completed yet"
    age = (utcnow() - datetime.fromisoformat(last)).total_seconds()
    limit = max_age(poll_interval_seconds)
    if age > limit:
        return False, f"last cycle finished {age:.0f} s ago (limit {limit:.0f} s)"
    return True, f"last cycle finished {age:.0f} s ago"


def _disk_full(database: Path) -> str | None:
    """Why a SQLite database cannot take the next alert for lack of disk, if it cannot."""
    try:
        free = shutil.disk_usage(database.parent).free
    except OSError:
        return None
    if free < MIN_FREE_BYTES:
        return f"store not writable: the disk holding the database has {free} bytes free"
    return None


def check(
    store: Store, poll_interval_seconds: float, problem: str | None = None
) -> tuple[bool, str]:
    """(healthy, reason) for an open store; any store error means unhealthy.

    ``problem``: what the running service already knows is wrong with its store.
    """
    import sqlalchemy as sa  # only the running service (and PostgreSQL checks) get here

    if problem:
        return False, f"store not writable: {problem}"
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        full = _disk_full(Path(url.database))
        if full:
            return False, full
    try:
        store.set_meta(PROBE_KEY, utcnow().isoformat())
        last = store.get_meta(HEARTBEAT_KEY)
    except sa.exc.SQLAlchemyError as exc:  # any failure to write and read it: unhealthy
        return False, f"store not usable: {' '.join(str(exc.__cause__ or exc).split())[:300]}"
    except Exception as exc:  # anything else that stops the probe: unhealthy too
        return False, f"store not usable: {exc}"
    return verdict(last, poll_interval_seconds)


def _sqlite_check(settings: Settings) -> tuple[bool, str]:
    path = settings.sqlite_file
    assert path is not None
    if not path.is_file():
        return False, f"store not usable: no database at {path} (has `newsbot run` started?)"
    full = _disk_full(path)
    if full:
        return False, full
    try:
        # mode=rw: never creates the file. The rule's write, then its read.
        uri = f"file:{path}?mode=rw"
        with closing(sqlite3.connect(uri, uri=True, timeout=BUSY_SECONDS)) as conn, conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (PROBE_KEY, utcnow().isoformat()),
            )
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (HEARTBEAT_KEY,)).fetchone()
    except sqlite3.Error as exc:
        return False, f"store not usable: {path}: {exc}"
    return verdict(row[0] if row else None, settings.poll_interval_seconds)


def healthcheck(settings: Settings) -> tuple[bool, str]:
    """``check`` against the configured store, opened for this one check; creates nothing."""
    if settings.sqlite_file is not None:
        return _sqlite_check(settings)
    from bot.store import Store  # PostgreSQL: the store's own code (no migration)
    from bot.store.engine import create_engine

    try:
        store = Store(create_engine(settings.db_url))
    except Exception as exc:  # cannot even build the engine: unhealthy
        return False, f"store not usable: {exc}"
    try:
        return check(store, settings.poll_interval_seconds)
    finally:
        store.close()
