"""The one adapter between PTB and newsbot's handlers.

Each ``Update`` becomes a frozen ``Command`` and an ``UpdateConversation``; a
handler answers through the conversation, which performs the PTB calls. Every
reply goes through ``split_html`` (a page edit through ``cut_html``), so no answer
is ever refused for its length. Only new messages run commands: an edited
message never runs one again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ChatAction, ChatMemberStatus, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.core.htmltext import cut_html, cut_text, split_html
from bot.core.message import BUTTON_TEXT_LIMIT, CALLBACK_ANSWER_LIMIT, Keyboard
from bot.telegram.conversation import Command, Handler
from bot.telegram.errors import newsbot_errors

Context = ContextTypes.DEFAULT_TYPE
log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
TYPING_EVERY = 4.0  # seconds; Telegram shows "typing…" for about five
NEW_MESSAGES = filters.UpdateType.MESSAGE  # not edited ones: an edit never re-runs a command
_PRESENT = (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def command_from(update: Update, context: Context) -> Command:
    """The one conversion from PTB's ``Update`` to newsbot's ``Command``."""
    chat = update.effective_chat
    user = update.effective_user
    query = update.callback_query
    message = update.message
    return Command(
        chat_id=chat.id if chat else 0,
        user_id=user.id if user else None,
        chat_type=chat.type if chat else "private",
        args=tuple(context.args or ()),
        data=(query.data or "") if query else None,
        language_code=user.language_code if user else None,
        text=(message.text or "") if message else "",
    )


def markup(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    """newsbot's buttons as PTB's inline keyboard (None for no buttons)."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    cut_text(b.text, BUTTON_TEXT_LIMIT), callback_data=b.data, url=b.url
                )
                for b in row
            ]
            for row in buttons
        ]
    )


class UpdateConversation:
    """The ``Conversation`` for one update, answering through PTB."""

    def __init__(self, update: Update, context: Context) -> None:
        self.update, self.context = update, context

    async def _send(self, chat_id: int, text: str, buttons: Keyboard) -> None:
        if not text.strip():  # Telegram refuses an empty message: a handler's bug, said loudly
            log.error("empty_reply", extra={"chat_id": chat_id})
            return
        parts = split_html(text)
        for n, part in enumerate(parts, 1):
            keyboard = markup(buttons) if n == len(parts) else None
            await self.context.bot.send_message(
                chat_id,
                part,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
                link_preview_options=NO_PREVIEW,
            )

    async def reply(self, text: str, buttons: Keyboard = ()) -> None:
        """Answer as HTML, split into as many messages as it needs; buttons on the last."""
        chat = self.update.effective_chat
        if chat is not None:
            with newsbot_errors():
                await self._send(chat.id, text, buttons)

    async def answer_callback(self, notice: str | None = None, *, alert: bool = False) -> None:
        """Acknowledge the button press (Telegram shows a spinner until then)."""
        query = self.update.callback_query
        if query is not None:
            text = cut_text(notice, CALLBACK_ANSWER_LIMIT) if notice else None
            with newsbot_errors():
                await query.answer(text, show_alert=alert)

    async def edit_buttons(self, buttons: Keyboard) -> None:
        """Redraw the buttons of the pressed message."""
        query = self.update.callback_query
        if query is not None:
            with newsbot_errors(), _unless_unchanged():
                await query.edit_message_reply_markup(markup(buttons))

    async def edit(self, text: str, buttons: Keyboard = ()) -> None:
        """Replace the pressed message with another page (cut to one message)."""
        query = self.update.callback_query
        if query is not None:
            with newsbot_errors(), _unless_unchanged():
                await query.edit_message_text(
                    cut_html(text),
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup(buttons),
                    link_preview_options=NO_PREVIEW,
                )

    async def tell_privately(self, text: str, buttons: Keyboard = ()) -> bool:
        """Send to the sender's private chat; False if they never started the bot."""
        user = self.update.effective_user
        if user is None:
            return False
        try:
            await self._send(user.id, text, buttons)
        except (Forbidden, BadRequest) as exc:
            log.info("private_answer_refused", extra={"user_id": user.id, "error": str(exc)})
            return False
        return True

    @contextlib.asynccontextmanager
    async def typing(self) -> AsyncIterator[None]:
        """Show "typing…" in the chat until the block ends."""
        chat = self.update.effective_chat
        if chat is None:
            yield
            return

        async def keep_typing() -> None:
            while True:
                try:
                    await self.context.bot.send_chat_action(chat.id, ChatAction.TYPING)
                except TelegramError as exc:  # a nicety: the answer still comes
                    log.info("typing_not_shown", extra={"chat_id": chat.id, "error": str(exc)})
                    return
                await asyncio.sleep(TYPING_EVERY)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def is_group_admin(self) -> bool:
        """Asks Telegram: the sender's status in this chat (a ``SendError`` if it cannot)."""
        chat, user = self.update.effective_chat, self.update.effective_user
        if chat is None or user is None:
            return False
        with newsbot_errors():
            member = await self.context.bot.get_chat_member(chat.id, user.id)
        return member.status in ("administrator", "creator")


