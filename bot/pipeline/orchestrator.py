"""The orchestrator: one polling cycle, fetch -> parse -> extract -> match -> outbox.

The stages of a cycle meet here: the scheduled job, ``newsbot once`` and the
tests all run ``Pipeline.run_cycle``. Nothing is marked as seen
until its article, matches and outbox rows are stored in the same transaction,
and a feed's HTTP validators are saved only after all its new items are, so a
crash at any point means re-work on the next cycle, never a lost alert. An item
whose page could not be analysed waits for a later poll (bot/pipeline/retries.py).
An ``Observer`` (bot/pipeline/observer.py) hears of each step; by default, no one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from bot.analysis.feeds import parse_in_worker
from bot.analysis.page import Analysis, PageJob, RulesBlob, analyze, finish
from bot.analysis.pool import JobTimedOut, WorkerCrashed, WorkerPool
from bot.config.settings import Settings
from bot.core.clock import utcnow
from bot.core.errors import ExtractError, FeedError, FetchError
from bot.core.i18n import pick
from bot.core.language import guess_language
from bot.core.message import Alert
from bot.core.models import Article, Entry, FeedSource, TopicMatch
from bot.delivery.render import View, digest_line, render_alert
from bot.ingest.fetch import Fetcher
from bot.pipeline.observer import Observer
from bot.pipeline.outcomes import PollOutcomes
from bot.pipeline.recorder import Recorder
from bot.pipeline.report import CycleReport
from bot.pipeline.retries import RETRY, Retries, Unanalysed, transient
from bot.pipeline.schedule import Poll
from bot.pipeline.stories import StoryGrouper
from bot.rules.live import LiveRules
from bot.store import Store
from bot.store.faults import refused_value, store_fault

log = logging.getLogger(__name__)
CONSOLE_CHAT = 0
LEASE_FLUSH_SECONDS = 1.0  # how long a polled feed may stay leased before its 304 is saved
# One item's outcome; a DEFERRED item is tried again on the feed's next poll, a
# SKIPPED one (refused by the store MAX_ATTEMPTS times) is recorded as seen only.
RECORDED, UNMATCHED, FAILED = "recorded", "unmatched", "failed"
DEFERRED, SKIPPED = "deferred", "skipped"
OK, NOT_MODIFIED = "ok", "not_modified"  # one poll's outcome (or FAILED)


class Pipeline:
    """Runs polling cycles; never two at once."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        fetcher: Fetcher,
        workers: WorkerPool,
        rules: LiveRules,
        recorder: Recorder,
        *,
        console: bool = False,
        notify: Callable[[str], None] | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.settings, self.store, self.fetcher = settings, store, fetcher
        self.workers, self.rules, self.recorder = workers, rules, recorder
        self.console = console
        self.observer = observer or Observer()  # the default does nothing
        self._lock = asyncio.Lock()
        # Items in flight (fetched page in memory, or in a worker): bounds memory.
        self._entry_slots = asyncio.Semaphore(settings.fetch.max_concurrency * 8)
        self.cycles = 0
        self.matcher = rules.matcher
        self._rules = RulesBlob.of(self.matcher)  # what the workers match with
        self.outcomes = PollOutcomes(settings, recorder, notify)
        self.retries = Retries(recorder)
        self.stories = StoryGrouper(store, recorder, settings.alerts.story_window_hours)
        self._cycle_done = asyncio.Condition()

    async def run_cycle(self, *, due_only: bool = False) -> CycleReport:
        """Poll every enabled feed (or only those due); a failing feed never stops the others."""
        async with self._lock:
            report = CycleReport()
            latest = await self.rules.refresh()  # read and compiled off the loop
            if latest is not self.matcher:  # a valid rules edit takes effect here
                self.matcher = latest
                self._rules = RulesBlob.of(self.matcher)
            try:
                fetching = self.settings.fetch.max_concurrency
                if due_only:  # a smaller window: other replicas get their share of a burst
                    await self._poll_feeds(report, self._due_claimer(), 2 * fetching)
                else:
                    await self._poll_feeds(report, self._all(), 4 * fetching)
            finally:
                self.recorder.flush()  # batched 304s, even from a cancelled cycle
            self.recorder.cycle_done()
            log.info(  # the one INFO line per cycle, even a tick that found no feed due
                "cycle_done",
                extra={
                    "feeds": report.feeds,
                    "failed": len(report.failed),
                    "new_items": report.new_items,
                    "alerts": report.alerts,
                },
            )
        async with self._cycle_done:
            self.cycles += 1
            self._cycle_done.notify_all()
        return report

    def _due_claimer(self) -> Callable[[int], list[FeedSource]]:
        """Due feeds, leased to this replica ``n`` at a time (never one it holds already)."""
        replica, start = self.settings.replica, utcnow()

        def claim(n: int) -> list[FeedSource]:
            return self.store.feeds.claim_due(
                replica.id, replica.lease_seconds, n, cycle_start=start
            )

        return claim

    def _all(self) -> Callable[[int], list[FeedSource]]:
        """Every enabled feed (``once``), ``n`` at a time."""
        feeds = self.store.feeds.active()

        def take(n: int) -> list[FeedSource]:
            batch, feeds[:n] = feeds[:n], []
            return batch

        return take

    async def _poll_feeds(
        self, report: CycleReport, take: Callable[[int], list[FeedSource]], slots: int
    ) -> None:
        """Poll feeds from ``take``, at most ``slots`` in flight, taking more as they end.

        Bounded, so a burst over thousands of feeds keeps a steady memory; taken in
        batches, so replicas share a burst instead of the first to tick leasing it all.
        """
        more = True
        running: set[asyncio.Task[None]] = set()
        ended = asyncio.Event()  # a feed's poll ended (O(1), unlike asyncio.wait over all)

        def finished(task: asyncio.Task[None]) -> None:
            running.discard(task)
            ended.set()

        def flush_tick() -> None:  # wake at least once a lease-flush period
            nonlocal tick
            ended.set()
            tick = loop.call_later(LEASE_FLUSH_SECONDS, flush_tick)

        loop = asyncio.get_running_loop()
        tick = loop.call_later(LEASE_FLUSH_SECONDS, flush_tick)

        try:
            while True:
                if more and len(running) <= slots // 2:
                    want = slots - len(running)
                    batch = take(want)
                    more = len(batch) == want  # fewer: nothing else is due now
                    report.feeds += len(batch)
                    for feed in batch:
                        task = asyncio.create_task(self._poll_guarded(feed, report))
                        running.add(task)
                        task.add_done_callback(finished)
                if not running:
                    return
                await ended.wait()  # a poll ended, or the flush tick
                ended.clear()
                self.recorder.flush(older_than=LEASE_FLUSH_SECONDS)  # give 304'd feeds back
        finally:
            tick.cancel()
            for task in running:  # only when this cycle itself is cancelled
                task.cancel()
            if running:  # let them unwind (and say so) before the cycle ends
                await asyncio.wait(running)

    async def wait_cycles(self, count: int) -> None:
        """Wait until ``count`` cycles have completed in total (wrap in a timeout)."""
        async with self._cycle_done:
            await self._cycle_done.wait_for(lambda: self.cycles >= count)

    async def _poll_guarded(self, feed: FeedSource, report: CycleReport) -> None:
        self.observer.on_poll_start(feed)
        start, outcome = time.monotonic(), FAILED
        try:
            outcome = await self.poll_feed(feed, report)
        except FeedError as exc:
            log.warning(
                "feed_failed", extra={"feed_url": feed.url, "kind": exc.kind, "error": str(exc)}
            )
            self._failed(feed, report, exc.kind, str(exc), exc.retry_after)
        except Exception as exc:  # a bug in one feed's path must not stop the cycle
            fault = store_fault(exc)
            if fault is not None:  # not the feed's doing: the store stopped taking writes
                log.error("feed_not_recorded", extra={"feed_url": feed.url, "error": fault.detail})
            else:
                log.exception("feed_crashed", extra={"feed_url": feed.url})
            self._failed(feed, report, "internal", repr(exc), None)
        self.observer.on_poll_end(feed, outcome, time.monotonic() - start)

    def _failed(
        self, feed: FeedSource, report: CycleReport, kind: str, error: str, wait: float | None
    ) -> None:
        try:
            self.outcomes.failed(feed, report, kind, error, wait)
        except Exception as exc:  # the store itself failing: the feed is simply polled again
            log.error("feed_failure_not_recorded", extra={"feed_url": feed.url, "error": str(exc)})

    async def poll_feed(self, feed: FeedSource, report: CycleReport) -> str:
        """Fetch, parse and process one feed's new items: OK or NOT_MODIFIED."""
        result = await self.fetcher.fetch_feed(
            feed.url, etag=feed.etag, last_modified=feed.last_modified
        )
        self.observer.on_feed_fetched(feed, result)
        if result.not_modified:
            report.not_modified += 1
            self.outcomes.succeeded(feed, result, Poll(ok=True, cache_seconds=result.cache_seconds))
            return NOT_MODIFIED
        legacy = feed.legacy_keys  # first full poll since the identity rule changed
        parsed = await parse_in_worker(
            self.workers, result.body, result.final_url, result.content_type, legacy=legacy
        )
        self.observer.on_feed_parsed(feed, parsed)
        if parsed.warning:
            log.warning("feed_bozo", extra={"feed_url": feed.url, "warning": parsed.warning})
        triage = self.store.items.triage(feed.id, parsed.entries, legacy=legacy)
        self.recorder.listed(feed, parsed.entries)  # still listed: never pruned
        if legacy:
            self.recorder.adopted(feed, triage.adopted)
        new = triage.new
        if not feed.first_polled:
            new = self._first_sight(feed, new)
        report.new_items += len(new)
        # A feed's pages come from one host, fetched per_host_concurrency at a time:
        # more of its items holding entry slots would only keep other feeds waiting.
        lane = asyncio.Semaphore(self.settings.fetch.per_host_concurrency + 1)
        outcomes = await asyncio.gather(
            *(self._process_guarded(feed, e, report, lane) for e in new)
        )
        self.recorder.seen(
            feed, [e for e, done in zip(new, outcomes, strict=True) if done in (UNMATCHED, SKIPPED)]
        )
        if FAILED in outcomes:
            raise FeedError(
                f"{feed.url}: {outcomes.count(FAILED)} item(s) failed; "
                "they will be retried next cycle",
                kind="item",
            )
        poll = Poll(
            ok=True,
            new_items=len(new),
            cache_seconds=result.cache_seconds,
            ttl_minutes=parsed.ttl_minutes,
        )
        if DEFERRED in outcomes:  # no validators: the next poll must see those items again
            result = replace(result, etag=None, last_modified=None)
        self.outcomes.succeeded(feed, result, poll)
        return OK

    def _first_sight(self, feed: FeedSource, entries: list[Entry]) -> list[Entry]:
        """On a feed's first poll, record old items without alerting (no flood)."""
        max_age = self.settings.alerts.first_poll_max_age_hours
        cutoff = utcnow() - timedelta(hours=max_age)
        fresh = [e for e in entries if max_age and e.published and e.published >= cutoff]
        old = [e for e in entries if e not in fresh]
        self.recorder.first_sight(feed, old)
        log.debug(
            "feed_first_sight",
            extra={"feed_url": feed.url, "recorded": len(old), "alerting": len(fresh)},
        )
        return fresh

    async def _process_guarded(
        self, feed: FeedSource, entry: Entry, report: CycleReport, lane: asyncio.Semaphore
    ) -> str:
        async with lane, self._entry_slots:
            self.observer.on_item_start(feed, entry)
            start, outcome = time.monotonic(), FAILED
            try:
                outcome = await self.process_entry(feed, entry, report)
            except Exception as exc:  # retried next cycle, since nothing was recorded
                if refused_value(exc):  # this item's data: it must not fail the feed
                    kept = self.retries.unstorable(feed, entry, exc) == RETRY
                    outcome = DEFERRED if kept else SKIPPED
                else:
                    log.exception(
                        "item_failed", extra={"feed_url": feed.url, "item_key": entry.key}
                    )
            self.observer.on_item_end(feed, entry, outcome, time.monotonic() - start)
            return outcome

    async def process_entry(self, feed: FeedSource, entry: Entry, report: CycleReport) -> str:
        """Turn one new entry into an article and match it; record it with its alerts.

        Returns RECORDED, or UNMATCHED for an item the caller records as seen in one
        batch per feed (nothing to alert, so nothing to lose if that batch never lands).
        """
        try:
            analysis = await self.analysis_for(feed, entry)
        except Unanalysed as exc:
            analysis = finish(self.matcher, self._feed_text(feed, entry), exc.reason)
            outcome = self.retries.decide(feed, entry, exc, bool(analysis.matches))
            report.unanalysed[outcome] += 1
            if outcome == RETRY:
                return DEFERRED
        self.observer.on_analysis(entry, analysis)
        article, found = analysis.article, list(analysis.matches)
        if not found:
            self.recorder.archived(feed, article)
            return UNMATCHED
        if article.language is None:
            article = replace(article, language=guess_language(article.body or article.summary))
        alerts = self._alerts(article, found)
        story = self.stories.story_of(analysis.fingerprint)
        line = digest_line(article, found)
        if not self.recorder.article(feed, entry, article, found, alerts, story, line):
            return RECORDED  # another replica recorded it first; nothing of ours was written
        report.stored(article, found, len(alerts))
        self.observer.on_recorded(entry, article, alerts)
        log.info(
            "article_matched",
            extra={"url": article.url, "chats": len(alerts), "topics": [m.topic_id for m in found]},
        )
        return RECORDED

    def _alerts(self, article: Article, found: list[TopicMatch]) -> list[Alert]:
        """The alert for each chat following a matched topic, rendered for that chat.

        Chats that share topics, language and zone share one rendering.
        """
        if not found:
            return []
        if self.console:
            return [Alert(CONSOLE_CHAT, render_alert(article, found, View()))]
        rendered: dict[View, str] = {}
        out = []
        for chat in self.store.subs.recipients(m.topic_id for m in found):
            view = View(chat.topics, pick(chat.language), chat.timezone)
            if view not in rendered:
                rendered[view] = render_alert(article, found, view)
            topics = tuple(m.topic_id for m in found if m.topic_id in chat.topics)
            out.append(Alert(chat.chat_id, rendered[view], view.lang, topics))
        return out

    @staticmethod
    def _feed_text(feed: FeedSource, entry: Entry) -> Article:
        return Article(
            url=entry.link,
            title=entry.title,
            summary=entry.summary,
            body=entry.content,
            source=feed.name,
            published=entry.published,
            text_source="feed",
            language=feed.language,
        )

    async def analysis_for(self, feed: FeedSource, entry: Entry) -> Analysis:
        """The item's page, pre-filtered, extracted and matched in a worker.

        Without a page (no link, a quarantined page, or one that cannot be fetched
        for good) the feed's own text is matched instead. ``Unanalysed`` when it
        might work on a later poll: the fetch failed for now, or the worker
        timed out or crashed on it.
        """
        base = self._feed_text(feed, entry)
        if not entry.link.startswith(("http://", "https://")):
            return finish(self.matcher, base)
        if self.recorder.quarantined(entry.link):
            return finish(self.matcher, base, f"{entry.link}: quarantined")
        try:
            page = await self.fetcher.fetch_page(entry.link)
            self.observer.on_page_fetched(entry, page)
            job = PageJob(base, self._rules, page.body, page.final_url, page.content_type)
            analysis = await self.workers.run(analyze, job)
        except FetchError as exc:
            if transient(exc):
                raise Unanalysed(entry.link, str(exc), killed=False) from None
            log.debug("article_fallback", extra={"url": entry.link, "reason": str(exc)})
            return finish(self.matcher, base)
        except (JobTimedOut, WorkerCrashed) as exc:
            raise Unanalysed(entry.link, f"{entry.link}: {exc}", killed=True) from None
        except ExtractError as exc:
            log.debug("article_fallback", extra={"url": entry.link, "reason": str(exc)})
            return finish(self.matcher, base)
        if analysis.note:
            log.debug("article_fallback", extra={"url": entry.link, "reason": analysis.note})
        return analysis
