"""Checking inline keyboards the way Telegram does, so a bad button fails in tests.

Each button needs a text and exactly one action; ``callback_data`` is 1-64 bytes;
a ``url`` must be an http(s) or tg link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .telegram_wire import bad_request

MAX_CALLBACK_DATA = 64
ACTIONS = (
    "callback_data",
    "url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "login_url",
    "web_app",
    "pay",
    "callback_game",
    "copy_text",
    "switch_inline_query_chosen_chat",
)


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not str(button.get("text") or "").strip():
        raise bad_request("text buttons are unallowed in the inline keyboard")
    actions = [a for a in ACTIONS if a in button]
    if len(actions) != 1:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        size = len(str(button["callback_data"]).encode("utf-8"))
        if not 1 <= size <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = str(button["url"])
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "tg") or (
            parts.scheme != "tg" and not parts.netloc
        ):
            raise bad_request(
                f"inline keyboard button URL '{url}' is invalid: Unsupported URL protocol"
            )


def check_markup(markup: Any) -> Any:
    """Return ``markup`` if Telegram would take it; raise its 400 otherwise."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request("can't parse inline keyboard: it must be an Array of Arrays")
        for row in rows:
            for button in row:
                _check_button(button)
    return markup
