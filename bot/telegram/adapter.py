"""The one adapter between PTB and newsbot's handlers.

Each ``Update`` becomes a frozen ``Command`` and an ``UpdateConversation``; a
handler answers through the conversation, which performs the PTB calls. Every
reply goes through ``split_html``, so no answer is ever refused for its length.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.core.htmltext import cut_text, split_html
from bot.core.message import CALLBACK_ANSWER_LIMIT, Keyboard
from bot.telegram.conversation import Command, Handler

Context = ContextTypes.DEFAULT_TYPE


def command_from(update: Update, context: Context) -> Command:
    """The one conversion from PTB's ``Update`` to newsbot's ``Command``."""
    chat = update.effective_chat
    user = update.effective_user
    query = update.callback_query
    return Command(
        chat_id=chat.id if chat else 0,
        user_id=user.id if user else None,
        chat_type=chat.type if chat else "private",
        args=tuple(context.args or ()),
        data=(query.data or "") if query else None,
    )


def markup(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    """newsbot's buttons as PTB's inline keyboard (None for no buttons)."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.text, callback_data=b.data, url=b.url) for b in row]
            for row in buttons
        ]
    )


class UpdateConversation:
    """The ``Conversation`` for one update, answering through PTB."""

    def __init__(self, update: Update, context: Context) -> None:
        self.update, self.context = update, context

    async def reply(self, text: str, buttons: Keyboard = ()) -> None:
        """Answer as HTML, split into as many messages as it needs; buttons on the last."""
        message = self.update.effective_message
        if message is None:
            return
        parts = split_html(text)
        for n, part in enumerate(parts, 1):
            keyboard = markup(buttons) if n == len(parts) else None
            await message.reply_text(part, parse_mode=ParseMode.HTML, reply_markup=keyboard)

    async def answer_callback(self, notice: str | None = None, *, alert: bool = False) -> None:
        """Acknowledge the button press (Telegram shows a spinner until then)."""
        query = self.update.callback_query
        if query is not None:
            text = cut_text(notice, CALLBACK_ANSWER_LIMIT) if notice else None
            await query.answer(text, show_alert=alert)

    async def edit_buttons(self, buttons: Keyboard) -> None:
        """Redraw the buttons of the pressed message."""
        query = self.update.callback_query
        if query is not None:
            await query.edit_message_reply_markup(markup(buttons))

    async def is_group_admin(self) -> bool:
        """Asks Telegram: the sender's status in this chat."""
        chat, user = self.update.effective_chat, self.update.effective_user
        if chat is None or user is None:
            return False
        member = await self.context.bot.get_chat_member(chat.id, user.id)
        return member.status in ("administrator", "creator")


def callback(fn: Handler) -> Callable[[Update, Context], Awaitable[None]]:
    """A PTB callback that runs the newsbot handler ``fn`` on the update."""

    async def run(update: Update, context: Context) -> None:
        await fn(command_from(update, context), UpdateConversation(update, context))

    return run


def install(
    app: Application, commands: Mapping[str, Handler], presses: Mapping[str, Handler]
) -> None:
    """Register ``/name`` commands, and button presses by their data's prefix."""
    for name, fn in commands.items():
        app.add_handler(CommandHandler(name, callback(fn)))
    for prefix, fn in presses.items():
        app.add_handler(CallbackQueryHandler(callback(fn), pattern=f"^{re.escape(prefix)}"))
