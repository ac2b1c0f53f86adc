"""The buttons under an alert, answered: mute its topic for a day, unsubscribe, not relevant.

A press names an outbox row and a topic's place in it (``bot.delivery.buttons``);
the row must still exist and belong to this chat, or the press gets "expired".
After each press the alert's buttons are redrawn to show the new state
("🔔 Unmute", "➕ Follow again", "✓ Reported"), so pressing again undoes it.
"""

from __future__ import annotations

import logging

from bot.core.clock import utcnow
from bot.core.i18n import Texts
from bot.core.localtime import zone
from bot.delivery.buttons import (
    FOLLOW,
    MUTE,
    MUTE_FOR,
    NOT_RELEVANT,
    UNMUTE,
    UNSUBSCRIBE,
    AlertButtons,
)
from bot.rules.model import Topic
from bot.store.outbox import PendingAlert
from bot.telegram.commands import ChatUI, may_change
from bot.telegram.conversation import Command, Conversation, Handler
from bot.telegram.presses import expired

log = logging.getLogger(__name__)


class AlertPresses:
    """Handlers for the alert buttons, by callback action."""

    def __init__(self, ui: ChatUI, buttons: AlertButtons) -> None:
        self.ui, self.buttons = ui, buttons
        self.subs = ui.store.subs

    def _row(self, cmd: Command) -> PendingAlert | None:
        if not cmd.args or not cmd.args[0].isdigit():
            return None
        row = self.ui.store.outbox.row(int(cmd.args[0]))
        if row is None or row.chat_id != cmd.chat_id or row.article_id is None:
            return None
        return row

    def _topic(self, row: PendingAlert, cmd: Command) -> Topic | None:
        index = cmd.args[1] if len(cmd.args) > 1 else ""
        if not index.isdigit() or int(index) >= len(row.topics):
            return None
        return self.ui.finder.by_id(row.topics[int(index)])

    async def _target(
        self, cmd: Command, conv: Conversation, t: Texts
    ) -> tuple[PendingAlert, Topic] | None:
        row = self._row(cmd)
        topic = self._topic(row, cmd) if row is not None else None
        if row is None:
            await conv.answer_callback(expired(t))
        elif topic is None:
            await conv.answer_callback(t.plain("That topic no longer exists."))
        elif await may_change(cmd, conv, t):
            return row, topic
        return None

    async def _done(self, conv: Conversation, row: PendingAlert, notice: str) -> None:
        await conv.answer_callback(notice)
        await conv.edit_buttons(self.buttons.keyboard(row))

    async def mute(self, cmd: Command, conv: Conversation) -> None:
        """🔕: mute the topic for a day."""
        t = self.ui.texts_for(cmd)
        found = await self._target(cmd, conv, t)
        if found is None:
            return
        row, topic = found
        until = utcnow() + MUTE_FOR
        self.subs.mute(cmd.chat_id, topic.id, until)
        when = t.when(until, zone(self.subs.settings_of(cmd.chat_id).timezone))
        await self._done(
            conv, row, t.plain("{topic} muted until {until}.", topic=topic.name, until=when)
        )

    async def unmute(self, cmd: Command, conv: Conversation) -> None:
        """🔔: lift the mute."""
        t = self.ui.texts_for(cmd)
        found = await self._target(cmd, conv, t)
        if found is not None:
            row, topic = found
            self.subs.mute(cmd.chat_id, topic.id, None)
            await self._done(conv, row, t.plain("{topic} unmuted.", topic=topic.name))

    async def unsubscribe(self, cmd: Command, conv: Conversation) -> None:
        """✖: stop following the topic."""
        t = self.ui.texts_for(cmd)
        found = await self._target(cmd, conv, t)
        if found is not None:
            row, topic = found
            self.subs.unsubscribe(cmd.chat_id, topic.id)
            await self._done(conv, row, t.plain("No longer following {topic}.", topic=topic.name))

    async def follow(self, cmd: Command, conv: Conversation) -> None:
        """➕: follow the topic again."""
        t = self.ui.texts_for(cmd)
        found = await self._target(cmd, conv, t)
        if found is not None:
            row, topic = found
            self.subs.subscribe(cmd.chat_id, topic.id, language=t.lang)
            await self._done(conv, row, t.plain("Following {topic} now.", topic=topic.name))

    async def not_relevant(self, cmd: Command, conv: Conversation) -> None:
        """👎: report the article, with the terms that fired, to the admins."""
        t = self.ui.texts_for(cmd)
        row = self._row(cmd)
        if row is None or row.article_id is None:
            await conv.answer_callback(expired(t))
            return
        done = self.ui.store.feedback.report(row.article_id, cmd.chat_id, cmd.user_id, row.topics)
        if done is None:
            await conv.answer_callback(expired(t))
            return
        log.info("alert_reported", extra={"chat_id": cmd.chat_id, "article_id": row.article_id})
        notice = (
            t.plain("Thank you: the admins will see that this was not relevant.")
            if done
            else t.plain("Already reported as not relevant.")
        )
        await self._done(conv, row, notice)

    def presses(self) -> dict[str, Handler]:
        """The alert buttons' callback actions and their handlers."""
        return {
            MUTE: self.mute,
            UNMUTE: self.unmute,
            UNSUBSCRIBE: self.unsubscribe,
            FOLLOW: self.follow,
            NOT_RELEVANT: self.not_relevant,
        }
