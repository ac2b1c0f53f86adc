"""Long lists as pages with ‹ › buttons: /topics, /rules, /feeds, /feedback.

A list is drawn fresh for every page asked for, so a page always shows what is
true now; the page number in a button is clamped to the pages there are. Pages
are packed by ``bot.core.htmltext.pack``, so each is valid HTML under Telegram's
limit, with room left for the list's header.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.core.callbacks import Signer
from bot.core.htmltext import pack
from bot.core.i18n import Texts
from bot.core.message import MESSAGE_LIMIT, Button, Keyboard

PAGE = "pg"  # callback action: PAGE, list name, page number
HEADER_ROOM = 300  # visible characters kept free for a page's header


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: its HTML, which page it is, of how many."""

    text: str
    number: int
    total: int


def page_of(blocks: Sequence[str], number: int, *, most: int = 10, empty: str = "") -> Page:
    """Page ``number`` (from 1, clamped) of ``blocks``; ``empty`` when there are none."""
    pages = pack(blocks, MESSAGE_LIMIT - HEADER_ROOM, most=most) or [empty]
    number = min(max(number, 1), len(pages))
    return Page(pages[number - 1], number, len(pages))


def titled(header: str, page: Page, t: Texts) -> str:
    """The page under its list's header, which says "page 2 of 6" when there are several."""
    if page.total > 1:
        header += " · " + t._("page {page} of {total}", page=page.number, total=page.total)
    return f"{header}\n\n{page.text}"


def nav_row(signer: Signer, chat_id: int, name: str, page: Page, t: Texts) -> tuple[Button, ...]:
    """‹ and › buttons for a list of several pages (none for one page)."""
    if page.total <= 1:
        return ()
    row = []
    if page.number > 1:
        row.append(
            Button(t.plain("‹ Back"), data=signer.sign(chat_id, PAGE, name, page.number - 1))
        )
    row.append(
        Button(
            t.plain("{page} / {total}", page=page.number, total=page.total),
            data=signer.sign(chat_id, PAGE, name, page.number),
        )
    )
    if page.number < page.total:
        row.append(
            Button(t.plain("Next ›"), data=signer.sign(chat_id, PAGE, name, page.number + 1))
        )
    return tuple(row)


# A paged list: draw page n for a command's chat -> (text, buttons).
Lister = Callable[..., Awaitable[tuple[str, Keyboard]]]
