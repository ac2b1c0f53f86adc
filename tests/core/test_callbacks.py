"""Signed callback data: what newsbot signed for a chat opens there, and nothing else does."""

from __future__ import annotations

import pytest

from bot.core.callbacks import Press, Signer
from bot.core.message import CALLBACK_DATA_LIMIT

KEY = b"k" * 32


def test_signed_data_opens_in_its_chat_only() -> None:
    signer = Signer(KEY)
    data = signer.sign(-100500, "am", 123456789, 2)
    assert len(data.encode()) <= CALLBACK_DATA_LIMIT
    assert data.startswith("am:123456789:2:")
    assert signer.open(-100500, data) == Press("am", ("123456789", "2"))
    assert signer.open(42, data) is None, "copied to another chat"
    assert Signer(b"x" * 32).open(-100500, data) is None, "signed with another key"


@pytest.mark.parametrize(
    "forged",
    [
        "am:123456789:3:{mac}",  # a field changed
        "ax:123456789:2:{mac}",  # the action changed
        "am:123456789:2",  # no signature
        "am:123456789:2:AAAAAAAAAAA",  # a made-up one
        "am:123456789:2:{mac}x",
        "toggle:csto",  # the old unsigned form
        "",
        "é:ü:{mac}",  # not even ASCII
        "x" * 65,
    ],
)
def test_forged_or_altered_data_is_refused(forged: str) -> None:
    signer = Signer(KEY)
    mac = signer.sign(7, "am", 123456789, 2).rsplit(":", 1)[1]
    assert signer.open(7, forged.format(mac=mac)) is None


def test_what_cannot_be_signed_is_refused_at_once() -> None:
    signer = Signer(KEY)
    with pytest.raises(ValueError, match="plain tokens"):
        signer.sign(1, "tg", "a:b")
    with pytest.raises(ValueError, match="64 bytes"):
        signer.sign(1, "tg", "x" * 60)
    with pytest.raises(ValueError, match="16 bytes"):
        Signer(b"short")
    longest_topic = "t" * 40  # the longest topic id the rules allow, on its page
    assert len(signer.sign(-1001234567890, "tg", longest_topic, 12)) <= CALLBACK_DATA_LIMIT
