"""Items whose page could not be analysed: tried again a few times, then recorded with why.

Falling back to the feed's text at once lost alerts: the feed's few words
matched nothing, the item was recorded as seen, and the page that would have
matched was never read. So::

    page unusable ─┬─ its page killed a worker MAX_KILLS times ─> quarantined ─┐
    (deadline,     ├─ the feed's own text matches ─────────────> given up ────┤
     crash, page   ├─ tried MAX_ATTEMPTS times ────────────────> given up ────┴─> recorded on
     unreachable)  │                                                              the feed's text
                   └─ otherwise ──> retried on the feed's next poll

An item the store refuses to record (a value one backend will not take) goes the
same way: tried on MAX_ATTEMPTS polls, then skipped with the reason, so one bad
value costs its item and never fails the feed on every poll.

Each attempt and its reason are counted in the store (``item_problems``), so they
survive restarts and ``/feeds`` shows them; outcomes are counted in the cycle
report for the metrics. A page that cannot be fetched for good (a 404) is no
such problem: it falls back at once, as before.
"""

from __future__ import annotations

import logging

from bot.core.errors import FetchError
from bot.core.models import Entry, FeedSource
from bot.pipeline.recorder import Recorder
from bot.store.problems import GIVEN_UP, QUARANTINED

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # polls on which an item is tried before it is recorded without its page
MAX_KILLS = 2  # deadlines or crashes after which a page is quarantined
RETRY = "retry"
# Fetch failures that a later poll may not meet again.
TRANSIENT = {"deadline", "timeout", "network", "http_429", "http_408"}


class Unanalysed(Exception):
    """The item's page could not be analysed this time (``killed``: it cost a worker)."""

    def __init__(self, url: str, reason: str, *, killed: bool) -> None:
        super().__init__(reason)
        self.url, self.reason, self.killed = url, reason, killed


def transient(exc: FetchError) -> bool:
    """Could the same page fetch work on a later poll?"""
    return exc.kind in TRANSIENT or exc.kind.startswith("http_5")


class Retries:
    """Decides, per failed attempt, whether an item waits for another poll."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def unstorable(self, feed: FeedSource, entry: Entry, exc: Exception) -> str:
        """``RETRY``, or ``GIVEN_UP``: skip the item the store refused, keeping why."""
        reason = f"could not be stored: {type(exc).__name__}: {exc}"
        url = entry.link or entry.key
        attempts, _ = self.recorder.unanalysed(feed, entry, url, reason, killed=False)
        extra = {"feed_url": feed.url, "item_key": entry.key, "attempt": attempts}
        if attempts < MAX_ATTEMPTS:
            log.warning("item_not_stored", extra={**extra, "reason": reason})
            return RETRY
        self.recorder.settled(feed, entry, GIVEN_UP)
        log.error("item_skipped", extra={**extra, "reason": reason})
        return GIVEN_UP

    def decide(self, feed: FeedSource, entry: Entry, exc: Unanalysed, matched: bool) -> str:
        """``RETRY``, or the state the item is recorded in (``GIVEN_UP``, ``QUARANTINED``)."""
        attempts, kills = self.recorder.unanalysed(
            feed, entry, exc.url, exc.reason, killed=exc.killed
        )
        if kills >= MAX_KILLS:
            state = QUARANTINED
        elif matched or attempts >= MAX_ATTEMPTS:
            state = GIVEN_UP
        else:
            extra = {"feed_url": feed.url, "url": exc.url, "attempt": attempts}
            log.info("item_retried_later", extra={**extra, "reason": exc.reason})
            return RETRY
        self.recorder.settled(feed, entry, state)
        log.warning(
            "item_recorded_without_page",
            extra={"feed_url": feed.url, "url": exc.url, "state": state, "reason": exc.reason},
        )
        return state
