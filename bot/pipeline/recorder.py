"""Where a cycle's results go: one ``Recorder`` protocol, two implementations.

``StoreRecorder`` writes to the store; ``DryRunRecorder`` (``once --dry-run``)
prints what would be sent and writes nothing. The pipeline calls the same
methods either way, so a dry run walks exactly the code path of a real cycle.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TextIO

from bot.core.htmltext import terminal
from bot.core.message import Alert
from bot.core.models import Article, Entry, FeedSource, FetchResult, TopicMatch
from bot.store import Store

log = logging.getLogger(__name__)

UNCHANGED_BATCH = 200


class Recorder(Protocol):
    """Where the pipeline records what a poll did; every method is called from the loop."""

    def feed_ok(
        self, feed: FeedSource, result: FetchResult, next_at: datetime, interval: float
    ) -> None:
        """The feed was fetched and its new items recorded; it is next polled at ``next_at``."""

    def feed_failed(self, feed: FeedSource, kind: str, message: str, next_at: datetime) -> None:
        """The feed failed; it is retried at ``next_at`` (backed off)."""

    def feed_broken(self, feed: FeedSource, broken: bool) -> None:
        """Admins were told the feed is broken (or works again)."""

    def first_sight(self, feed: FeedSource, entries: Sequence[Entry]) -> None:
        """Items present at a feed's first poll: seen, never alerted."""

    def seen(self, feed: FeedSource, entries: Sequence[Entry]) -> None:
        """Processed items that matched nothing."""

    def adopted(self, feed: FeedSource, entries: Sequence[Entry]) -> None:
        """A legacy feed's items seen under older keys: store their new keys, once."""

    def listed(self, feed: FeedSource, entries: Sequence[Entry]) -> None:
        """The feed's document lists these entries now: keep them from being pruned."""

    def article(
        self,
        feed: FeedSource,
        entry: Entry,
        article: Article,
        found: Sequence[TopicMatch],
        alerts: Sequence[Alert],
        story: int | None = None,
        snippet: str = "",
    ) -> bool:
        """One matched item: seen, with its article, matches and alerts.

        False if it was recorded already (by another replica): nothing was written.
        """

    def new_story(self, fingerprint: int) -> int | None:
        """A new story for an article no earlier outlet ran; its id, if stories are kept."""

    def unanalysed(
        self, feed: FeedSource, entry: Entry, url: str, reason: str, *, killed: bool
    ) -> tuple[int, int]:
        """The item's page could not be analysed: (its attempts, its page's worker kills)."""

    def settled(self, feed: FeedSource, entry: Entry, state: str) -> None:
        """The item is recorded without its page (given up, or its page quarantined)."""

    def quarantined(self, url: str) -> bool:
        """Is this page never to be analysed again?"""

    def archived(self, feed: FeedSource, article: Article) -> None:
        """An article that matched nothing: kept a while for the console's "Try on past news"."""

    def flush(self, older_than: float = 0.0) -> None:
        """Write what is batched, if the oldest has waited ``older_than`` seconds."""

    def cycle_done(self) -> None:
        """A cycle finished."""


