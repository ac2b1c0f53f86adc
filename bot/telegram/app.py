"""The python-telegram-bot application: pointed at the configured Bot API, with every handler."""

from __future__ import annotations

import logging

from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from bot.analysis.pool import WorkerPool
from bot.config.settings import TOKEN_ENV, Settings
from bot.core.errors import ConfigError
from bot.core.message import GROUP_PER_MINUTE
from bot.ingest.fetch import Fetcher
from bot.rules.live import LiveRules
from bot.store import Store
from bot.telegram.adapter import install
from bot.telegram.admin import AdminUI
from bot.telegram.commands import ChatUI
from bot.telegram.gates import install_gates
from bot.telegram.prefs import COMMANDS as PREFS_COMMANDS
from bot.telegram.prefs import PrefsUI

log = logging.getLogger(__name__)
# Telegram allows about 30 messages/s per bot and 20/min per group. PTB's
# AIORateLimiter is an aiolimiter leaky bucket whose capacity is its max_rate: at
# (30, 1 s) it lets 30 go at once and 30 more within the next second, which a
# server counting per rolling second refuses with 429 (the benchmark saw 67).
# A bucket of capacity 1 spaces messages evenly instead: 29/s. Groups get a
# rolling minute in the Deliverer (bursts of 20, never 21 in 60 s).
OVERALL_RATE = 29


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
        .rate_limiter(
            AIORateLimiter(
                overall_max_rate=1,
                overall_time_period=1 / OVERALL_RATE,
                group_max_rate=GROUP_PER_MINUTE,  # the Deliverer paces groups more strictly
                group_time_period=60,
                max_retries=0,
            )
        )
        .get_updates_read_timeout(timeout)
        .build()
    )


def build_telegram(
    settings: Settings, store: Store, rules: LiveRules, fetcher: Fetcher, workers: WorkerPool
) -> tuple[Application, ChatUI]:
    """The application with the user, preference and admin commands and the gates."""
    app = build_application(settings)
    ui = ChatUI(store, rules)
    admin = AdminUI(ui, settings, fetcher, workers)
    install(app, {**ui.commands(), **PrefsUI(ui).commands()}, ui.presses())
    install(app, admin.commands(), {})
    ui.menu += PREFS_COMMANDS
    install_gates(app, store, settings.telegram)
    app.add_error_handler(_log_handler_error)
    return app, ui


async def _log_handler_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("handler_failed", exc_info=context.error)
