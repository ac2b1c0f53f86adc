"""The Telegram side of the service: long-polling updates and registering the menu.

It runs only on the leader (see bot.app.leader), and can start and stop as leadership
moves between replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from functools import partial

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.config.settings import Settings
from bot.core.htmltext import cut_text
from bot.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, texts
from bot.core.message import (
    COMMAND_DESCRIPTION_LIMIT,
    DESCRIPTION_LIMIT,
    SHORT_DESCRIPTION_LIMIT,
)

log = logging.getLogger(__name__)
DESCRIPTION = N_(
    "I watch news feeds and tell you within minutes when an article matches a topic you "
    "follow, in any language. Press Start to choose your topics."
)
SHORT_DESCRIPTION = N_("News alerts on the topics you follow, from many feeds and languages.")


def bot_commands(menu: list[tuple[str, str]], lang: str = DEFAULT_LANGUAGE) -> list[BotCommand]:
    """The menu Telegram shows, in ``lang``, registered with setMyCommands at start-up."""
    t = texts(lang)
    return [
        BotCommand(name, cut_text(t.plain(text), COMMAND_DESCRIPTION_LIMIT)) for name, text in menu
    ]


class ChatRuntime:
    """Starts and stops answering Telegram."""

    def __init__(
        self,
        app: Application,
        settings: Settings,
        menu: list[tuple[str, str]],
        admin_menu: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.app, self.settings, self.menu = app, settings, menu
        self.admin_menu = list(admin_menu)
        self.task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        """Started (or starting) and not stopped since."""
        return self.task is not None

    def start(self) -> None:
        """Begin polling in the background; an outage only delays it."""
        if self.task is None:
            self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        await self.app.updater.start_polling(
            timeout=self.settings.telegram.poll_timeout_seconds,
            allowed_updates=Update.ALL_TYPES,
            bootstrap_retries=-1,  # keep retrying deleteWebhook while the Bot API is down
        )
        await self.app.start()
        log.info("telegram_polling_started")
        await self._introduce()

    async def _introduce(self) -> None:
        """The command menu and the bot's description, in every language it speaks.

        The default (no ``language_code``) is English; Telegram shows each user the
        entry for their app's language when there is one. Each is a nicety: one that
        fails (an admin who never opened a chat with the bot) is logged and skipped.
        """
        bot = self.app.bot
        for lang in LANGUAGES:
            code = None if lang == DEFAULT_LANGUAGE else lang
            t = texts(lang)
            calls = [
                partial(bot.set_my_commands, bot_commands(self.menu, lang), language_code=code),
                partial(
                    bot.set_my_description,
                    cut_text(t.plain(DESCRIPTION), DESCRIPTION_LIMIT),
                    language_code=code,
                ),
                partial(
                    bot.set_my_short_description,
                    cut_text(t.plain(SHORT_DESCRIPTION), SHORT_DESCRIPTION_LIMIT),
                    language_code=code,
                ),
            ]
            admin_menu = bot_commands(self.menu + self.admin_menu, lang)
            calls += [
                partial(
                    bot.set_my_commands,
                    admin_menu,
                    scope=BotCommandScopeChat(a),
                    language_code=code,
                )
                for a in self.settings.telegram.admins
            ]
            for call in calls:
                try:
                    await call()
                except TelegramError as exc:
                    log.warning("profile_not_set", extra={"language": lang, "error": str(exc)})

    async def stop(self) -> None:
        """Stop polling (leadership lost, or shutdown)."""
        task, self.task = self.task, None
        if task is None:
            return
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.app.updater.running:
            try:
                await self.app.updater.stop()
            except TelegramError as exc:  # why polling ended (a revoked token): logged already
                log.warning("telegram_polling_had_failed", extra={"error": str(exc)})
        if self.app.running:
            await self.app.stop()
        log.info("telegram_polling_stopped")
