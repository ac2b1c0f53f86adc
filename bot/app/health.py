"""Is the bot healthy? One rule, used by ``newsbot healthcheck`` and by ``/healthz``.

Healthy means polls are completing on time: the scheduler's heartbeat
(``scheduler_at``, written every few seconds by ``newsbot run`` and at the end of
each ``once``) is at most ``HEARTBEAT_MAX_SECONDS`` old, no feed has waited more
than ``late_limit`` past its due time without its poll starting (a feed being
polled is bounded by its own deadline, so a hanging feed never counts), and the
store accepts a write. A stopped scheduler or a dead process stop the heartbeat;
pollers or a host's politeness spacing that cannot keep up make feeds late. So do
a running service's own store fault (``/healthz``: bot/app/storewatch.py) and,
for SQLite, a disk with less than ``MIN_FREE_BYTES`` left: a tiny test write can
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
from bot.core.clock import as_utc, utcnow

if TYPE_CHECKING:
    from bot.store import Store

HEARTBEAT_MAX_SECONDS = 120.0  # the scheduler beats every 15 s and wakes every 30 s at most
LATE_MIN_SECONDS = 30.0  # a feed may wait this long past due (or half its interval) and be fine
BUSY_SECONDS = 5.0  # wait this long for the bot's own write to finish (timeout is 10 s)
PROBE_KEY, HEARTBEAT_KEY = "healthcheck_at", "scheduler_at"
MIN_FREE_BYTES = 1024 * 1024
# The feeds waiting to start: due, and not leased (or the lease ran out).
WAITING_SQL = (
    "SELECT min(next_poll_at), count(*) FROM feeds WHERE enabled AND next_poll_at <= ? "
    "AND (lease_until IS NULL OR lease_until < ?)"
)


def late_limit(poll_interval_seconds: float) -> float:
    """How long past its due time a feed may wait for its poll to start, healthy."""
    return max(LATE_MIN_SECONDS, poll_interval_seconds / 2)


def verdict(
    last: str | None, lateness: tuple[float, int], poll_interval_seconds: float
) -> tuple[bool, str]:
    """(healthy, reason) for the heartbeat ``last`` (ISO time) and the feeds' lateness.

    ``lateness``: (seconds the most overdue feed has waited, how many wait).
    """
    if last is None:
        return False, "the poll scheduler has not started (no heartbeat yet)"
    age = (utcnow() - datetime.fromisoformat(last)).total_seconds()
    if age > HEARTBEAT_MAX_SECONDS:
        return False, (
            f"the poll scheduler last ran {age:.0f} s ago (limit {HEARTBEAT_MAX_SECONDS:.0f} s)"
        )
    late, waiting = lateness
    limit = late_limit(poll_interval_seconds)
    if late > limit:
        return False, (
            f"polls are late: {waiting} feed(s) due and not started, the oldest "
            f"{late:.0f} s past due (limit {limit:.0f} s)"
        )
    return True, f"polls on time (most overdue {late:.0f} s; scheduler ran {age:.0f} s ago)"


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
        lateness = store.feeds.lateness()
    except sa.exc.SQLAlchemyError as exc:  # any failure to write and read it: unhealthy
        return False, f"store not usable: {' '.join(str(exc.__cause__ or exc).split())[:300]}"
    except Exception as exc:  # anything else that stops the probe: unhealthy too
        return False, f"store not usable: {exc}"
    return verdict(last, lateness, poll_interval_seconds)


def _sqlite_lateness(conn: sqlite3.Connection) -> tuple[float, int]:
    """``FeedStore.lateness`` in plain SQL (SQLAlchemy's SQLite datetime text format)."""
    now = utcnow()
    text = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    oldest, count = conn.execute(WAITING_SQL, (text, text)).fetchone()
    if oldest is None:
        return 0.0, 0
    due = as_utc(datetime.fromisoformat(oldest))
    assert due is not None
    return max(0.0, (now - due).total_seconds()), int(count)


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
            lateness = _sqlite_lateness(conn)
    except sqlite3.Error as exc:
        return False, f"store not usable: {path}: {exc}"
    return verdict(row[0] if row else None, lateness, settings.poll_interval_seconds)


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
