"""Button presses: each one's signed data checked, then handed to the handler of its action.

Data that newsbot did not sign for this chat (forged, altered, copied from
another chat, or from before a key change) gets a short notice and nothing else.
The handler sees the press's fields as the command's ``args``; one that finds
what they name gone (a pruned alert, a deleted topic) says so just as briefly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from bot.core.callbacks import Signer
from bot.core.i18n import Texts
from bot.telegram.conversation import Command, Conversation, Handler

log = logging.getLogger(__name__)


class Presses:
    """Routes verified presses by action."""

    def __init__(self, signer: Signer, texts_for: Callable[[Command], Texts]) -> None:
        self.signer, self.texts_for = signer, texts_for
        self.handlers: dict[str, Handler] = {}

    def add(self, action: str, fn: Handler) -> None:
        """Let ``fn`` answer presses of ``action``."""
        self.handlers[action] = fn

    async def __call__(self, cmd: Command, conv: Conversation) -> None:
        """Answer one press."""
        press = self.signer.open(cmd.chat_id, cmd.data)
        fn = self.handlers.get(press.action) if press is not None else None
        if press is None or fn is None:
            log.info("press_refused", extra={"chat_id": cmd.chat_id, "user_id": cmd.user_id})
            t = self.texts_for(cmd)
            await conv.answer_callback(
                t.plain("This button is not valid. Send /start for fresh ones.")
            )
            return
        await fn(replace(cmd, args=press.fields), conv)


def expired(t: Texts) -> str:
    """The notice for a button whose alert or list is gone."""
    return t.plain("This button has expired.")
