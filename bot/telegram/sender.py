"""Sending alerts through the Bot API, with PTB's errors translated into newsbot's.

PTB's classes are caught most specific first: ``BadRequest`` and ``TimedOut``
subclass ``NetworkError``, so they must come before it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.core.errors import (
    ChatGone,
    ChatMoved,
    MessageRefused,
    RetryLater,
    SendError,
    SendUnavailable,
)
from bot.core.htmltext import cut_html, visible_length
from bot.core.message import MESSAGE_LIMIT

log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def translate(exc: TelegramError) -> SendError:
    """The newsbot error kind for one of PTB's errors."""
    reason = str(exc)
    if isinstance(exc, RetryAfter):
        wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return RetryLater(reason, seconds=seconds)
    if isinstance(exc, ChatMigrated):
        return ChatMoved(reason, new_chat_id=exc.new_chat_id)
    if isinstance(exc, Forbidden):
        return ChatGone(reason)
    if isinstance(exc, BadRequest):
        return ChatGone(reason) if "chat not found" in reason.lower() else MessageRefused(reason)
    if isinstance(exc, TimedOut):
        return SendUnavailable(reason, timed_out=True)
    if isinstance(exc, NetworkError):  # connection failures and 5xx answers
        return SendUnavailable(reason)
    return SendError(reason)  # e.g. an invalid token: nothing to retry here


@contextlib.contextmanager
def newsbot_errors() -> Iterator[None]:
    """Inside, a PTB error comes out as newsbot's ``SendError`` kind."""
    try:
        yield
    except TelegramError as exc:
        raise translate(exc) from exc


def fitted(chat_id: int, text: str) -> str:
    """``text`` cut to one message; the renderers' budgets should make this a no-op."""
    if visible_length(text) <= MESSAGE_LIMIT:
        return text
    log.warning("message_cut", extra={"chat_id": chat_id, "length": visible_length(text)})
    return cut_html(text)


class TelegramSender:
    """Sends alerts as HTML with link previews off."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, text: str) -> int:
        """Send through the Bot API."""
        with newsbot_errors():
            message = await self.bot.send_message(
                chat_id,
                fitted(chat_id, text),
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
            )
        return message.message_id

    async def edit(self, chat_id: int, message_id: int, text: str) -> None:
        """Edit in place (a story update: "also reported by …")."""
        with newsbot_errors():
            await self.bot.edit_message_text(
                fitted(chat_id, text),
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
            )
