"""Sending alerts through the Bot API, with PTB's errors translated into newsbot's
(``bot.telegram.errors``)."""

from __future__ import annotations

import logging

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode

from bot.core.htmltext import cut_html, visible_length
from bot.core.message import MESSAGE_LIMIT, Keyboard
from bot.telegram.adapter import markup
from bot.telegram.errors import newsbot_errors, translate

__all__ = ["TelegramSender", "fitted", "newsbot_errors", "translate"]

log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


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

    async def send(self, chat_id: int, text: str, buttons: Keyboard = ()) -> int:
        """Send through the Bot API."""
        with newsbot_errors():
            message = await self.bot.send_message(
                chat_id,
                fitted(chat_id, text),
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=markup(buttons),
            )
        return message.message_id

    async def edit(self, chat_id: int, message_id: int, text: str, buttons: Keyboard = ()) -> None:
        """Edit in place (a story update: "also reported by …"), keeping its buttons."""
        with newsbot_errors():
            await self.bot.edit_message_text(
                fitted(chat_id, text),
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=markup(buttons),
            )
