"""TelegramSender: PTB's errors come out as newsbot's own kinds, through the real client."""

from __future__ import annotations

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.app.service import Service
from bot.core.errors import (
    ChatGone,
    ChatMoved,
    MessageRefused,
    RetryLater,
    SendError,
    SendUnavailable,
)
from bot.core.message import MESSAGE_LIMIT
from bot.telegram.sender import translate
from tests.fakes.telegram_html import html_to_text
from tests.helpers.chat import enqueue
from tests.helpers.harness import Harness, rss


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (RetryAfter(7), RetryLater),
        (ChatMigrated(-1005), ChatMoved),
        (Forbidden("Forbidden: bot was blocked by the user"), ChatGone),
        (BadRequest("Bad Request: chat not found"), ChatGone),
        (BadRequest("Bad Request: can't parse entities"), MessageRefused),
        (TimedOut("Timed out"), SendUnavailable),
        (NetworkError("Bad Gateway"), SendUnavailable),
        (Conflict("terminated by other getUpdates request"), SendError),
    ],
)
def test_each_ptb_error_becomes_one_newsbot_kind(error: TelegramError, kind: type) -> None:
    got = translate(error)
    assert type(got) is kind and str(got) == str(error)
    assert not isinstance(got, TelegramError)


def test_the_translated_errors_carry_what_delivery_needs() -> None:
    wait = translate(RetryAfter(7))
    assert isinstance(wait, RetryLater) and wait.seconds == 7.0
    moved = translate(ChatMigrated(-1005))
    assert isinstance(moved, ChatMoved) and moved.new_chat_id == -1005
    timeout, network = translate(TimedOut()), translate(NetworkError("x"))
    assert isinstance(timeout, SendUnavailable) and timeout.timed_out
    assert isinstance(network, SendUnavailable) and not network.timed_out


@pytest.fixture
def quiet(harness: Harness) -> Harness:
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    return harness


async def test_the_real_client_raises_only_newsbot_errors(quiet: Harness) -> None:
    api = quiet.telegram
    async with Service(quiet.settings()) as service:
        assert service.telegram is not None
        sender = service.telegram.sender
        api.fail("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
        with pytest.raises(RetryLater) as wait:
            await sender.send(1, "hi")
        assert wait.value.seconds == 3
        api.set_blocked(2)
        with pytest.raises(ChatGone, match="blocked"):
            await sender.send(2, "hi")
        api.fail("sendMessage", 400, "Bad Request: chat not found")
        with pytest.raises(ChatGone, match=r"(?i)chat not found"):
            await sender.send(3, "hi")
        with pytest.raises(MessageRefused, match=r"(?i)parse entities"):
            await sender.send(4, "<b>never closed")
        api.migrate_chat(-5, -1005)
        with pytest.raises(ChatMoved) as moved:
            await sender.send(-5, "hi")
        assert moved.value.new_chat_id == -1005
        api.set_down(True)
        with pytest.raises(SendUnavailable) as down:
            await sender.send(6, "hi")
        assert not down.value.timed_out
        api.set_down(False)
        with pytest.raises(MessageRefused, match=r"(?i)not found"):
            await sender.edit(7, 999, "no such message")


async def test_an_overlong_alert_is_cut_to_one_valid_message(quiet: Harness) -> None:
    async with Service(quiet.settings()) as service:
        assert service.telegram is not None
        text = '<b><a href="https://x.test/">' + "word &amp; " * 1000 + "</a></b>"
        message_id = await service.telegram.sender.send(8, text)
    sent = quiet.telegram.sent[-1]
    shown = html_to_text(sent["text"])
    assert sent["message_id"] == message_id and len(shown) <= MESSAGE_LIMIT
    assert shown.endswith("&…") and sent["text"].endswith("…</a></b>")


async def test_each_outcome_reaches_the_deliverer_as_before(quiet: Harness) -> None:
    """Moved, refused and gone chats through the real client: the same outcomes as ever."""
    api = quiet.telegram
    outcomes: list[str] = []
    async with Service(quiet.settings()) as service:
        service.deliverer.on_result = outcomes.append
        store = service.store
        for chat in (-5, 11, 12):
            store.subs.subscribe(chat, "kazakhstan")
        api.migrate_chat(-5, -1005)
        enqueue(store, [-5], 1)
        await service.deliverer.deliver_due()  # the row moves to the new id …
        await service.deliverer.deliver_due()  # … and is sent there
        assert store.subs.topics_of(-1005) == ["kazakhstan"]
        assert [m["chat_id"] for m in api.sent] == [-1005]
        api.fail("sendMessage", 400, "Bad Request: can't parse entities")
        enqueue(store, [11], 1)
        await service.deliverer.deliver_due()
        assert store.outbox.counts().get("failed") == 1
        api.fail("sendMessage", 400, "Bad Request: chat not found")
        enqueue(store, [12], 2)
        await service.deliverer.deliver_due()
        assert 12 not in store.subs.subscribers(["kazakhstan"]), "the gone chat is deactivated"
        assert store.outbox.counts().get("dropped") == 2
    assert outcomes == ["migrated", "sent", "refused", "chat_gone"]
