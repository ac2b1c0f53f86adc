"""Telegram commands: thin async handlers over the subscription store.

Each ``Update`` is converted to a frozen ``Command`` at one adapter
(``command_from``); handlers never touch the ``Update`` beyond replying.
Wrong use is answered with ``Usage: …``.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.rules.live import LiveRules
from bot.rules.model import Topic
from bot.store import Store

COMMANDS = [
    ("start", "What this bot does, and topic buttons"),
    ("help", "All commands"),
    ("topics", "List topics and toggle them for this chat"),
    ("subscribe", "Subscribe to a topic: /subscribe <topic>"),
    ("unsubscribe", "Unsubscribe from a topic: /unsubscribe <topic>"),
    ("mysubs", "This chat's subscriptions"),
]


@dataclass(frozen=True, slots=True)
class Command:
    """What a handler needs from an update: who, where, and the arguments."""

    chat_id: int
    user_id: int | None
    chat_type: str
    args: tuple[str, ...]


def command_from(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Command:
    """The one adapter from PTB's ``Update`` to newsbot's ``Command``."""
    chat = update.effective_chat
    user = update.effective_user
    return Command(
        chat_id=chat.id if chat else 0,
        user_id=user.id if user else None,
        chat_type=chat.type if chat else "private",
        args=tuple(context.args or ()),
    )


GROUP_TYPES = ("group", "supergroup")


async def may_change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """In groups only the group's admins may change what the group receives."""
    cmd = command_from(update, context)
    if cmd.chat_type not in GROUP_TYPES:
        return True
    if cmd.user_id is not None:
        member = await context.bot.get_chat_member(cmd.chat_id, cmd.user_id)
        if member.status in ("administrator", "creator"):
            return True
    text = "Only this group's admins can change its subscriptions."
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, text)
    return False


class ChatUI:
    """Handlers bound to the store and the rules in force."""

    def __init__(self, store: Store, rules: LiveRules) -> None:
        self.store, self.rules = store, rules
        self.menu: list[tuple[str, str]] = list(COMMANDS)  # other handler sets extend it

    def topics(self) -> tuple[Topic, ...]:
        """The topics users can subscribe to."""
        return self.rules.matcher.rules.topics

    def find(self, name: str) -> Topic | None:
        """A topic by id or display name, case-insensitively."""
        key = name.strip().casefold()
        return next((t for t in self.topics() if key in (t.id.casefold(), t.name.casefold())), None)

    def keyboard(self, chat_id: int) -> InlineKeyboardMarkup:
        """One toggle button per topic, ticked when subscribed."""
        mine = set(self.store.subs.topics_of(chat_id))
        rows = [
            [
                InlineKeyboardButton(
                    f"{'✅' if t.id in mine else '➕'} {t.name}", callback_data=f"toggle:{t.id}"
                )
            ]
            for t in self.topics()
        ]
        return InlineKeyboardMarkup(rows)

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Welcome the chat and offer the topics as buttons."""
        cmd = command_from(update, context)
        text = (
            "<b>newsbot</b> watches news feeds and alerts this chat within minutes when an "
            "article matches a topic you follow, in any language.\n\n"
            "Tap a topic to follow it, or use /subscribe &lt;topic&gt;. /help lists all commands."
        )
        await reply(update, text, self.keyboard(cmd.chat_id))

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List the commands."""
        await reply(update, "\n".join(f"/{n} – {html.escape(t)}" for n, t in self.menu))

    async def list_topics(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Describe each topic, with toggle buttons."""
        cmd = command_from(update, context)
        lines = [
            f"<b>{html.escape(t.name)}</b> (<code>{t.id}</code>): {html.escape(t.description)}"
            for t in self.topics()
        ]
        await reply(update, "\n\n".join(lines)[:3800], self.keyboard(cmd.chat_id))

    async def subscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Subscribe this chat to a topic."""
        await self._change(update, context, "subscribe")

    async def unsubscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Unsubscribe this chat from a topic."""
        await self._change(update, context, "unsubscribe")

    async def _change(self, update: Update, context: ContextTypes.DEFAULT_TYPE, verb: str) -> None:
        cmd = command_from(update, context)
        if cmd.args and not await may_change(update, context):
            return
        ids = ", ".join(t.id for t in self.topics())
        if not cmd.args:
            await reply(update, f"Usage: /{verb} &lt;topic&gt;\nTopics: {ids}")
            return
        topic = self.find(" ".join(cmd.args))
        if topic is None:
            await reply(
                update,
                f"Unknown topic '{html.escape(' '.join(cmd.args))}'.\n"
                f"Usage: /{verb} &lt;topic&gt;\nTopics: {ids}",
            )
            return
        name = html.escape(topic.name)
        if verb == "subscribe":
            done = self.store.subs.subscribe(cmd.chat_id, topic.id)
            text = (
                f"Subscribed to <b>{name}</b>." if done else f"Already subscribed to <b>{name}</b>."
            )
        else:
            done = self.store.subs.unsubscribe(cmd.chat_id, topic.id)
            text = (
                f"Unsubscribed from <b>{name}</b>." if done else f"Not subscribed to <b>{name}</b>."
            )
        await reply(update, text)

    async def mysubs(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List this chat's subscriptions."""
        cmd = command_from(update, context)
        names = {t.id: t.name for t in self.topics()}
        mine = [html.escape(names.get(t, t)) for t in self.store.subs.topics_of(cmd.chat_id)]
        text = ("Subscribed to: " + ", ".join(mine)) if mine else "No subscriptions yet: /topics"
        await reply(update, text)

    async def toggle(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A topic button: flip the subscription and redraw the buttons."""
        query = update.callback_query
        cmd = command_from(update, context)
        topic = self.find((query.data or "").removeprefix("toggle:")) if query else None
        if query is None or topic is None:
            if query:
                await query.answer("That topic no longer exists.")
            return
        if not await may_change(update, context):
            return
        if not self.store.subs.unsubscribe(cmd.chat_id, topic.id):
            self.store.subs.subscribe(cmd.chat_id, topic.id)
        await query.answer()
        await query.edit_message_reply_markup(self.keyboard(cmd.chat_id))

    def install(self, app: Application) -> None:
        """Register every handler on ``app``."""
        handlers: dict[str, Callable[..., Awaitable[None]]] = {
            "start": self.start,
            "help": self.help,
            "topics": self.list_topics,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "mysubs": self.mysubs,
        }
        for name, fn in handlers.items():
            app.add_handler(CommandHandler(name, fn))
        app.add_handler(CallbackQueryHandler(self.toggle, pattern=r"^toggle:"))


def bot_commands(menu: list[tuple[str, str]]) -> list[BotCommand]:
    """The menu Telegram shows, registered with setMyCommands at start-up."""
    return [BotCommand(name, text[:256]) for name, text in menu]


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer in the chat the update came from, as HTML."""
    if update.effective_message:
        await update.effective_message.reply_text(
            text, parse_mode=ParseMode.HTML, reply_markup=markup
        )
