"""Every chat command and button, through the real PTB client and the fake Bot API."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from bot.core.clock import utcnow
from bot.core.message import MESSAGE_LIMIT
from bot.delivery.digest import PART_BUDGET, render_digest
from bot.store.digests import HeldAlert
from tests.fakes.telegram_api import FakeBotAPI
from tests.fakes.telegram_html import html_to_text
from tests.helpers.chat import enqueue, say, visible
from tests.helpers.harness import Harness, rss

USER = 500
GROUP = -100500


def buttons(message: dict) -> dict[str, str]:
    rows = (message["reply_markup"] or {}).get("inline_keyboard", [])
    return {b["callback_data"]: b["text"] for row in rows for b in row}


@pytest.fixture
def chat(harness: Harness) -> Harness:
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    return harness


async def test_start_help_topics_and_buttons(chat: Harness) -> None:
    api: FakeBotAPI = chat.telegram
    async with chat.running() as service:
        start = await say(chat, USER, "/start")
        assert "newsbot" in start["text"] and start["parse_mode"] == "HTML"
        assert buttons(start)["toggle:kazakhstan"] == "➕ Kazakhstan"
        help_text = (await say(chat, USER, "/help"))["text"]
        for command in ("/subscribe", "/mysubs", "/pause", "/mode", "/mute"):
            assert command in help_text
        topics = await say(chat, USER, "/topics")
        assert (
            "Tokayev" in topics["text"] and "tokayev" in buttons(topics)["toggle:tokayev"].lower()
        )

        api.push_callback(USER, "toggle:csto", message_id=topics["message_id"])
        await chat.wait_sent(lambda a: len(a.edits) >= 1)
        assert service.store.subs.topics_of(USER) == ["csto"]
        assert buttons(api.edits[-1])["toggle:csto"] == "✅ CSTO"
        api.push_callback(USER, "toggle:csto", message_id=topics["message_id"])
        await chat.wait_sent(lambda a: len(a.edits) >= 2)
        assert service.store.subs.topics_of(USER) == []
        menu = {c["command"] for c in api.commands or []}
        assert {"start", "help", "topics", "subscribe", "mute", "mode"} <= menu


async def test_a_20_kb_reply_arrives_as_several_valid_messages(chat: Harness) -> None:
    """/topics with 40 long descriptions (escapes, an astral flag): split, never refused."""
    topics = [
        {
            "id": f"t{n}",
            "name": f"Topic {n}",
            "description": f"Topic {n} 🇰🇿 <watch> & follow: " + "news from the region " * 30,
            "any": [f"zzterm{n}"],
        }
        for n in range(40)
    ]
    (chat.config / "rules.yaml").write_text(yaml.safe_dump({"version": 1, "topics": topics}))
    api = chat.telegram
    async with chat.running():
        api.push_message(USER, "/topics")
        await chat.wait_sent(lambda a: any(m["reply_markup"] for m in a.sent))
    replies = [m for m in api.sent if m["chat_id"] == USER]
    assert sum(len(m["text"]) for m in replies) > 20_000 and len(replies) >= 5
    shown = [html_to_text(m["text"]) for m in replies]  # each valid (the fake refuses others)
    assert all(len(s.encode("utf-16-le")) // 2 <= MESSAGE_LIMIT for s in shown)
    for topic in topics:
        assert sum(f"{topic['description'].strip()}" in s for s in shown) == 1, "whole, once"
    assert [bool(m["reply_markup"]) for m in replies] == [False] * (len(replies) - 1) + [True]
    assert len(buttons(replies[-1])) == 40, "the buttons come under the last part"


async def test_subscribe_unsubscribe_mysubs_and_usage(chat: Harness) -> None:
    async with chat.running():
        assert "Usage: /subscribe &lt;topic&gt;" in (await say(chat, USER, "/subscribe"))["text"]
        wrong = (await say(chat, USER, "/subscribe kyrgyzstan"))["text"]
        assert "Unknown topic 'kyrgyzstan'" in wrong and "Usage:" in wrong
        assert "Subscribed to <b>CSTO</b>" in (await say(chat, USER, "/subscribe CSTO"))["text"]
        assert "Already subscribed" in (await say(chat, USER, "/subscribe csto"))["text"]
        await say(chat, USER, "/subscribe tokayev")
        assert (await say(chat, USER, "/mysubs"))["text"] == "Subscribed to: CSTO, Tokayev"
        assert "Unsubscribed" in (await say(chat, USER, "/unsubscribe csto"))["text"]
        assert "Not subscribed" in (await say(chat, USER, "/unsubscribe csto"))["text"]
        assert (await say(chat, USER, "/mysubs"))["text"] == "Subscribed to: Tokayev"


async def test_pause_resume_mute_and_mode(chat: Harness) -> None:
    async with chat.running() as service:
        subs = service.store.subs
        await say(chat, USER, "/subscribe kazakhstan")
        assert "Paused" in (await say(chat, USER, "/pause"))["text"]
        assert subs.subscribers(["kazakhstan"]) == {}
        assert "Resumed" in (await say(chat, USER, "/resume"))["text"]
        assert subs.subscribers(["kazakhstan"]) == {USER: {"kazakhstan"}}

        assert "Usage: /mute" in (await say(chat, USER, "/mute kazakhstan"))["text"]
        assert "Bad duration" in (await say(chat, USER, "/mute kazakhstan soon"))["text"]
        assert "muted until" in (await say(chat, USER, "/mute kazakhstan 2h"))["text"]
        assert subs.subscribers(["kazakhstan"]) == {}
        until = subs.settings_of(USER).muted["kazakhstan"]
        assert timedelta(minutes=119) < until - utcnow() <= timedelta(hours=2)
        assert "unmuted" in (await say(chat, USER, "/mute kazakhstan off"))["text"]
        assert subs.subscribers(["kazakhstan"]) == {USER: {"kazakhstan"}}

        assert "Mode: instant" in (await say(chat, USER, "/mode"))["text"]
        assert "Usage: /mode" in (await say(chat, USER, "/mode daily 25:00"))["text"]
        assert "08:30 UTC" in (await say(chat, USER, "/mode daily 8:30"))["text"]
        assert subs.settings_of(USER).mode == "daily"
        assert "per hour" in (await say(chat, USER, "/mode hourly"))["text"]
        assert subs.settings_of(USER).mode == "hourly"


async def test_only_group_admins_change_a_group(chat: Harness) -> None:
    api = chat.telegram
    api.set_chat_admins(GROUP, [901])
    async with chat.running() as service:
        kw = {"chat_type": "supergroup"}
        refused = await say(chat, GROUP, "/subscribe csto", user_id=902, **kw)
        assert "Only this group's admins" in refused["text"]
        assert service.store.subs.topics_of(GROUP) == []
        ok = await say(chat, GROUP, "/subscribe csto", user_id=901, **kw)
        assert "Subscribed" in ok["text"]
        assert (
            "Subscribed to: CSTO" in (await say(chat, GROUP, "/mysubs", user_id=902, **kw))["text"]
        )


async def test_hourly_digest_of_200_alerts(chat: Harness) -> None:
    api = chat.telegram
    async with chat.running() as service:
        await say(chat, USER, "/subscribe kazakhstan")
        await say(chat, USER, "/mode hourly")
        texts = enqueue(service.store, [USER], 200)
        await service.deliverer.deliver_due()
        assert service.store.outbox.counts().get("held") == 200
        made = service.digester.run_due(now=utcnow() + timedelta(hours=1, seconds=1))
        assert made == 1
        await chat.wait_sent(lambda a: bool(digests(a)) and len(digests(a)) == parts(a))
    got = digests(api)
    assert len(got) == parts(api)
    assert all(len(visible(m["text"])) < 4096 for m in got)
    joined = "\n".join(m["text"] for m in got)
    for text in texts:
        assert joined.count(text.split('">')[1].split("<")[0] + "<") == 1  # each title once
    assert service.store.outbox.counts().get("digested") == 200


def digests(api: FakeBotAPI) -> list[dict]:
    return [m for m in api.sent if m["text"].startswith("<b>newsbot digest</b>")]


def parts(api: FakeBotAPI) -> int:
    first = digests(api)[0]["text"]
    return int(first.split(" · part 1/")[1].split("\n")[0]) if " · part 1/" in first else 1


def test_digest_groups_by_topic_and_splits_under_the_limit() -> None:
    items = [
        HeldAlert(
            i,
            f"Title {i} " + "x" * 150,
            f"https://n.test/{i}",
            "Src",
            ("kazakhstan", "csto") if i % 2 else ("tokayev",),
        )
        for i in range(200)
    ]
    names = {"kazakhstan": "Kazakhstan", "csto": "CSTO", "tokayev": "Tokayev"}
    out = render_digest(items, names, {"csto", "tokayev"})
    assert len(out) > 1
    assert all(len(visible(p)) <= PART_BUDGET + 200 for p in out)
    joined = "\n".join(out)
    assert joined.count("<b>CSTO</b>\n") == 1 and "<b>Kazakhstan</b>" not in joined
    assert all(p.split("\n")[2].startswith("<b>") for p in out), "every part names its topic"
    assert all(joined.count(f'https://n.test/{i}"') == 1 for i in range(200))
