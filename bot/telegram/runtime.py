"""The Telegram side of the service: long-polling updates and registering the menu.

It runs only on the leader (see bot.app.leader), and can start and stop as leadership
moves between replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.config.settings import Settings
from bot.core.htmltext import cut_text
from bot.core.message import COMMAND_DESCRIPTION_LIMIT
from bot.telegram.admin import COMMANDS as ADMIN_COMMANDS

log = logging.getLogger(__name__)


def bot_commands(menu: list[tuple[str, str]]) -> list[BotCommand]:
    """The menu Telegram shows, registered with setMyCommands at start-up."""
    return [BotCommand(name, cut_text(text, COMMAND_DESCRIPTION_LIMIT)) for name, text in menu]


class ChatRuntime:
    """Starts and stops answering Telegram."""

    def __init__(self, app: Application, settings: Settings, menu: list[tuple[str, str]]) -> None:
        self.app, self.settings, self.menu = app, settings, menu
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
        try:
            await self.app.bot.set_my_commands(bot_commands(self.menu))
            admin_menu = bot_commands(self.menu + ADMIN_COMMANDS)
            for admin in self.settings.telegram.admins:
                await self.app.bot.set_my_commands(admin_menu, scope=BotCommandScopeChat(admin))
        except TelegramError as exc:  # the menu is a nicety; commands work without it
            log.warning("commands_not_registered", extra={"error": str(exc)})

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
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        log.info("telegram_polling_stopped")
