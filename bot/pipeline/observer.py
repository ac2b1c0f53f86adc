"""Hooks to watch a cycle from outside, instead of patching it (arq's on_job_start/end).

The pipeline calls its ``Observer`` at the boundaries of each feed's poll and of
each new item, inline, in the task doing that work::

    poll  on_poll_start ─ fetch ─ on_feed_fetched ─ parse ─ on_feed_parsed ─ items ─ on_poll_end
    item  on_item_start ─ fetch page ─ on_page_fetched ─ worker ─ on_analysis ─ record ─ on_item_end
                                                                    (matched and stored) on_recorded

A 304 skips from ``on_feed_fetched`` to ``on_poll_end``; an item without a usable
page goes from ``on_item_start`` to ``on_analysis`` (matched on the feed's text).
What each step inside the worker cost comes back in ``Analysis.cpu``; delivery
outcomes come from the ``Deliverer``'s ``on_result``.

``Observer`` does nothing and is the default: subclass it and override what you
need (the benchmarks do). Hooks run on the event loop: keep them quick, never raise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields

from bot.analysis.page import Analysis
from bot.core.message import Alert
from bot.core.models import Article, Entry, FeedSource, FetchResult, ParsedFeed


class Observer:
    """No-op hooks; override the ones you need."""

    def on_poll_start(self, feed: FeedSource) -> None:
        """A feed's poll begins; its fetch is next."""

    def on_feed_fetched(self, feed: FeedSource, result: FetchResult) -> None:
        """The feed answered (200, or 304 if ``result.not_modified``); parsing is next."""

    def on_feed_parsed(self, feed: FeedSource, parsed: ParsedFeed) -> None:
        """The feed is parsed; finding its new entries (a store read) is next."""

    def on_poll_end(self, feed: FeedSource, outcome: str, seconds: float) -> None:
        """The poll is over: ``"ok"``, ``"not_modified"`` or ``"failed"``."""

    def on_item_start(self, feed: FeedSource, entry: Entry) -> None:
        """A new item's processing begins; fetching its page is next."""

    def on_page_fetched(self, entry: Entry, page: FetchResult) -> None:
        """The item's page arrived; a worker analyses it next."""

    def on_analysis(self, entry: Entry, analysis: Analysis) -> None:
        """The item is matched; recording it (if it matched) is next."""

    def on_recorded(self, entry: Entry, article: Article, alerts: Sequence[Alert]) -> None:
        """A matched article was stored, with ``alerts`` (one per chat) queued."""

    def on_item_end(self, feed: FeedSource, entry: Entry, outcome: str, seconds: float) -> None:
        """The item is done: ``"recorded"``, ``"unmatched"`` or ``"failed"``."""


class Observers(Observer):
    """Several observers heard in turn (the service's stage meter, a benchmark's own)."""

    def __init__(self, *observers: Observer | None) -> None:
        self.observers = [o for o in observers if o is not None]

    def on_poll_start(self, feed: FeedSource) -> None:
        for o in self.observers:
            o.on_poll_start(feed)

    def on_feed_fetched(self, feed: FeedSource, result: FetchResult) -> None:
        for o in self.observers:
            o.on_feed_fetched(feed, result)

    def on_feed_parsed(self, feed: FeedSource, parsed: ParsedFeed) -> None:
        for o in self.observers:
            o.on_feed_parsed(feed, parsed)

    def on_poll_end(self, feed: FeedSource, outcome: str, seconds: float) -> None:
        for o in self.observers:
            o.on_poll_end(feed, outcome, seconds)

    def on_item_start(self, feed: FeedSource, entry: Entry) -> None:
        for o in self.observers:
            o.on_item_start(feed, entry)

    def on_page_fetched(self, entry: Entry, page: FetchResult) -> None:
        for o in self.observers:
            o.on_page_fetched(entry, page)

    def on_analysis(self, entry: Entry, analysis: Analysis) -> None:
        for o in self.observers:
            o.on_analysis(entry, analysis)

    def on_recorded(self, entry: Entry, article: Article, alerts: Sequence[Alert]) -> None:
        for o in self.observers:
            o.on_recorded(entry, article, alerts)

    def on_item_end(self, feed: FeedSource, entry: Entry, outcome: str, seconds: float) -> None:
        for o in self.observers:
            o.on_item_end(feed, entry, outcome, seconds)


class StageMeter(Observer):
    """Adds each analysis's per-step CPU (``Analysis.cpu``, measured where the step ran:
    a worker, or the loop for a feed-text fallback) to ``add(stage, seconds)``.

    This is what ``newsbot_stage_cpu_seconds_total`` counts: it costs a few additions
    per item, so it is always on, and a benchmark running ``newsbot run`` as a process
    reads the breakdown from ``/metrics`` instead of reaching into the process.
    """

    def __init__(self, add: Callable[[str, float], None]) -> None:
        self.add = add

    def on_analysis(self, entry: Entry, analysis: Analysis) -> None:
        cpu = analysis.cpu
        for f in fields(cpu):
            ns = getattr(cpu, f.name)
            if ns:
                self.add(f.name, ns / 1e9)