class StoreRecorder:
    """Writes a cycle's results to the store.

    Writes that lose nothing if a crash drops them are batched: 304s (the feed is
    simply polled again) and items that matched nothing (re-processed, no alert
    to lose). An article that matched is written at once, with its alerts.
    """

    def __init__(self, store: Store, owner: str = "") -> None:
        self.store, self.owner = store, owner  # owner: this replica's lease name
        self._unchanged: list[tuple[int, datetime, float]] = []
        self._since = 0.0  # when the oldest batched 304 arrived

    def feed_ok(
        self, feed: FeedSource, result: FetchResult, next_at: datetime, interval: float
    ) -> None:
        """The feed was fetched and all its new items are recorded; schedule the next poll."""
        if result.not_modified and not result.permanent_redirect:
            if not self._unchanged:
                self._since = time.monotonic()
            self._unchanged.append((feed.id, next_at, interval))
            if len(self._unchanged) >= UNCHANGED_BATCH:
                self.flush()
            return
        self.store.feeds.record_success(feed.id, result, next_at, interval)

    def flush(self, older_than: float = 0.0) -> None:
        """Write the batched 304s, if the oldest has waited ``older_than`` seconds.

        Until written, those feeds stay leased to this replica; a cycle calls this
        every second or so, and unconditionally when it ends.
        """
        if self._unchanged and time.monotonic() - self._since >= older_than:
            polls, self._unchanged = self._unchanged, []
            self.store.feeds.record_unchanged(polls, self.owner)

    def feed_failed(self, feed: FeedSource, kind: str, message: str, next_at: datetime) -> None:
        """The feed failed this cycle; it is retried at ``next_at`` (backed off)."""
        self.store.feeds.record_error(feed.id, kind, message, next_at)

    def feed_broken(self, feed: FeedSource, broken: bool) -> None:
        """Admins were told the feed is broken."""
        self.store.feeds.set_broken(feed.id, broken)

    def first_sight(self, feed: FeedSource, entries: Sequence[Entry]) -> None:
        """Items present at a feed's first poll: seen, never alerted."""
        self.store.items.mark_seen(feed.id, entries, first_poll=True)

    def seen(self, feed: FeedSource, entries: Sequence[Entry]) -> None:
        """Processed items that matched nothing, in one transaction per feed."""
        if entries:
            self.store.items.mark_seen(feed.id, entries)

    def adopted(self, feed: FeedSource, entries: Sequence[Entry]) -> None:
        """Store the new keys of items seen under older ones; the feed's old keys retire."""
        self.store.items.adopt(feed.id, entries)

    def listed(self, feed: FeedSource, entries: Sequence[Entry]) -> None:
        """Refresh what the feed still lists, so retention never forgets it."""
        self.store.items.listed(feed.id, entries)

    def article(
        self,
        feed: FeedSource,
        entry: Entry,
        article: Article,
        found: Sequence[TopicMatch],
        alerts: Sequence[Alert],
        story: int | None = None,
        snippet: str = "",
    ) -> bool:
        """One matched item: seen, plus its article, matches and outbox rows."""
        return self.store.items.record_article(
            feed.id, entry, article, found, alerts, story, snippet
        )

    def new_story(self, fingerprint: int) -> int | None:
        """Start a story for an article no earlier outlet ran."""
        return self.store.stories.create(fingerprint)

    def unanalysed(
        self, feed: FeedSource, entry: Entry, url: str, reason: str, *, killed: bool
    ) -> tuple[int, int]:
        """Count the failed attempt in the store, where it outlives a restart."""
        return self.store.problems.note(feed.id, entry.key, url, reason, killed=killed)

    def settled(self, feed: FeedSource, entry: Entry, state: str) -> None:
        """Keep the reason the item is recorded without its page."""
        self.store.problems.settle(feed.id, entry.key, state)

    def quarantined(self, url: str) -> bool:
        """Has this page killed its worker often enough?"""
        return self.store.problems.quarantined(url)

    def archived(self, feed: FeedSource, article: Article) -> None:
        """Keep an unmatched article for the console (best effort: never fails the item)."""
        try:
            self.store.archive.add(feed.id, article)
        except Exception as exc:  # the archive is a convenience; the item is still seen
            log.warning("archive_failed", extra={"url": article.url, "error": str(exc)})

    def cycle_done(self) -> None:
        """A cycle finished; the healthcheck reads this heartbeat."""
        self.flush()
        self.store.heartbeat()


class DryRunRecorder:
    """Prints what a cycle would send and records nothing (``once --dry-run``)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def feed_ok(
        self, feed: FeedSource, result: FetchResult, next_at: datetime, interval: float
    ) -> None:
        """Say nothing: validators and schedule are not saved in a dry run."""

    def feed_broken(self, feed: FeedSource, broken: bool) -> None:
        """Nothing is remembered in a dry run."""

    def feed_failed(self, feed: FeedSource, kind: str, message: str, next_at: datetime) -> None:
        """Print the failure."""
        print(f"! {feed.name}: {kind}: {message}", file=self.out)

    def first_sight(self, feed: FeedSource, entries: Sequence[Entry]) -> None:
        """Explain why a new feed's items would not alert."""
        print(
            f"- {feed.name}: first poll, {len(entries)} existing item(s) would be recorded "
            "without alerting",
            file=self.out,
        )

    def article(
        self,
        feed: FeedSource,
        entry: Entry,
        article: Article,
        found: Sequence[TopicMatch],
        alerts: Sequence[Alert],
        story: int | None = None,
        snippet: str = "",
    ) -> bool:
        """Print each alert that would be queued, and matches nobody subscribed to."""
        for alert in alerts:
            print(
                f"=== would send to chat {alert.chat_id} ===\n{terminal(alert.text)}\n",
                file=self.out,
            )
        if found and not alerts:
            topics = ", ".join(m.topic_id for m in found)
            print(f"- {article.url}: matches {topics}, but no chat subscribes", file=self.out)
        return True

    def seen(self, feed: FeedSource, entries: Sequence[Entry]) -> None:
        """Nothing is remembered in a dry run."""

    def adopted(self, feed: FeedSource, entries: Sequence[Entry]) -> None:
        """Nothing is remembered in a dry run."""

    def listed(self, feed: FeedSource, entries: Sequence[Entry]) -> None:
        """Nothing is remembered in a dry run."""

    def flush(self, older_than: float = 0.0) -> None:
        """Nothing was batched."""

    def new_story(self, fingerprint: int) -> int | None:
        """No story rows in a dry run."""
        return None

    def unanalysed(
        self, feed: FeedSource, entry: Entry, url: str, reason: str, *, killed: bool
    ) -> tuple[int, int]:
        """A dry run never waits for a later poll: show the item as it stands."""
        print(f"- {url}: page not analysed ({reason}); the feed's text is used", file=self.out)
        return sys.maxsize, 0

    def settled(self, feed: FeedSource, entry: Entry, state: str) -> None:
        """Nothing is remembered in a dry run."""

    def quarantined(self, url: str) -> bool:
        """No page is quarantined in a dry run's eyes."""
        return False

    def archived(self, feed: FeedSource, article: Article) -> None:
        """Nothing is archived in a dry run."""

    def cycle_done(self) -> None:
        """No heartbeat: a dry run is not the service."""
