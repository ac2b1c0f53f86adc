"""Answering an admin's command from a group in the admin's private chat instead."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bot.core.message import Keyboard
from bot.telegram.conversation import Conversation


class PrivateAnswer:
    """A Conversation that answers in the sender's private chat instead of the group."""

    def __init__(self, conv: Conversation) -> None:
        self.conv, self.delivered, self.refused = conv, False, False

    async def reply(self, text: str, buttons: Keyboard = ()) -> None:
        """Send privately."""
        if await self.conv.tell_privately(text, buttons):
            self.delivered = True
        else:
            self.refused = True

    async def answer_callback(self, notice: str | None = None, *, alert: bool = False) -> None:
        """Presses are answered where they happen."""
        await self.conv.answer_callback(notice, alert=alert)

    async def edit_buttons(self, buttons: Keyboard) -> None:
        """As in the group."""
        await self.conv.edit_buttons(buttons)

    async def edit(self, text: str, buttons: Keyboard = ()) -> None:
        """As in the group."""
        await self.conv.edit(text, buttons)

    async def tell_privately(self, text: str, buttons: Keyboard = ()) -> bool:
        """Already private."""
        return await self.conv.tell_privately(text, buttons)

    @contextlib.asynccontextmanager
    async def typing(self) -> AsyncIterator[None]:
        """No "typing…" in the group for an answer that goes elsewhere."""
        yield

    async def is_group_admin(self) -> bool:
        """Admin commands do not ask."""
        return False
