"""Admin commands, the allow-list and chat migration, through the real PTB client."""

from __future__ import annotations

import time

from bot.core.message import MESSAGE_LIMIT
from bot.rules.file import load_rules
from tests.fakes.telegram_html import html_to_text
from tests.helpers.chat import say
from tests.helpers.harness import CORPUS, Harness, rss

ADMIN = 700
USER = 701


def setup(h: Harness, **telegram: object) -> None:
    h.site.route("/f.xml", rss([]), etag='"1"')
    h.site.route("/other.xml", rss([], title="Other Outlet"))
    h.site.route(
        "/page.html",
        '<html><head><title>x</title><link rel="alternate" '
        'type="application/rss+xml" href="/other.xml"></head><body>hi</body></html>',
        content_type="text/html",
    )
    h.site.route("/not-a-feed", "<html><body>nothing here</body></html>", content_type="text/html")
    h.write(["/f.xml"], telegram={"admins": [ADMIN], **telegram})
    feeds = h.config / "feeds.yaml"
    feeds.write_text("# my feeds, keep this comment\n" + feeds.read_text())


async def test_non_admins_are_refused(harness: Harness) -> None:
    setup(harness)
    async with harness.running():
        for command in ("/feeds", "/addterm csto Zzzterm", "/stats"):
            assert "admins only" in (await say(harness, USER, command))["text"]
    csto = load_rules(harness.config / "rules.yaml").get("csto")
    assert csto is not None and "Zzzterm" not in [t.label for t in csto.any]


async def test_feed_health_add_discover_and_remove(harness: Harness) -> None:
    setup(harness)
    feeds_file = harness.config / "feeds.yaml"
    async with harness.running() as service:
        await service.pipeline.wait_cycles(1)
        health = (await say(harness, ADMIN, "/feeds"))["text"]
        assert "✅ <b>Feed /f.xml</b>: ok" in health
        other = harness.site.url("/other.xml")
        added = (await say(harness, ADMIN, f"/addfeed {harness.site.url('/page.html')}"))["text"]
        assert "Added <b>Other Outlet</b>" in added and other in added
        assert other in feeds_file.read_text() and "keep this comment" in feeds_file.read_text()
        assert other in {f.url for f in service.store.feeds.active()}
        bad = (await say(harness, ADMIN, f"/addfeed {harness.site.url('/not-a-feed')}"))["text"]
        assert bad.startswith("Refused:") and "HTML page" in bad
        assert "Usage: /addfeed" in (await say(harness, ADMIN, "/addfeed"))["text"]
        removed = (await say(harness, ADMIN, f"/rmfeed {other}"))["text"]
        assert "Removed" in removed and other not in feeds_file.read_text()
        assert other not in {f.url for f in service.store.feeds.active()}
        stats = (await say(harness, ADMIN, "/stats"))["text"]
        assert "Feeds: 1 (0 failing)" in stats


async def test_rule_edits_are_validated_saved_and_live(harness: Harness) -> None:
    setup(harness)
    rules_file = harness.config / "rules.yaml"
    async with harness.running() as service:
        listing = (await say(harness, ADMIN, "/rules"))["text"]
        assert "<b>kazakhstan</b>" in listing
        ok = (await say(harness, ADMIN, "/addterm tokayev Tokajewa"))["text"]
        assert "Added 'Tokajewa'" in ok
        tokayev = load_rules(rules_file).get("tokayev")
        assert tokayev is not None and "Tokajewa" in [t.label for t in tokayev.any]
        before = rules_file.read_text()
        bad = (await say(harness, ADMIN, "/addterm tokayev re:(a+)+$"))["text"]
        assert bad.startswith("Refused:") and "catastrophic" in bad
        assert rules_file.read_text() == before, "a refused edit never touches the file"
        assert "unknown topic 'nope'" in (await say(harness, ADMIN, "/addterm nope x"))["text"]
        made = (await say(harness, ADMIN, "/addtopic uzbekistan Uzbekistan"))["text"]
        assert "Added topic <b>Uzbekistan</b>" in made
        assert "uzbekistan" in service.rules.matcher.rules.ids, "live without a restart"
        await say(harness, ADMIN, "/addterm uzbekistan Usbekistan*")
        gone = (await say(harness, ADMIN, "/rmterm uzbekistan Uzbekistan"))["text"]
        assert "Removed 'Uzbekistan'" in gone
        topic = load_rules(rules_file).get("uzbekistan")
        assert topic is not None and [t.label for t in topic.any] == ["Usbekistan*"]
        assert "(subscribe to a topic" not in rules_file.read_text()


