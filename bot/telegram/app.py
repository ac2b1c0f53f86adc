"""newsbot's Telegram front: the PTB application, its handlers, and the one object the
service talks to (``TelegramFront``), so that no PTB type reaches ``bot/app``."""

from __future__ import annotations

import asyncio
import html
import logging

from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from bot.config.settings import TOKEN_ENV, Settings
from bot.core.callbacks import Signer
from bot.core.errors import ConfigError
from bot.core.htmltext import split_html
from bot.core.message import GROUP_PER_MINUTE, OVERALL_PER_SECOND
from bot.delivery.buttons import AlertButtons
from bot.delivery.senders import Sender
from bot.rules.live import LiveRules
from bot.store import Store
from bot.telegram.adapter import Routes, install
from bot.telegram.admin import AdminUI, Explain, Probe
from bot.telegram.alertpress import AlertPresses
from bot.telegram.commands import ChatUI
from bot.telegram.connect import connect
from bot.telegram.fallbacks import Fallbacks
from bot.telegram.gates import install_gates
from bot.telegram.prefs import COMMANDS as PREFS_COMMANDS
from bot.telegram.prefs import PrefsUI
from bot.telegram.runtime import ChatRuntime
from bot.telegram.sender import TelegramSender

log = logging.getLogger(__name__)
# Telegram allows about 30 messages/s per bot and 20/min per group. PTB's
# AIORateLimiter is an aiolimiter leaky bucket whose capacity is its max_rate: at
# (30, 1 s) it lets 30 go at once and 30 more within the next second, which a
# server counting per rolling second refuses with 429 (the benchmark saw 67).
# A bucket of capacity 1 spaces messages evenly instead: 29/s. Groups get a
# rolling minute in the Deliverer (bursts of 20, never 21 in 60 s).
OVERALL_RATE = OVERALL_PER_SECOND - 1
CALLBACK_KEY = "callback_key"  # the Store.secret that signs button data


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


class TelegramFront:
    """Everything the service needs from Telegram, in plain methods.

    ``open`` connects; ``start_answering`` / ``stop_answering`` follow leadership
    (only the leader polls for updates); ``sender`` delivers alerts, with the
    buttons ``alert_buttons`` draws; ``tell_admins`` notifies the admins; ``close``
    disconnects.
    """

    def __init__(
        self, settings: Settings, store: Store, rules: LiveRules, probe: Probe, explain: Explain
    ) -> None:
        self.app = build_application(settings)
        signer = Signer(store.secret(CALLBACK_KEY))
        ui = ChatUI(store, rules, signer, settings.telegram.admins)
        prefs = PrefsUI(ui)
        admin = AdminUI(ui, settings, probe, explain)
        self.alert_buttons = AlertButtons(
            store, signer, ui.topic_names, settings.telegram.translate_url
        )
        for action, fn in AlertPresses(ui, self.alert_buttons).presses().items():
            ui.presses.add(action, fn)
        fallbacks = Fallbacks(ui)
        commands = {**ui.commands(), **prefs.commands(), **admin.commands()}
        install_gates(self.app, store, settings.telegram)
        install(
            self.app,
            Routes(
                commands=commands,
                press=ui.presses,
                unknown=fallbacks.unknown,
                text=fallbacks.text,
                joined=fallbacks.joined,
                left=fallbacks.left,
            ),
        )
        ui.menu = menu(ui.menu + PREFS_COMMANDS)
        self.app.add_error_handler(_log_handler_error)
        self.admins = settings.telegram.admins
        self.base_url = settings.telegram.base_url
        self.sender: Sender = TelegramSender(self.app.bot)
        self._runtime = ChatRuntime(self.app, settings, ui.menu, ui.admin_menu)
        self._notices: set[asyncio.Task] = set()

    async def open(self) -> None:
        """Connect to the Bot API (``getMe``); a refused token is a StartupError."""
        await connect(self.app, self.base_url)

    @property
    def answering(self) -> bool:
        """Polling for updates (or about to)."""
        return self._runtime.running

    def start_answering(self) -> None:
        """Begin answering commands in the background; an outage only delays it."""
        self._runtime.start()

    async def stop_answering(self) -> None:
        """Stop answering (leadership lost, or shutdown)."""
        await self._runtime.stop()

    def tell_admins(self, text: str) -> None:
        """Tell every admin something (plain text) they must act on; best effort, not awaited."""
        parts = split_html(html.escape(text, quote=False))
        for admin in self.admins:
            task = asyncio.get_running_loop().create_task(self._tell(admin, parts))
            self._notices.add(task)
            task.add_done_callback(self._notices.discard)

    async def _tell(self, chat_id: int, parts: list[str]) -> None:
        try:
            for part in parts:
                await self.app.bot.send_message(chat_id, part, parse_mode=ParseMode.HTML)
        except TelegramError as exc:
            log.warning("admin_notice_failed", extra={"chat_id": chat_id, "error": str(exc)})

    async def close(self) -> None:
        """Disconnect; a long-poll that did not stop in time is logged, not raised."""
        try:
            await self.app.shutdown()
        except RuntimeError as exc:  # the long-poll did not stop within the grace
            log.warning("telegram_not_shut_down", extra={"error": str(exc)})


MENU_ORDER = (
    "start",
    "help",
    "topics",
    "subscribe",
    "unsubscribe",
    "mysubs",
    "pause",
    "resume",
    "mode",
    "mute",
    "timezone",
    "quiet",
    "language",
)


def menu(entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The command menu in the order people need it (others after, as given)."""
    rank = {name: i for i, name in enumerate(MENU_ORDER)}
    return sorted(entries, key=lambda e: rank.get(e[0], len(rank)))


async def _log_handler_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("handler_failed", exc_info=context.error)
