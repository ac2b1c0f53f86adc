"""What nothing else answers: unknown commands, plain text, and the bot joining or leaving.

No one talks to the bot and gets silence: an unknown command gets a pointer to
/help, plain text in a private chat a hint (or, when it names a topic, a button
to follow it), and a group the bot is added to a greeting with the topics.
"""

from __future__ import annotations

import logging

from bot.core.i18n import Html, esc
from bot.core.message import Button
from bot.delivery.render import clip
from bot.telegram.commands import TOGGLE, ChatUI
from bot.telegram.conversation import Command, Conversation

log = logging.getLogger(__name__)
TOPIC_GUESS_CHARS = 60  # plain text longer than this is not read as a topic's name


class Fallbacks:
    """Handlers for updates that are not a known command."""

    def __init__(self, ui: ChatUI) -> None:
        self.ui = ui

    async def unknown(self, cmd: Command, conv: Conversation) -> None:
        """An unknown command: a one-line pointer to /help."""
        t = self.ui.texts_for(cmd)
        word = clip((cmd.text.split() or ["/"])[0].partition("@")[0], 40)
        await conv.reply(t._("I don't know {command}. /help lists what I can do.", command=word))

    async def text(self, cmd: Command, conv: Conversation) -> None:
        """Plain text in a private chat: a hint, or the topic it names with a button."""
        t = self.ui.texts_for(cmd)
        said = cmd.text.strip()
        topic = self.ui.find(said) if 0 < len(said) <= TOPIC_GUESS_CHARS else None
        if topic is None:
            await conv.reply(
                t._(
                    "I answer commands only. Send /topics to choose what to follow, "
                    "or /help for every command."
                )
            )
            return
        button = Button(
            t.plain("➕ Follow {topic}", topic=topic.name),
            data=self.ui.signer.sign(cmd.chat_id, TOGGLE, topic.id, 1),
        )
        name = Html(f"<b>{esc(topic.name)}</b>")
        await conv.reply(t._("Do you mean the topic {topic}?", topic=name), ((button,),))

    async def joined(self, cmd: Command, conv: Conversation) -> None:
        """Added to a group: greet it with the topic buttons (a channel gets no greeting)."""
        t = self.ui.texts_for(cmd)
        self.ui.store.subs.welcome(cmd.chat_id, t.lang)
        log.info("chat_joined", extra={"chat_id": cmd.chat_id, "chat_type": cmd.chat_type})
        if not cmd.in_group:
            return
        text = "\n\n".join(
            [
                t._(
                    "Hello! I am <b>newsbot</b>: I post an alert here when a news article "
                    "matches a topic this group follows."
                ),
                t._("Group admins: tap a topic to follow it. /help lists every command."),
            ]
        )
        await conv.reply(text, self.ui.keyboard(cmd.chat_id, 1, t))

    async def left(self, cmd: Command, conv: Conversation) -> None:
        """Removed from a chat, or blocked: stop alerting it until it comes back."""
        self.ui.store.subs.deactivate(cmd.chat_id, "the bot was removed or blocked")
        log.info("chat_left", extra={"chat_id": cmd.chat_id})