async def test_test_command_explains_without_alerting(harness: Harness) -> None:
    setup(harness)
    page = (CORPUS / "pages" / "standard_de.html").read_bytes()
    harness.site.route("/article", page, content_type="text/html; charset=utf-8")
    async with harness.running() as service:
        assert "Subscribed" in (await say(harness, USER, "/subscribe kazakhstan"))["text"]
        out = (await say(harness, ADMIN, f"/test {harness.site.url('/article')}"))["text"]
        assert "MATCHED kazakhstan" in out and "MATCHED csto" in out
        assert "Tokajew" in out
        assert harness.site.hits("/article") == 1, "the page itself was fetched and explained"
        await service.pipeline.wait_cycles(service.pipeline.cycles + 1)
        assert service.store.outbox.counts() == {}, "nothing recorded for the subscriber"
        assert not [m for m in harness.telegram.sent if "<a href=" in m["text"]]


async def test_allow_list_and_chat_migration(harness: Harness) -> None:
    setup(harness, allowed_chats=[USER, -42, -100042])
    async with harness.running() as service:
        assert "private newsbot" in (await say(harness, 999, "/start"))["text"]
        assert "Subscribed" in (await say(harness, USER, "/subscribe csto"))["text"]
        stats = (await say(harness, ADMIN, "/stats"))["text"]
        assert "admins only" not in stats and "Feeds: 1 (0 failing)" in stats
        group, supergroup = -42, -100042
        harness.telegram.set_chat_admins(group, [USER])
        joined = await say(harness, group, "/subscribe csto", user_id=USER, chat_type="group")
        assert "Subscribed" in joined["text"]
        harness.telegram.push_update(
            {
                "message": {
                    "message_id": 99,
                    "date": int(time.time()),
                    "chat": {"id": group, "type": "group", "title": "G"},
                    "from": {"id": USER, "is_bot": False, "first_name": "U"},
                    "migrate_to_chat_id": supergroup,
                }
            }
        )
        await harness.wait_sent(lambda a: a.updates_consumed >= 1 and a.pending_updates == 0)
        await say(harness, USER, "/mysubs")  # a round trip, so the migration was handled
        assert service.store.subs.topics_of(supergroup) == ["csto"]
        assert service.store.subs.topics_of(group) == []


async def test_a_long_notice_reaches_every_admin_whole(harness: Harness) -> None:
    """tell_admins takes plain text of any length: escaped, split, nothing lost."""
    setup(harness, admins=[ADMIN, ADMIN + 1])
    text = "Rules edit refused: " + " ".join(f"<term{n}> & more" for n in range(1200))
    async with harness.running() as service:
        assert service.telegram is not None
        service.telegram.tell_admins(text)

        def arrived(chat: int) -> list[str]:
            return [html_to_text(m["text"]) for m in harness.telegram.sent if m["chat_id"] == chat]

        await harness.wait_sent(
            lambda a: all("<term1199> & more" in "".join(arrived(c)) for c in (ADMIN, ADMIN + 1))
        )
    for chat in (ADMIN, ADMIN + 1):
        parts = arrived(chat)
        assert len(parts) >= 5 and all(len(p) <= MESSAGE_LIMIT for p in parts)
        assert " ".join(parts).split() == text.split()
