"""Chat commands: thin async handlers over the subscription store.

Each handler takes a ``Command`` and a ``Conversation`` (``bot.telegram.conversation``);
the adapter builds both from the update. Wrong use is answered with ``Usage: …``.
"""

from __future__ import annotations

import html

from bot.core.message import Button, Keyboard
from bot.rules.live import LiveRules
from bot.rules.model import Topic
from bot.store import Store
from bot.telegram.conversation import Command, Conversation, Handler

COMMANDS = [
    ("start", "What this bot does, and topic buttons"),
    ("help", "All commands"),
    ("topics", "List topics and toggle them for this chat"),
    ("subscribe", "Subscribe to a topic: /subscribe <topic>"),
    ("unsubscribe", "Unsubscribe from a topic: /unsubscribe <topic>"),
    ("mysubs", "This chat's subscriptions"),
]
TOGGLE = "toggle:"  # a topic button's callback data: TOGGLE + the topic id


async def may_change(cmd: Command, conv: Conversation) -> bool:
    """In groups only the group's admins may change what the group receives."""
    if not cmd.in_group or (cmd.user_id is not None and await conv.is_group_admin()):
        return True
    text = "Only this group's admins can change its subscriptions."
    if cmd.is_press:
        await conv.answer_callback(text, alert=True)
    else:
        await conv.reply(text)
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

    def keyboard(self, chat_id: int) -> Keyboard:
        """One toggle button per topic, ticked when subscribed."""
        mine = set(self.store.subs.topics_of(chat_id))
        return tuple(
            (Button(f"{'✅' if t.id in mine else '➕'} {t.name}", data=TOGGLE + t.id),)
            for t in self.topics()
        )

    async def start(self, cmd: Command, conv: Conversation) -> None:
        """Welcome the chat and offer the topics as buttons."""
        text = (
            "<b>newsbot</b> watches news feeds and alerts this chat within minutes when an "
            "article matches a topic you follow, in any language.\n\n"
            "Tap a topic to follow it, or use /subscribe &lt;topic&gt;. /help lists all commands."
        )
        await conv.reply(text, self.keyboard(cmd.chat_id))

    async def help(self, cmd: Command, conv: Conversation) -> None:
        """List the commands."""
        await conv.reply("\n".join(f"/{n} – {html.escape(t)}" for n, t in self.menu))

    async def list_topics(self, cmd: Command, conv: Conversation) -> None:
        """Describe each topic, with toggle buttons."""
        lines = [
            f"<b>{html.escape(t.name)}</b> (<code>{t.id}</code>): {html.escape(t.description)}"
            for t in self.topics()
        ]
        await conv.reply("\n\n".join(lines), self.keyboard(cmd.chat_id))

    async def subscribe(self, cmd: Command, conv: Conversation) -> None:
        """Subscribe this chat to a topic."""
        await self._change(cmd, conv, "subscribe")

    async def unsubscribe(self, cmd: Command, conv: Conversation) -> None:
        """Unsubscribe this chat from a topic."""
        await self._change(cmd, conv, "unsubscribe")

    async def _change(self, cmd: Command, conv: Conversation, verb: str) -> None:
        if cmd.args and not await may_change(cmd, conv):
            return
        ids = ", ".join(t.id for t in self.topics())
        if not cmd.args:
            await conv.reply(f"Usage: /{verb} &lt;topic&gt;\nTopics: {ids}")
            return
        topic = self.find(" ".join(cmd.args))
        if topic is None:
            await conv.reply(
                f"Unknown topic '{html.escape(' '.join(cmd.args))}'.\n"
                f"Usage: /{verb} &lt;topic&gt;\nTopics: {ids}"
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
        await conv.reply(text)

    async def mysubs(self, cmd: Command, conv: Conversation) -> None:
        """List this chat's subscriptions."""
        names = {t.id: t.name for t in self.topics()}
        mine = [html.escape(names.get(t, t)) for t in self.store.subs.topics_of(cmd.chat_id)]
        text = ("Subscribed to: " + ", ".join(mine)) if mine else "No subscriptions yet: /topics"
        await conv.reply(text)

    async def toggle(self, cmd: Command, conv: Conversation) -> None:
        """A topic button: flip the subscription and redraw the buttons."""
        topic = self.find((cmd.data or "").removeprefix(TOGGLE))
        if topic is None:
            await conv.answer_callback("That topic no longer exists.")
            return
        if not await may_change(cmd, conv):
            return
        if not self.store.subs.unsubscribe(cmd.chat_id, topic.id):
            self.store.subs.subscribe(cmd.chat_id, topic.id)
        await conv.answer_callback()
        await conv.edit_buttons(self.keyboard(cmd.chat_id))

    def commands(self) -> dict[str, Handler]:
        """The ``/name`` commands this class answers."""
        return {
            "start": self.start,
            "help": self.help,
            "topics": self.list_topics,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "mysubs": self.mysubs,
        }

    def presses(self) -> dict[str, Handler]:
        """The buttons this class answers, by the prefix of their data."""
        return {TOGGLE: self.toggle}
