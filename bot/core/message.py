"""What an outgoing Telegram message may be: its limits, named once, and its buttons.

Lengths are counted as Telegram counts them: on the visible text (after HTML tags
are removed and entities decoded), in UTF-16 code units, so an emoji outside the
Basic Multilingual Plane counts 2. ``bot.core.htmltext`` cuts and splits to these.
"""

from __future__ import annotations

from dataclasses import dataclass

MESSAGE_LIMIT = 4096  # visible characters of one text message
CAPTION_LIMIT = 1024  # visible characters of a photo or document caption
CALLBACK_DATA_LIMIT = 64  # bytes of a button's callback data (UTF-8)
CALLBACK_ANSWER_LIMIT = 200  # characters of a button press's notice
COMMAND_DESCRIPTION_LIMIT = 256  # characters of one entry in the command menu
DESCRIPTION_LIMIT = 512  # characters of the bot's description (setMyDescription)
SHORT_DESCRIPTION_LIMIT = 120  # characters of its short description (setMyShortDescription)
BUTTON_TEXT_LIMIT = 64  # newsbot's own cap on a button's label: clients cut longer ones
GROUP_PER_MINUTE = 20  # messages a minute to one group or channel
OVERALL_PER_SECOND = 30  # messages a second from one bot, all chats together


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: it either sends ``data`` back to the bot or opens ``url``.

    Callback data travels through the user's client, so whoever handles it must
    treat it as untrusted input.
    """

    text: str
    data: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise ValueError(f"button {self.text!r} needs either callback data or a url")
        if self.data is not None and len(self.data.encode()) > CALLBACK_DATA_LIMIT:
            raise ValueError(
                f"button {self.text!r}: callback data {self.data!r} is over "
                f"Telegram's {CALLBACK_DATA_LIMIT} bytes"
            )


# Rows of buttons, top to bottom, each row left to right.
Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True, slots=True)
class Alert:
    """One chat's alert for one article, rendered for that chat, as the pipeline queues it.

    ``lang`` is the language it was rendered in (its footer and buttons follow);
    ``topics`` are the matched topics the chat follows, which its buttons act on.
    """

    chat_id: int
    text: str
    lang: str = "en"
    topics: tuple[str, ...] = ()
