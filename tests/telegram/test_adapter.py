"""The adapter: newsbot's buttons become PTB's inline keyboard, and nothing is lost."""

from __future__ import annotations

from bot.core.message import Button
from bot.telegram.adapter import markup


def test_buttons_become_an_inline_keyboard_row_by_row() -> None:
    keyboard = markup(
        (
            (Button("➕ CSTO", data="toggle:csto"), Button("Read", url="https://x.test/a")),
            (Button("Mute 1 d", data="mute:csto:1d"),),
        )
    )
    assert keyboard is not None
    rows = [[b.to_dict() for b in row] for row in keyboard.inline_keyboard]
    assert rows == [
        [
            {"text": "➕ CSTO", "callback_data": "toggle:csto"},
            {"text": "Read", "url": "https://x.test/a"},
        ],
        [{"text": "Mute 1 d", "callback_data": "mute:csto:1d"}],
    ]
    assert markup(()) is None
