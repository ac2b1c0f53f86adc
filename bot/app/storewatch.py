"""Says when the store stops taking writes, and when it takes them again.

Disk full, a read-only database and a database server gone all look alike to
the rest of newsbot: writes fail. Each part stops what it must (delivery sends
nothing it cannot record: bot/delivery/drain.py; cycles are skipped); this
watch, run every second, turns the store's state (``Store.fault``, set by the
failing statement itself) into what an operator sees: one log line per change,
one notice to the admins, health unhealthy, ``newsbot_store_writable`` at 0.
While the store is faulty it tries one small write per check, so recovery is
noticed even when nothing else writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.store import Store
from bot.store.faults import StoreFault

log = logging.getLogger(__name__)
CHECK_SECONDS = 1.0


class StoreWatch:
    """Compares the store's fault with the last one reported, and reports changes."""

    def __init__(self, store: Store, notify: Callable[[str], None]) -> None:
        self.store, self.notify = store, notify
        self.fault: StoreFault | None = None  # as last reported

    async def check(self) -> None:
        """One look (and, while faulty, one probing write); report what changed."""
        fault = self.store.fault
        if fault is not None and self.store.writable():
            fault = None
        elif fault is not None:
            fault = self.store.fault or fault
        if fault == self.fault or (fault and self.fault and fault.kind == self.fault.kind):
            return
        if fault is not None:
            log.error("store_unwritable", extra={"kind": fault.kind, "error": fault.detail})
            self.notify(
                f"newsbot cannot write its database: {fault.describe()}. Sending alerts is "
                "paused so that none is sent twice; it resumes by itself once the database "
                "takes writes again."
            )
        else:
            log.warning(
                "store_writable_again", extra={"kind": self.fault.kind if self.fault else ""}
            )
            self.notify("The database takes writes again; sending alerts has resumed.")
        self.fault = fault

    def problem(self) -> str | None:
        """Why the store is not usable, for health; None when it is."""
        return self.fault.describe() if self.fault else None
