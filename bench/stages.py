"""CPU per pipeline stage, seen through the pipeline's observer hooks (no patching).

In the bot process, every asyncio task is driven one step at a time (a task
factory, asyncio's public API) and each step's thread CPU is charged to the stage
its task is in. A new task starts in its creator's stage; the hooks of
``bot/pipeline/observer.py`` move a task on to the next::

    poll task  on_poll_start: fetch feed, on_feed_fetched: parse (a 304: store),
               on_feed_parsed: store (new-item lookup, first sight, seen, schedule)
    item task  on_item_start: fetch page, on_page_fetched: extract (bot side),
               on_analysis: record match (subscribers, render, story, store)
    deliver    the bench's own delivery task, and the lanes it starts

A stage's time is its own: what another task does meanwhile is charged to that
task. Work outside every task (the loop itself, httpx's callbacks) and the
cycle's own bookkeeping stay unattributed. Matching done on the loop (an item
without a usable page) is reported by ``Analysis.cpu`` and moved to "match
(fallbacks)"; the worker processes report their steps the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Coroutine, Generator, Sequence
from dataclasses import asdict
from typing import Any

from benchlib import PATH_RE

from bot.analysis.page import Analysis, StageCPU
from bot.core.message import Alert
from bot.core.models import Article, Entry, FeedSource, FetchResult, ParsedFeed
from bot.pipeline.observer import Observer

FETCH_FEED, PARSE, STORE = "fetch feed", "parse", "store"
FETCH_PAGE, EXTRACT, FALLBACK = "fetch page", "extract (bot side)", "match (fallbacks)"
RECORD, DELIVER = "record match (subs, render, story, store)", "deliver"
STAGES = (FETCH_FEED, PARSE, STORE, FETCH_PAGE, EXTRACT, FALLBACK, RECORD, DELIVER)
WORKER_STAGES = tuple(asdict(StageCPU()))  # prefilter, extract, canonical, match, fingerprint


class _Steps:
    """Drives one task's coroutine, telling the clock when each step starts and ends."""

    __slots__ = ("clock", "coro", "stage")

    def __init__(self, coro: Coroutine[Any, Any, Any], clock: LoopClock, stage: str | None):
        self.coro, self.clock, self.stage = coro, clock, stage

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, clock = self.coro, self.clock
        send: Any = None
        throw: BaseException | None = None
        while True:
            clock.resume(self)
            try:
                yielded = coro.send(send) if throw is None else coro.throw(throw)
            except StopIteration as done:
                return done.value
            finally:
                clock.suspend()
            send, throw = None, None
            try:
                send = yield yielded
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation included: the coroutine handles it
                throw = exc


async def _stepped(steps: _Steps) -> Any:
    return await steps


class LoopClock:
    """Thread CPU of the loop's tasks, by the stage each task is in (ns)."""

    def __init__(self) -> None:
        self.ns: dict[str, int] = defaultdict(int)
        self._running: _Steps | None = None
        self._mark = 0

    def install(self) -> None:
        """Step every task created on the running loop from now on."""
        asyncio.get_running_loop().set_task_factory(self._task)

    def _task(self, loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task:
        stage = self._running.stage if self._running else None
        return asyncio.Task(_stepped(_Steps(coro, self, stage)), loop=loop, **kwargs)

    def resume(self, steps: _Steps) -> None:
        self._running, self._mark = steps, time.thread_time_ns()

    def suspend(self) -> None:
        self._charge()
        self._running = None

    def enter(self, stage: str) -> None:
        """The running task moves on to ``stage`` (called from the hooks)."""
        if self._running is not None:
            self._charge()
            self._running.stage = stage

    def move(self, ns: int, to: str) -> None:
        """Re-charge ``ns`` of the running task's current stage to ``to``."""
        if self._running is not None and self._running.stage is not None:
            self.ns[self._running.stage] -= ns
            self.ns[to] += ns

    def _charge(self) -> None:
        now = time.thread_time_ns()
        if self._running is not None and self._running.stage is not None:
            self.ns[self._running.stage] += now - self._mark
        self._mark = now


class StageObserver(Observer):
    """The hooks as stage changes of the ``LoopClock``, plus what the bench counts."""

    def __init__(self) -> None:
        self.clock = LoopClock()
        self.reset()

    def reset(self) -> None:
        """Start counting afresh (between the bench's phases)."""
        self.clock.ns.clear()
        self.pages = 0  # pages fetched
        self.jobs = 0  # items analysed in a worker
        self.skipped = 0  # of which the pre-filter ruled out
        self.worker_ns: dict[str, int] = defaultdict(int)
        self.enqueued: list[tuple[float, int, str | None]] = []  # (time, chat, article path)

    def deliver(self) -> None:
        """The calling task (and the lanes it starts) is delivery."""
        self.clock.enter(DELIVER)

    def on_poll_start(self, feed: FeedSource) -> None:
        self.clock.enter(FETCH_FEED)

    def on_feed_fetched(self, feed: FeedSource, result: FetchResult) -> None:
        self.clock.enter(STORE if result.not_modified else PARSE)

    def on_feed_parsed(self, feed: FeedSource, parsed: ParsedFeed) -> None:
        self.clock.enter(STORE)

    def on_item_start(self, feed: FeedSource, entry: Entry) -> None:
        self.clock.enter(FETCH_PAGE)

    def on_page_fetched(self, entry: Entry, page: FetchResult) -> None:
        self.pages += 1
        self.clock.enter(EXTRACT)

    def on_analysis(self, entry: Entry, analysis: Analysis) -> None:
        cpu = analysis.cpu
        if cpu.prefilter:  # a worker's: it always pre-filters the page first
            self.jobs += 1
            self.skipped += analysis.article.text_source == "skipped"
            for stage, ns in asdict(cpu).items():
                self.worker_ns[stage] += ns
        else:  # matched here, on the feed's own text
            self.clock.move(cpu.match, FALLBACK)
        self.clock.enter(RECORD)

    def on_recorded(self, entry: Entry, article: Article, alerts: Sequence[Alert]) -> None:
        found = PATH_RE.search(article.url or "") or PATH_RE.search(entry.link or "")
        now = time.time()
        for alert in alerts:
            self.enqueued.append((now, alert.chat_id, found.group(0) if found else None))

    def figures(self) -> dict[str, Any]:
        """What was counted so far, as plain data for the parent process."""
        return {
            "stages": dict(self.clock.ns),
            "pages": self.pages,
            "jobs": self.jobs,
            "skipped": self.skipped,
            "worker_ns": dict(self.worker_ns),
            "enqueued": list(self.enqueued),
        }
