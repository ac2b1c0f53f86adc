"""What a command handler sees: a frozen ``Command`` and a ``Conversation`` to answer in.

``bot.telegram.adapter`` builds both from PTB's ``Update``; it is the one module
that does. Handlers, and everything behind them, are plain newsbot code that
never sees a PTB type, so they can be driven without Telegram.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from bot.core.message import Keyboard

GROUP_TYPES = ("group", "supergroup")


@dataclass(frozen=True, slots=True)
class Command:
    """What a handler needs from an update: who, where, the arguments, a button's data."""

    chat_id: int
    user_id: int | None
    chat_type: str
    args: tuple[str, ...] = ()
    data: str | None = None  # a button press's callback data: untrusted, like any input
    language_code: str | None = None  # the sender's app language (IETF tag), if Telegram says
    text: str = ""  # the message as typed (for an unknown command or plain text)

    @property
    def in_group(self) -> bool:
        """Sent in a group, where what the chat receives is the group admins' choice."""
        return self.chat_type in GROUP_TYPES

    @property
    def is_press(self) -> bool:
        """A press on an inline button rather than a typed command."""
        return self.data is not None


class Conversation(Protocol):
    """Answers in the chat an update came from.

    Every text is Telegram HTML and may be of any length: it is split into as many
    messages as it needs (``bot.core.htmltext``). Telegram's failures come out as
    newsbot's ``SendError`` kinds.
    """

    async def reply(self, text: str, buttons: Keyboard = ()) -> None:
        """Send HTML ``text``, as several messages if it is long, ``buttons`` under the last."""
        ...

    async def answer_callback(self, notice: str | None = None, *, alert: bool = False) -> None:
        """Acknowledge a button press, with a short notice (a dialog if ``alert``)."""
        ...

    async def edit_buttons(self, buttons: Keyboard) -> None:
        """Replace the buttons of the message whose button was pressed."""
        ...

    async def edit(self, text: str, buttons: Keyboard = ()) -> None:
        """Replace the text and buttons of the message whose button was pressed (one page)."""
        ...

    async def tell_privately(self, text: str, buttons: Keyboard = ()) -> bool:
        """Send to the sender's private chat; False when Telegram does not let the bot."""
        ...

    def typing(self) -> AbstractAsyncContextManager[None]:
        """While inside, the chat shows that the bot is typing (for slow answers)."""
        ...

    async def is_group_admin(self) -> bool:
        """Whether the sender administers the group the update came from."""
        ...


Handler = Callable[[Command, Conversation], Awaitable[None]]
