"""Leader election for replicas: one PostgreSQL advisory lock, held on its own connection.

Only the leader polls Telegram for updates and drains the outbox (one bot token
allows one getUpdates consumer, and the 30 msg/s budget is per bot). If the
leader dies, PostgreSQL drops its session and the lock with it; another replica
takes it at its next check. SQLite means a single process: it always leads.
"""

from __future__ import annotations

import contextlib
import logging

import sqlalchemy as sa

log = logging.getLogger(__name__)
LOCK_KEY = 0x6E657773626F74  # "newsbot"


class Leadership:
    """Try, keep and lose the leader lock."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.shared = engine.dialect.name == "postgresql"
        self._conn: sa.Connection | None = None

    @property
    def held(self) -> bool:
        """Whether this process leads right now (as far as it last checked)."""
        return not self.shared or self._conn is not None

    def check(self) -> bool:
        """Keep the lock if held (and the session is alive), else try to take it."""
        if not self.shared:
            return True
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT 1"))
                return True
            except sa.exc.DBAPIError:
                log.warning("leadership_lost")
                self._drop()
        return self._try()

    def _try(self) -> bool:
        try:
            # Autocommit: the lock is session-level, and a session left "idle in
            # transaction" between checks could be killed by the server's timeout.
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except sa.exc.DBAPIError:
            return False
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
        if got:
            self._conn = conn
            log.info("leadership_acquired")
            return True
        conn.close()
        return False

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self._conn.invalidate()  # really close the session: never pool a lock holder
                self._conn.close()
            self._conn = None

    def release(self) -> None:
        """Give the lock up (on shutdown), so another replica can lead at once."""
        if self._conn is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        self._drop()
