"""The first call to the Bot API at start-up, with its expected failures made plain.

PTB's ``InvalidToken`` message quotes the token, and a network error at start-up
would otherwise end in a traceback and a restart loop; both become one
``StartupError`` that says what to do and never contains the token.
"""

from __future__ import annotations

from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application

from bot.config.settings import TOKEN_ENV
from bot.core.errors import StartupError


async def connect(app: Application, base: str) -> None:
    """``app.initialize()`` (which calls getMe), or a StartupError saying what to fix.

    ``base`` is the configured Bot API address (telegram.base_url), for the message.
    """
    try:
        await app.initialize()
    except InvalidToken:
        raise StartupError(
            f"Telegram ({base}) refused the bot token in {TOKEN_ENV}: copy the token again "
            "from @BotFather (or /revoke it there for a new one) and restart"
        ) from None
    except NetworkError as exc:
        detail = str(exc).replace(app.bot.token, "<redacted>")
        raise StartupError(
            f"cannot reach the Telegram Bot API at {base}: {detail}. Check the network "
            "(or a proxy), or set telegram.base_url; newsbot retries when restarted"
        ) from None
