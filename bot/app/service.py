"""Wiring: builds every stage from the settings and runs them, once or on a schedule.

``newsbot run`` is ``open() -> serve(stop) -> close()``; ``newsbot once`` is
``open() -> once() -> close()``; the tests drive the same methods.

``run`` polls each feed on its own clock (``Pipeline.run_forever``, bot/pipeline/
scheduler.py); ``once`` is one pass through the same scheduler.

Stopping (SIGTERM/SIGINT set ``stop``): no new poll, delivery round or digest
starts; a delivery round stops before its next send (unsent alerts stay queued);
the Telegram long-poll stops; the polls in flight get up to ``SHUTDOWN_GRACE``
seconds to finish, then are cancelled, which is safe: an item is recorded as seen
only together with its alerts, so an abandoned item is redone on the next start.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.analysis.feeds import probe_feed
from bot.analysis.pool import WorkerPool
from bot.app.announce import Announcing
from bot.app.health import check as check_health
from bot.app.leader import Leadership
from bot.app.metrics import Metrics, MetricsServer
from bot.app.storewatch import CHECK_SECONDS, StoreWatch
from bot.config.feeds import load_feeds
from bot.config.settings import Settings
from bot.core.errors import StartupError
from bot.core.models import Article
from bot.delivery.digest import Digester
from bot.delivery.drain import Deliverer
from bot.delivery.senders import ConsoleSender, GatedSender, Sender, ShuttingDown
from bot.delivery.wakeup import IDLE_SECONDS, DeliveryWake
from bot.ingest.fetch import Fetcher
from bot.pipeline.explain import explain_article
from bot.pipeline.observer import Observer, Observers, StageMeter
from bot.pipeline.orchestrator import Pipeline
from bot.pipeline.recorder import DryRunRecorder, StoreRecorder
from bot.pipeline.report import CycleReport
from bot.pipeline.scheduler import SchedulerHooks
from bot.rules.live import LiveRules
from bot.rules.matcher import Verdict
from bot.store import Store
from bot.store.scratch import scratch_copy
from bot.telegram.app import TelegramFront

if TYPE_CHECKING:
    from bot.web.server import ConsoleServer

log = logging.getLogger(__name__)
# Seconds in-flight work gets to finish on stop; with the clean-up after it, ``newsbot
# run`` exits within 10 s of SIGTERM (compose waits 15 s before it sends SIGKILL).
SHUTDOWN_GRACE = 7.0
ABANDON_WAIT = 1.0  # seconds cancelled work gets to unwind


class Service:
    """Every stage, built once from the settings."""

    def __init__(
        self,
        settings: Settings,
        *,
        console: bool = False,
        dry_run: bool = False,
        observer: Observer | None = None,
    ) -> None:
        self.settings, self.console, self.dry_run = settings, console, dry_run
        self.observer = observer  # the pipeline's hooks (benchmarks); None: no-op
        self.telegram: TelegramFront | None = None
        self.metrics_server: MetricsServer | None = None
        self.web: ConsoleServer | None = None  # the web console, while it listens
        self._jobs: set[asyncio.Task] = set()
        self._stopping = False
        self.delivery: DeliveryWake | None = None  # while serving

    async def __aenter__(self) -> Service:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Validate the config files, open the store, connect to Telegram."""
        s = self.settings
        feeds = load_feeds(s.feeds_path)
        self.rules = LiveRules(s.rules_path, on_rejected=self._rules_rejected)
        # A dry run works on an in-memory copy: nothing on disk changes.
        self.store = scratch_copy(s.db_url, s.sqlite_file) if self.dry_run else Store.open(s.db_url)
        self.store.feeds.sync(feeds.enabled())
        self.fetcher = Fetcher(s.fetch)
        self.workers = WorkerPool(s.extract)
        recorder = DryRunRecorder() if self.dry_run else StoreRecorder(self.store, s.replica.id)
        self.pipeline = Pipeline(
            s,
            self.store,
            self.fetcher,
            self.workers,
            self.rules,
            recorder,
            console=self.console,
            notify=self._tell_admins,
            observer=Announcing(self.observer, self._alerts_queued),
        )
        sender: Sender = ConsoleSender()
        if not self.console:
            self.telegram = TelegramFront(s, self.store, self.rules, self._probe, self._explain)
            self.store.subs.sync_channels(s.telegram.channels)
            await self.telegram.open()  # getMe: a refused token is a StartupError
            sender = self.telegram.sender
        self.watch = StoreWatch(self.store, self._tell_admins)
        self.metrics = Metrics(
            outbox_depth=lambda: self._outbox("pending", "held"),
            alerts_queued=lambda: self._outbox("pending"),
            store_writable=lambda: float(self.watch.fault is None),
            overdue=self._overdue,
        )
        # Each analysis's step CPU goes to newsbot_stage_cpu_seconds_total as well, and
        # each recorded alert still wakes delivery (Announcing wraps them all).
        metered = Observers(self.observer, StageMeter(self.metrics.stage_cpu_spent))
        self.pipeline.observer = Announcing(metered, self._alerts_queued)
        self.pipeline.scheduler.hooks = SchedulerHooks(
            started=lambda feed, late: self.metrics.poll_started(late),
            saturated=lambda waiting: self.metrics.pollers_exhausted.inc(),
            busy=self.metrics.pollers_busy.set,
        )
        self.gate = GatedSender(sender)
        self.deliverer = Deliverer(
            self.store,
            self.gate,
            s.alerts,
            on_result=self.metrics.alert_result,
            buttons=self.telegram.alert_buttons.keyboard if self.telegram else None,
        )
        self.digester = Digester(self.store, self._topic_names)
        self.leadership = Leadership(self.store.engine)
        if not self.leadership.shared:  # one process per SQLite file: no lease is live
            self.store.feeds.release_leases()
        _freeze_heap()

    async def close(self) -> None:
        """Release everything ``open`` acquired (recording sends kept unrecorded, if it can)."""
        if self.deliverer.unrecorded:
            self.deliverer.catch_up()
        if self.telegram is not None:
            await self.telegram.close()
        await self.fetcher.aclose()
        self.workers.close()
        self.store.close()

    async def once(self, *, due_only: bool = False) -> CycleReport:
        """One pass (every feed, or every due one, polled once), then deliver what it queued."""
        start = time.monotonic()
        report = await self.pipeline.run_cycle(due_only=due_only)
        if not self.dry_run:
            self.metrics.record_cycle(report, time.monotonic() - start)
            if self.leadership.held or self.leadership.check():
                await self.deliverer.deliver_due()  # only the leader sends
        return report

    async def serve(self, stop: asyncio.Event) -> None:
        """Poll on schedule, drain the outbox, answer Telegram, until ``stop`` is set."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        job = {
            "trigger": "interval",
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": None,
            "next_run_time": datetime.now(UTC),
        }
        alerts = self.settings.alerts
        # Feeds are polled each on its own clock (bot/pipeline/scheduler.py), not by a job.
        self._polls_stop = asyncio.Event()
        polling = asyncio.create_task(self._job(self._poll_forever))
        scheduler.add_job(
            self._lead,
            "interval",
            # SQLite: one process, always the leader; the check only re-asserts it.
            seconds=self.settings.replica.leader_check_seconds if self.leadership.shared else 60,
            id="leader",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
        )
        # Delivery runs when alerts are queued or a retry falls due (bot/delivery/wakeup.py).
        # A shared database keeps the 1 s check: another replica may have queued them.
        idle = alerts.deliver_interval_seconds if self.leadership.shared else IDLE_SECONDS
        self.delivery = DeliveryWake(self.store.outbox, alerts.deliver_interval_seconds, idle)
        delivering = asyncio.create_task(
            self.delivery.run(lambda: self._job(self._deliver), self._polls_stop)
        )
        scheduler.add_job(
            self._job,
            args=(self._digests,),
            id="digest",
            seconds=alerts.digest_check_seconds,
            **job,
        )
        # A plain loop, not an APScheduler job: 3,600 runs an hour cost that much more.
        watching = asyncio.create_task(_every(CHECK_SECONDS, self.watch.check, self._polls_stop))
        self._start_metrics()
        await self._start_web()
        scheduler.add_job(
            self._prune,
            "interval",
            hours=24,
            id="prune",
            next_run_time=datetime.now(UTC) + timedelta(minutes=5),
            max_instances=1,
            coalesce=True,
        )
        scheduler.start()
        log.debug(  # the start line is newsbot_started (bot.app.startup)
            "service_started",
            extra={"feeds": len(self.store.feeds.active()), "console": self.console},
        )
        try:
            await stop.wait()
        finally:
            await self._shutdown(scheduler)
            for task in (polling, delivering, watching):
                if not task.done():
                    task.cancel()

    async def _job(self, fn: Callable[[], Awaitable[object]]) -> None:
        """Run one scheduled job, tracked so that shutdown can wait for it."""
        task = asyncio.current_task()
        assert task is not None
        self._jobs.add(task)
        name = getattr(fn, "__name__", "job").lstrip("_")
        try:
            await fn()
        except ShuttingDown:
            log.info("delivery_stopped_for_shutdown", extra={"job": name})
        except Exception:
            if self.store.fault is None:
                raise
            # The store stopped taking writes mid-job: the watch reports it, once.
            log.warning("job_stopped", extra={"job": name, "reason": self.store.fault.describe()})
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Cancelled by _shutdown after the grace: an expected end, not a job error.
            log.info("job_abandoned", extra={"job": name})
        finally:
            self._jobs.discard(task)

    async def _wait_jobs(self) -> None:
        while self._jobs:
            await asyncio.wait(set(self._jobs))

    async def _shutdown(self, scheduler: AsyncIOScheduler) -> None:
        """Stop taking work; let in-flight work finish within the grace; abandon the rest."""
        self._stopping = True
        log.info("service_stopping", extra={"running_jobs": len(self._jobs)})
        scheduler.pause()  # no new delivery round or digest starts
        self._polls_stop.set()  # no new poll starts; those in flight get the grace
        if self.delivery is not None:
            self.delivery.queued()  # its loop sees the stop and starts no round
        self.gate.close()  # a running delivery round stops before its next send
        try:
            async with asyncio.timeout(SHUTDOWN_GRACE):
                await asyncio.gather(self._stop_chat(), self._wait_jobs())
        except TimeoutError:
            # Safe to abandon: nothing half-done is ever recorded (bot/pipeline/orchestrator.py).
            log.warning("shutdown_grace_exceeded", extra={"abandoned_jobs": len(self._jobs)})
            for task in self._jobs:
                task.cancel()
            if self._jobs:
                await asyncio.wait(set(self._jobs), timeout=ABANDON_WAIT)
        scheduler.shutdown(wait=False)
        self.leadership.release()  # another replica can lead at once
        try:
            self.store.feeds.release_leases(self.settings.replica.id)  # abandoned feeds too
        except Exception as exc:  # the store failing: the leases simply run out
            log.warning("leases_not_released", extra={"error": str(exc)})
        self._stop_metrics()
        if self.web is not None:
            await self.web.stop()
            self.web = None
        log.info("service_stopped")

    def _outbox(self, *statuses: str) -> float:
        try:
            counts = self.store.outbox.counts()
        except Exception:  # a scrape during a database outage: unknown, not a failed scrape
            return float("nan")
        return float(sum(counts.get(s, 0) for s in statuses))

    def _overdue(self) -> float:
        try:
            return self.store.feeds.lateness()[0]
        except Exception:  # a scrape during a database outage: unknown
            return float("nan")

    def _start_metrics(self) -> None:
        s = self.settings
        if s.metrics_port is None:
            return
        server = MetricsServer(
            self.metrics,
            lambda: check_health(self.store, s.poll_interval_seconds, self.watch.problem()),
            host=s.metrics_host,
            port=s.metrics_port,
        )
        try:
            self.metrics_server = server.start()
        except OSError as exc:
            raise StartupError(
                f"metrics server cannot listen on {s.metrics_host}:{s.metrics_port}: {exc} "
                "(set metrics_port / NEWSBOT_METRICS_PORT to a free port, or unset it)"
            ) from exc

    async def _start_web(self) -> None:
        """The web console, unless ``web.port`` is 0 (or this is a console/dry run)."""
        web = self.settings.web
        if not web.port or self.console or self.dry_run:
            return
        # Imported only when on: Starlette, uvicorn and Jinja2 cost memory a bot without
        # its console need not carry.
        from bot.web.app import build_app
        from bot.web.server import ConsoleServer

        app = build_app(self.store, self.settings, self.rules, self._probe)
        server = ConsoleServer(app, web.host, web.port)
        await server.start()
        self.web = server

    def _stop_metrics(self) -> None:
        if self.metrics_server is not None:
            self.metrics_server.stop()
            self.metrics_server = None

    async def _lead(self) -> None:
        """Take or keep leadership; only the leader answers Telegram and sends."""
        leading = self.leadership.check()
        front = self.telegram
        if front is not None and leading != front.answering and not self._stopping:
            if leading:
                front.start_answering()
            else:
                await front.stop_answering()

    async def _stop_chat(self) -> None:
        if self.telegram is not None:
            await self.telegram.stop_answering()

    async def _deliver(self) -> None:
        # Re-checked before every round: a leader whose session was lost stops sending
        # at once instead of at its next leadership check.
        if self.leadership.held and self.leadership.check():
            await self.deliverer.deliver_due()

    async def _poll_forever(self) -> None:
        """Poll each feed when it falls due, until stopping; count polls as they go."""
        record = None if self.dry_run else self.metrics.record_polls
        await self.pipeline.run_forever(self._polls_stop, on_report=record)

    def _alerts_queued(self) -> None:
        if self.delivery is not None:  # None: not serving (``once`` drains at its end)
            self.delivery.queued()

    def _prune(self) -> None:
        if not self.leadership.held:
            return
        counts = self.store.prune(self.settings.retention_days)
        counts["archive"] = self.store.archive.prune(self.settings.web.archive_days)
        log.info("store_pruned", extra=counts)

    def _topic_names(self) -> dict[str, str]:
        return {t.id: t.name for t in self.rules.matcher.rules.topics}

    async def _digests(self) -> None:
        if self.leadership.held and self.digester.run_due():
            await self.deliverer.deliver_due()

    def _rules_rejected(self, error: str) -> None:
        self._tell_admins(f"Rules edit refused; the previous rules stay in force.\n{error}")

    def _tell_admins(self, text: str) -> None:
        """Tell every admin something they must act on (best effort)."""
        if self.telegram is not None:
            self.telegram.tell_admins(text)

    async def _probe(self, url: str) -> tuple[str, str, bool]:
        """Admin ``/addfeed``: this service's fetcher fetches the feed, its workers parse it."""
        return await probe_feed(url, self.fetcher, self.workers)

    async def _explain(self, url: str) -> tuple[Article, list[Verdict]]:
        """Admin ``/test``: this service's fetcher, workers and rules in force read one URL."""
        return await explain_article(url, self.fetcher, self.workers, self.rules.matcher)


def _freeze_heap() -> None:
    """Keep what start-up built out of every later garbage collection, once per process.

    The imports, settings and clients are some 150,000 objects that live as long as
    the process; a full collection walks them all, 70-90 ms on the event loop (the
    loop-lag probe of tests/pipeline/test_hostile_feeds.py caught it) and CPU at rest
    for nothing. What is created later is collected as usual.
    """
    if not gc.get_freeze_count():
        gc.freeze()


async def _every(seconds: float, fn: Callable[[], Awaitable[object]], stop: asyncio.Event) -> None:
    """``fn()`` every ``seconds`` until ``stop`` is set; its errors are logged, not fatal."""
    while not stop.is_set():
        try:
            await fn()
        except Exception:
            log.exception("periodic_check_failed", extra={"check": fn.__name__})
        await asyncio.sleep(seconds)
