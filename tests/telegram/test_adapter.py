"""The adapter: newsbot's buttons become PTB's inline keyboard; long labels are cut at a word."""

from __future__ import annotations

from bot.core.message import Button
from bot.telegram.adapter import markup


def test_buttons_become_an_inline_keyboard_row_by_row() -> None:
    keyboard = markup(
        (
            (Button("➕ CSTO", data="tg:csto:1:sig"), Button("Read", url="https://x.test/a")),
            (Button("Mute the topic " + "Kazakhstan " * 10, data="am:1:0:sig"),),
        )
    )
    assert keyboard is not None
    rows = [[b.to_dict() for b in row] for row in keyboard.inline_keyboard]
    assert rows == [
        [
            {"text": "➕ CSTO", "callback_data": "tg:csto:1:sig"},
            {"text": "Read", "url": "https://x.test/a"},
        ],
        [
            {
                "text": "Mute the topic Kazakhstan Kazakhstan Kazakhstan Kazakhstan…",
                "callback_data": "am:1:0:sig",
            }
        ],
    ]
    assert markup(()) is None