@contextlib.contextmanager
def _unless_unchanged() -> Iterator[None]:
    """Pressing the page already shown edits nothing, which Telegram calls an error."""
    try:
        yield
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


def callback(fn: Handler) -> Callable[[Update, Context], Awaitable[None]]:
    """A PTB callback that runs the newsbot handler ``fn`` on the update."""

    async def run(update: Update, context: Context) -> None:
        await fn(command_from(update, context), UpdateConversation(update, context))

    return run


@dataclass(frozen=True)
class Routes:
    """Which newsbot handler answers what."""

    commands: Mapping[str, Handler]
    press: Handler  # every button press (their data is checked there)
    unknown: Handler  # a command no handler knows, in a private chat or addressed to the bot
    text: Handler  # plain text in a private chat
    joined: Handler  # the bot was added to a group or channel (or unblocked)
    left: Handler  # the bot was removed from a chat or blocked
    extra: Mapping[str, Handler] = field(default_factory=dict)  # hidden commands


def _addressed(update: Update, context: Context) -> bool:
    """A command in a private chat, or one naming this bot ("/x@this_bot") in a group."""
    chat, message = update.effective_chat, update.message
    if chat is None or message is None:
        return False
    if chat.type == "private":
        return True
    word = (message.text or "").split(maxsplit=1)[0] if message.text else ""
    target = word.partition("@")[2]
    return bool(target) and target.lower() == (context.bot.username or "").lower()


def _member_change(routes: Routes) -> Callable[[Update, Context], Awaitable[None]]:
    async def run(update: Update, context: Context) -> None:
        change = update.my_chat_member
        if change is None:
            return
        was = change.old_chat_member.status in _PRESENT
        now = change.new_chat_member.status in _PRESENT
        if now and not was:
            await callback(routes.joined)(update, context)
        elif was and not now:
            await callback(routes.left)(update, context)

    return run


def install(app: Application, routes: Routes) -> None:
    """Register the commands, button presses, fallbacks and membership changes."""
    for name, fn in {**routes.commands, **routes.extra}.items():
        app.add_handler(CommandHandler(name, callback(fn), filters=NEW_MESSAGES))
    app.add_handler(CallbackQueryHandler(callback(routes.press)))
    unknown = callback(routes.unknown)

    async def unknown_command(update: Update, context: Context) -> None:
        if _addressed(update, context):
            await unknown(update, context)

    app.add_handler(MessageHandler(NEW_MESSAGES & filters.COMMAND, unknown_command))
    app.add_handler(
        MessageHandler(
            NEW_MESSAGES & filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE,
            callback(routes.text),
        )
    )
    app.add_handler(ChatMemberHandler(_member_change(routes), ChatMemberHandler.MY_CHAT_MEMBER))
