"""The orchestrator: one feed's poll, fetch -> parse -> extract -> match -> outbox.

The stages of a poll meet here; bot/pipeline/scheduler.py decides when each feed
is polled (``newsbot run``: ``run_forever``; ``newsbot once``, the tests and the
benchmarks: ``run_cycle``, one pass through the same scheduler). Nothing is marked as seen
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
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta

from bot.analysis.feeds import parse_in_worker
from bot.analysis.page import Analysis, PageJob, RulesBlob, analyze, finish
from bot.analysis.pool import JobTimedOut, WorkerCrashed, WorkerPool
from bot.config.settings import Settings
from bot.core.clock import utcnow
from bot.core.errors import ExtractError, FeedError, FetchError
from bot.core.hosts import fair_pick
from bot.core.i18n import pick, warmed
from bot.core.language import guess_language
from bot.core.message import Alert
from bot.core.models import Article, Entry, FeedSource, TopicMatch
from bot.delivery.render import View, digest_line, render_alert
from bot.ingest.fetch import Fetcher
from bot.pipeline.observer import Observer
from bot.pipeline.outcomes import PollOutcomes
from bot.pipeline.phase import Phases
from bot.pipeline.recorder import Recorder
from bot.pipeline.report import CycleReport
from bot.pipeline.retries import RETRY, Retries, Unanalysed, transient
from bot.pipeline.schedule import Poll
from bot.pipeline.scheduler import FLUSH_SECONDS, MIN_WAIT_SECONDS, PollScheduler, Take
from bot.pipeline.stories import StoryGrouper
from bot.rules.live import LiveRules
from bot.store import Store
from bot.store.faults import refused_value, store_fault

log = logging.getLogger(__name__)
CONSOLE_CHAT = 0
RULES_SECONDS = 0.5  # run_forever looks for a rules edit (a stat) this often
HEARTBEAT_SECONDS = 15.0  # and writes the scheduler's heartbeat this often
REPORT_SECONDS = 30.0  # and logs what it did this often (when it polled at all)
# One item's outcome; a DEFERRED item is tried again on the feed's next poll, a
# SKIPPED one (refused by the store MAX_ATTEMPTS times) is recorded as seen only.
RECORDED, UNMATCHED, FAILED = "recorded", "unmatched", "failed"
DEFERRED, SKIPPED = "deferred", "skipped"
OK, NOT_MODIFIED = "ok", "not_modified"  # one poll's outcome (or FAILED)


class Pipeline:
    """Polls feeds: a pass at a time (``run_cycle``), or each on its own clock (``run_forever``)."""

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
        self.outcomes = PollOutcomes(settings, recorder, notify, Phases(store.feeds.active).of)
        self.retries = Retries(recorder)
        self.stories = StoryGrouper(store, recorder, settings.alerts.story_window_hours)
        self._cycle_done = asyncio.Condition()
        self.polls, self.poll_counts = 0, Counter[int]()
        self._polled = asyncio.Condition()
        self.scheduler = PollScheduler(settings.polling.pollers, self._poll_guarded)

    async def run_cycle(self, *, due_only: bool = False) -> CycleReport:
        """One pass: poll every enabled feed (or every due one) exactly once, then return.

        ``newsbot once``, the tests and the benchmarks; ``newsbot run`` uses ``run_forever``,
        the same scheduler without the end. A failing feed never stops the others.
        """
        async with self._lock:
            report = CycleReport()
            await self._refresh_rules()
            take = self._due_claimer(set()) if due_only else self._all()
            try:
                await self.scheduler.run(take, report)
            finally:
                self.recorder.flush()  # batched 304s, even from a cancelled pass
            self.recorder.cycle_done()
            self._log_polls(report)
        async with self._cycle_done:
            self.cycles += 1
            self._cycle_done.notify_all()
        return report

    async def run_forever(
        self, stop: asyncio.Event, on_report: Callable[[CycleReport], None] | None = None
    ) -> None:
        """Poll each feed when it falls due, until ``stop``.

        ``on_report``: handed each poll's counts as it ends; one ``polls_done`` line
        sums them up every ``REPORT_SECONDS``.
        """
        beat_at = rules_at = time.monotonic()
        report_at = beat_at - REPORT_SECONDS  # the first polls are logged at once
        window = CycleReport()  # what the next polls_done line sums up

        def each(report: CycleReport) -> None:
            if on_report is not None:
                on_report(report)
            window.feeds += report.feeds
            window.new_items += report.new_items
            window.alerts += report.alerts
            window.failed.update(report.failed)

        async def between(report: CycleReport, idle: bool) -> CycleReport:
            nonlocal report_at, beat_at, rules_at, window
            now = time.monotonic()
            # Give 304'd feeds back: batched while polls run, at once when none does
            # (at rest, waiting a second would cost a wake of its own per poll).
            self.recorder.flush(older_than=0.0 if idle else FLUSH_SECONDS)
            if now - rules_at >= RULES_SECONDS:
                rules_at = now
                await self._refresh_rules()
            if now - beat_at >= HEARTBEAT_SECONDS:
                beat_at = now
                self.recorder.cycle_done()
            if now - report_at >= REPORT_SECONDS and window.feeds:
                report_at = now
                self._log_polls(window)
                window = CycleReport()
            return report

        async with self._lock:
            await self._refresh_rules()
            self.recorder.cycle_done()  # the scheduler is up: the heartbeat starts
            try:
                await self.scheduler.run(
                    self._due_claimer(None),
                    CycleReport(),
                    forever=True,
                    next_due=self._seconds_to_next_due,
                    stop=stop,
                    between=between,
                    each=each,
                )
            finally:
                self.recorder.flush()

    def _seconds_to_next_due(self) -> float | None:
        try:
            due = self.store.feeds.next_due()
        except Exception:  # the store failing: look again soon (claims log it)
            return MIN_WAIT_SECONDS
        return None if due is None else (due - utcnow()).total_seconds()

    async def _refresh_rules(self) -> None:
        latest = await self.rules.refresh()  # read and compiled off the loop
        if latest is not self.matcher:  # a valid rules edit takes effect here
            self.matcher = latest
            self._rules = RulesBlob.of(self.matcher)

    @staticmethod
    def _log_polls(report: CycleReport) -> None:
        log.info(  # one INFO line per pass, or per REPORT_SECONDS of polling
            "polls_done",
            extra={
                "feeds": report.feeds,
                "failed": len(report.failed),
                "new_items": report.new_items,
                "alerts": report.alerts,
            },
        )

    def _due_claimer(self, polled: set[int] | None) -> Take:
        """Due feeds, leased to this replica, fair across hosts.

        ``polled``: a pass's record of what it polled, so it polls each feed once;
        None: ``run_forever``, where a feed falls due again after its interval.
        """
        replica, start = self.settings.replica, utcnow()
        per_host = self.settings.fetch.per_host_concurrency

        def claim(n: int, busy: Mapping[str, int]) -> tuple[list[FeedSource], int]:
            try:
                return claimed(n, busy)
            except Exception as exc:  # the store failing: nothing could be recorded anyway
                log.warning("claim_failed", extra={"error": str(exc)[:300]})
                return [], 0

        def claimed(n: int, busy: Mapping[str, int]) -> tuple[list[FeedSource], int]:
            if self.store.fault is not None and not self.store.writable():
                return [], 0  # nothing it found could be recorded; the heartbeat goes stale
            feeds, waiting = self.store.feeds.claim_fair(
                replica.id,
                replica.lease_seconds,
                n,
                busy=busy,
                per_host=per_host,
                since=start,
                exclude=polled or (),
            )
            if polled is not None:
                polled.update(f.id for f in feeds)
            return feeds, waiting

        return claim

    def _all(self) -> Take:
        """Every enabled feed (``once``), fair across hosts; no leases."""
        feeds = self.store.feeds.active()
        per_host = self.settings.fetch.per_host_concurrency

        def take(n: int, busy: Mapping[str, int]) -> tuple[list[FeedSource], int]:
            batch, waiting = fair_pick(feeds, n, lambda f: f.url, busy, per_host)
            chosen = {f.id for f in batch}
            feeds[:] = [f for f in feeds if f.id not in chosen]
            return batch, waiting

        return take

    async def wait_cycles(self, count: int) -> None:
        """Wait until ``count`` passes have completed in total (wrap in a timeout)."""
        async with self._cycle_done:
            await self._cycle_done.wait_for(lambda: self.cycles >= count)

    async def wait_polls(self, count: int, feed_id: int | None = None) -> None:
        """Wait until ``count`` polls (of ``feed_id``, or of any feed) have ended in total."""
        async with self._polled:
            await self._polled.wait_for(lambda: self.polls_of(feed_id) >= count)

    def polls_of(self, feed_id: int | None = None) -> int:
        """Polls ended so far, of one feed or of all."""
        return self.polls if feed_id is None else self.poll_counts[feed_id]

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
        async with self._polled:
            self.polls += 1
            self.poll_counts[feed.id] += 1
            self._polled.notify_all()

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
            feed.url,
            etag=feed.etag,
            last_modified=feed.last_modified,
            failing=feed.consecutive_failures > 0,
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
        await warmed()  # Babel, for the dates in the alert: loaded off the loop
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
