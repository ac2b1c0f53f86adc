"""PTB's errors as newsbot's own send errors (``bot.core.errors``).

PTB's classes are caught most specific first: ``BadRequest`` and ``TimedOut``
subclass ``NetworkError``, so they must come before it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.core.errors import (
    ChatGone,
    ChatMoved,
    MessageRefused,
    RetryLater,
    SendError,
    SendUnavailable,
)


def translate(exc: TelegramError) -> SendError:
    """The newsbot error kind for one of PTB's errors."""
    reason = str(exc)
    if isinstance(exc, RetryAfter):
        wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return RetryLater(reason, seconds=seconds)
    if isinstance(exc, ChatMigrated):
        return ChatMoved(reason, new_chat_id=exc.new_chat_id)
    if isinstance(exc, Forbidden):
        return ChatGone(reason)
    if isinstance(exc, BadRequest):
        return ChatGone(reason) if "chat not found" in reason.lower() else MessageRefused(reason)
    if isinstance(exc, TimedOut):
        return SendUnavailable(reason, timed_out=True)
    if isinstance(exc, NetworkError):  # connection failures and 5xx answers
        return SendUnavailable(reason)
    return SendError(reason)  # e.g. an invalid token: nothing to retry here


@contextlib.contextmanager
def newsbot_errors() -> Iterator[None]:
    """Inside, a PTB error comes out as newsbot's ``SendError`` kind."""
    try:
        yield
    except TelegramError as exc:
        raise translate(exc) from exc
