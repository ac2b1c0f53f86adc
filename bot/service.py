"""Wiring: builds every stage from the settings and runs them, once or on a schedule.

``newsbot run`` is ``open() -> serve(stop) -> close()``; ``newsbot once`` is
``open() -> once() -> close()``; the tests drive the same methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram import BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from bot.admin import COMMANDS as ADMIN_COMMANDS
from bot.admin import AdminUI
from bot.chat import ChatUI, bot_commands
from bot.chat_prefs import COMMANDS as PREFS_COMMANDS
from bot.chat_prefs import PrefsUI
from bot.deliver import ConsoleSender, Deliverer, Sender, TelegramSender
from bot.digest import Digester
from bot.errors import ConfigError
from bot.extract import Extractor
from bot.feedlist import load_feeds
from bot.fetch import Fetcher
from bot.gates import install_gates
from bot.live_rules import LiveRules
from bot.pipeline import CycleReport, Pipeline
from bot.recorder import DryRunRecorder, Recorder
from bot.settings import TOKEN_ENV, Settings
from bot.store import Store

log = logging.getLogger(__name__)
TICK_MAX_SECONDS = 30.0  # how often due feeds are looked for, at most
SHUTDOWN_GRACE = 8.0  # seconds a running cycle gets to finish on stop


def build_application(settings: Settings) -> Application:
    """The PTB application, pointed at the configured Bot API server."""
    if not settings.token:
        raise ConfigError(f"environment variable {TOKEN_ENV} is not set")
    base = settings.telegram.base_url
    timeout = settings.telegram.poll_timeout_seconds + 15
    return (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(base)
        .base_file_url(base.removesuffix("/bot") + "/file/bot")
        .rate_limiter(AIORateLimiter(max_retries=0))
        .get_updates_read_timeout(timeout)
        .build()
    )


class Service:
    """Every stage, built once from the settings."""

    def __init__(self, settings: Settings, *, console: bool = False, dry_run: bool = False) -> None:
        self.settings, self.console, self.dry_run = settings, console, dry_run
        self.app: Application | None = None

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
        self.store = Store.open(s.db_url)
        self.store.feeds.sync(feeds.enabled())
        self.fetcher = Fetcher(s.fetch)
        self.extractor = Extractor(s.extract)
        recorder = DryRunRecorder(self.store) if self.dry_run else Recorder(self.store)
        self.pipeline = Pipeline(
            s,
            self.store,
            self.fetcher,
            self.extractor,
            self.rules,
            recorder,
            console=self.console,
            notify=self._tell_admins,
        )
        sender: Sender = ConsoleSender()
        if not self.console:
            self.app = build_application(s)
            self.ui = ChatUI(self.store, self.rules)
            self.ui.install(self.app)
            PrefsUI(self.ui).install(self.app)
            AdminUI(self.ui, s, self.fetcher).install(self.app)
            self.ui.menu += PREFS_COMMANDS
            install_gates(self.app, self.store, s.telegram)
            self.store.subs.sync_channels(s.telegram.channels)
            self.app.add_error_handler(_log_handler_error)
            await self.app.initialize()
            sender = TelegramSender(self.app.bot)
        self.deliverer = Deliverer(self.store, sender, s.alerts)
        self.digester = Digester(self.store, self._topic_names)

    async def close(self) -> None:
        """Release everything ``open`` acquired."""
        if self.app is not None:
            await self.app.shutdown()
        await self.fetcher.aclose()
        self.extractor.close()
        self.store.close()

    async def once(self, *, due_only: bool = False) -> CycleReport:
        """One cycle, then deliver what it queued (unless this is a dry run)."""
        report = await self.pipeline.run_cycle(due_only=due_only)
        if not self.dry_run:
            await self.deliverer.deliver_due()
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
        # Each feed has its own next-poll time; the cycle job only looks for due feeds.
        tick = min(self.settings.poll_interval_seconds, TICK_MAX_SECONDS)
        scheduler.add_job(self.once, kwargs={"due_only": True}, seconds=tick, id="cycle", **job)
        scheduler.add_job(
            self.deliverer.deliver_due,
            id="deliver",
            seconds=self.settings.alerts.deliver_interval_seconds,
            **job,
        )
        scheduler.add_job(
            self._digests, id="digest", seconds=self.settings.alerts.digest_check_seconds, **job
        )
        scheduler.start()
        chat = asyncio.create_task(self._start_chat()) if self.app is not None else None
        log.info(
            "service_started",
            extra={"feeds": len(self.store.feeds.active()), "console": self.console},
        )
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            await self._stop_chat(chat)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SHUTDOWN_GRACE):
                    await self.pipeline.idle()
            log.info("service_stopped")

    def _topic_names(self) -> dict[str, str]:
        return {t.id: t.name for t in self.rules.matcher.rules.topics}

    async def _digests(self) -> None:
        if self.digester.run_due():
            await self.deliverer.deliver_due()

    async def _start_chat(self) -> None:
        """Start answering Telegram; waits out an outage without holding up polling."""
        assert self.app is not None
        await self.app.updater.start_polling(
            timeout=self.settings.telegram.poll_timeout_seconds,
            allowed_updates=Update.ALL_TYPES,
            bootstrap_retries=-1,  # keep retrying deleteWebhook while the Bot API is down
        )
        await self.app.start()
        try:
            await self.app.bot.set_my_commands(bot_commands(self.ui.menu))
            admin_menu = bot_commands(self.ui.menu + ADMIN_COMMANDS)
            for admin in self.settings.telegram.admins:
                await self.app.bot.set_my_commands(admin_menu, scope=BotCommandScopeChat(admin))
        except TelegramError as exc:  # the menu is a nicety; commands work without it
            log.warning("commands_not_registered", extra={"error": str(exc)})

    async def _stop_chat(self, task: asyncio.Task | None) -> None:
        if task is None or self.app is None:
            return
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()

    def _rules_rejected(self, error: str) -> None:
        self._tell_admins(f"Rules edit refused; the previous rules stay in force.\n{error}")

    def _tell_admins(self, text: str) -> None:
        """Tell every admin something they must act on (best effort)."""
        if self.app is None:
            return
        text = text[:4000]
        for admin in self.settings.telegram.admins:
            asyncio.get_running_loop().create_task(self.app.bot.send_message(admin, text))


async def _log_handler_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("handler_failed", exc_info=context.error)
