"""What the Deliverer sends through: the Sender protocol and the senders that need no network.

A sender raises only newsbot's own ``SendError`` kinds (``bot.core.errors``), so
delivery never depends on how a messaging library spells its failures. The
Telegram sender is ``bot.telegram.sender.TelegramSender``.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.errors import NewsbotError
from bot.core.htmltext import terminal
from bot.core.message import Keyboard


class Sender(Protocol):
    """Sends one HTML message; raises a ``SendError`` kind when it is not delivered."""

    async def send(self, chat_id: int, text: str, buttons: Keyboard = ()) -> int:
        """Send ``text`` to ``chat_id``, ``buttons`` under it; return the message's id."""
        ...

    async def edit(self, chat_id: int, message_id: int, text: str, buttons: Keyboard = ()) -> None:
        """Replace the text (and buttons) of a message sent earlier."""
        ...


class ConsoleSender:
    """Prints alerts to standard output (``newsbot run --console``)."""

    def __init__(self) -> None:
        self.count = 0

    async def send(self, chat_id: int, text: str, buttons: Keyboard = ()) -> int:
        """Print the alert as plain text."""
        self.count += 1
        print(f"=== alert {self.count} ===\n{terminal(text)}\n", flush=True)
        return self.count

    async def edit(self, chat_id: int, message_id: int, text: str, buttons: Keyboard = ()) -> None:
        """Print the updated alert."""
        print(f"=== update to alert {message_id} ===\n{terminal(text)}\n", flush=True)


class ShuttingDown(NewsbotError):
    """Raised instead of sending once stop was requested: the alert stays queued."""


class GatedSender:
    """Wraps the sender so that no send starts after ``close()``."""

    def __init__(self, sender: Sender) -> None:
        self.sender, self.is_open = sender, True

    async def send(self, chat_id: int, text: str, buttons: Keyboard = ()) -> int:
        """Send, unless the service is stopping."""
        if not self.is_open:
            raise ShuttingDown("stopping: alert left in the outbox for the next start")
        return await self.sender.send(chat_id, text, buttons)

    async def edit(self, chat_id: int, message_id: int, text: str, buttons: Keyboard = ()) -> None:
        """Edit a sent alert, unless the service is stopping."""
        if not self.is_open:
            raise ShuttingDown("stopping: edit left in the outbox for the next start")
        await self.sender.edit(chat_id, message_id, text, buttons)

    def close(self) -> None:
        """Refuse every later send."""
        self.is_open = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.sender, name)  # e.g. ConsoleSender.count
