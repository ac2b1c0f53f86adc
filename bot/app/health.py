"""Is the bot healthy? One rule, used by ``newsbot healthcheck`` and by ``/healthz``.

Healthy means: a polling cycle finished at most ``3 × poll_interval_seconds + 60``
seconds ago (the heartbeat ``last_cycle_at`` that every finished cycle writes),
and the store accepts a write. A hung cycle, a stopped scheduler or a dead
process all stop the heartbeat, so they all turn the check unhealthy.
"""

from __future__ import annotations

from datetime import datetime

from bot.config.settings import Settings
from bot.core.clock import utcnow
from bot.store import Store

SLACK_SECONDS = 60.0  # on top of three poll intervals: a slow cycle is not a stall


def max_age(poll_interval_seconds: float) -> float:
    """The oldest heartbeat still counted as healthy, in seconds."""
    return 3 * poll_interval_seconds + SLACK_SECONDS


def check(store: Store, poll_interval_seconds: float) -> tuple[bool, str]:
    """(healthy, reason) for an open store; any store error means unhealthy."""
    try:
        store.set_meta("healthcheck_at", utcnow().isoformat())
        last = store.get_meta("last_cycle_at")
    except Exception as exc:  # any failure to write and read the store means unhealthy
        return False, f"store not usable: {exc}"
    if last is None:
        return False, "no polling cycle has completed yet"
    age = (utcnow() - datetime.fromisoformat(last)).total_seconds()
    limit = max_age(poll_interval_seconds)
    if age > limit:
        return False, f"last cycle finished {age:.0f} s ago (limit {limit:.0f} s)"
    return True, f"last cycle finished {age:.0f} s ago"


def healthcheck(settings: Settings) -> tuple[bool, str]:
    """``check`` against the configured store, opened and closed for this one check."""
    try:
        store = Store.open(settings.db_url)
    except Exception as exc:  # cannot open (or migrate) the store: unhealthy
        return False, f"store not usable: {exc}"
    try:
        return check(store, settings.poll_interval_seconds)
    finally:
        store.close()
