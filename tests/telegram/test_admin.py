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
GROUP = -100700
REFUSED = "Sorry, this command is for this bot's admins only."


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


async def test_non_admins_are_refused_and_admins_see_their_commands(harness: Harness) -> None:
    setup(harness)
    async with harness.running():
        for command in ("/feeds", "/addterm csto Zzzterm", "/stats", "/feedback"):
            assert (await say(harness, USER, command))["text"] == REFUSED
        admin_help = (await say(harness, ADMIN, "/help"))["text"]
        assert (
            "\n\n<b>Admin commands</b>\n/feeds – Feeds and their health, numbered\n" in admin_help
        )
        assert "/rmfeed – Remove a feed: /rmfeed &lt;number or url&gt;" in admin_help
    csto = load_rules(harness.config / "rules.yaml").get("csto")
    assert csto is not None and "Zzzterm" not in [t.label for t in csto.any]
    admin_menu = harness.telegram.commands_for({"type": "chat", "chat_id": ADMIN})
    assert {"feeds", "stats", "feedback", "start"} <= {c["command"] for c in admin_menu}


async def test_feed_health_add_discover_and_remove(harness: Harness) -> None:
    setup(harness)
    feeds_file = harness.config / "feeds.yaml"
    async with harness.running() as service:
        await service.pipeline.wait_polls(1)
        health = (await say(harness, ADMIN, "/feeds"))["text"]
        f_url = harness.site.url("/f.xml")
        assert health == (
            f"<b>Feeds</b>\n\n1. <b>Feed /f.xml</b> — ✅ ok, read just now; 0 articles\n"
            f'    <a href="{f_url}">{f_url}</a>'
        )
        other = harness.site.url("/other.xml")
        added = (await say(harness, ADMIN, f"/addfeed {harness.site.url('/page.html')} ru"))["text"]
        assert added == (
            f"Added <b>Other Outlet</b>: {other}\nI found this feed through the web page you gave."
        )
        assert other in feeds_file.read_text() and "keep this comment" in feeds_file.read_text()
        assert "language: ru" in feeds_file.read_text()
        assert other in {f.url for f in service.store.feeds.active()}
        bad = (await say(harness, ADMIN, f"/addfeed {harness.site.url('/not-a-feed')}"))["text"]
        assert bad == "Refused: it is a web page that links to no feed."
        assert (await say(harness, ADMIN, "/addfeed"))["text"] == (
            "Usage: /addfeed &lt;url&gt; [name] [language]"
        )
        again = (await say(harness, ADMIN, f"/addfeed {other}"))["text"]
        assert again == "That feed is already in the list (/feeds)."
        removed = (await say(harness, ADMIN, "/rmfeed 2"))["text"]
        assert removed == f"Removed <b>Other Outlet</b>: {other}"
        assert other not in feeds_file.read_text()
        assert other not in {f.url for f in service.store.feeds.active()}
        assert (await say(harness, ADMIN, "/rmfeed 9"))["text"] == (
            "There is no feed “9” in the list: /feeds shows the numbers."
        )
        harness.site.route("/f.xml", "oops", status=503)
        await service.pipeline.wait_polls(service.pipeline.polls + 2)
        failing = (await say(harness, ADMIN, "/feeds"))["text"]
        assert "— ❌ failing for 1 min: the server answered HTTP 503" in failing
        stats = (await say(harness, ADMIN, "/stats"))["text"].split("\n")
        assert stats[:2] == ["<b>newsbot in numbers</b>", "Feeds: 1, 1 failing"]


async def test_rule_edits_are_validated_saved_live_and_refused_in_words(harness: Harness) -> None:
    setup(harness)
    rules_file = harness.config / "rules.yaml"
    async with harness.running() as service:
        listing = (await say(harness, ADMIN, "/rules"))["text"]
        assert listing.startswith("<b>Rules</b> · page 1 of ")
        assert (
            "<b>Kazakhstan</b> (<code>kazakhstan</code>)\nany: <code>@kazakhstan_names</code>"
            in (listing)
        )
        assert (await say(harness, ADMIN, "/addterm tokayev Tokajewa"))["text"] == (
            "Added “Tokajewa” to <b>Tokayev</b>."
        )
        tokayev = load_rules(rules_file).get("tokayev")
        assert tokayev is not None and "Tokajewa" in [t.label for t in tokayev.any]
        before = rules_file.read_text()
        bad = (await say(harness, ADMIN, "/addterm tokayev re:(a+)+$"))["text"]
        assert bad == (
            "Refused: the regular expression for <b>Tokayev</b> cannot be used: it could take "
            "very long on some texts."
        )
        wild = (await say(harness, ADMIN, "/addterm Tokayev ab*"))["text"]
        assert wild == (
            "Refused: the term “ab*” for <b>Tokayev</b> cannot be used: a word ending in * "
            "needs at least 3 letters before the *."
        )
        dup = (await say(harness, ADMIN, "/addterm tokayev Tokajewa"))["text"]
        assert dup == "Refused: <b>Tokayev</b> has the term “Tokajewa” already."
        assert rules_file.read_text() == before, "a refused edit never touches the file"
        for refusal in (bad, wild, dup):
            assert (
                "rules.yaml" not in refusal and "topics[" not in refusal and "(a+)" not in refusal
            )
        assert (await say(harness, ADMIN, "/addterm nope x"))["text"] == "There is no topic “nope”."
        made = (await say(harness, ADMIN, "/addtopic uzbekistan Uzbekistan"))["text"]
        assert made == "Added topic <b>Uzbekistan</b> (uzbekistan)."
        assert "uzbekistan" in service.rules.matcher.rules.ids, "live without a restart"
        await say(harness, ADMIN, "/addterm uzbekistan Usbekistan*")
        gone = (await say(harness, ADMIN, "/rmterm uzbekistan Uzbekistan"))["text"]
        assert gone == "Removed “Uzbekistan” from <b>Uzbekistan</b>."
        topic = load_rules(rules_file).get("uzbekistan")
        assert topic is not None and [t.label for t in topic.any] == ["Usbekistan*"]
        shared = (await say(harness, ADMIN, "/rmterm kazakhstan “Kazaszk*”"))["text"]
        assert shared == (
            "Removed “Kazaszk*” from the list @kazakhstan_names (used by: Kazakhstan)."
        ), "a term as /rules prints it, in a list the topic uses"
        assert "Kazaszk*" not in rules_file.read_text().split("lists:")[1].split("topics:")[0]
        assert (await say(harness, ADMIN, "/rmterm csto Nothing"))["text"] == (
            "Refused: <b>CSTO</b> has no term “Nothing” (/rules lists them)."
        )


async def test_test_command_types_and_explains_in_words_without_alerting(
    harness: Harness,
) -> None:
    setup(harness)
    page = (CORPUS / "pages" / "standard_de.html").read_bytes()
    harness.site.route("/article", page, content_type="text/html; charset=utf-8")
    async with harness.running() as service:
        assert "Following" in (await say(harness, USER, "/subscribe kazakhstan"))["text"]
        out = (await say(harness, ADMIN, f"/test {harness.site.url('/article')}"))["text"]
        lines = out.split("\n")
        assert lines[0].startswith(f'🧪 <b><a href="{harness.site.url("/article")}">')
        assert "✅ <b>Kazakhstan</b> matches: Almaty ×4, Tokajew ×3, Kasachstan ×2" in out, out
        assert "✅ <b>CSTO</b> matches: OVKS ×3, Vertrag über kollektive Sicherheit" in lines
        assert "Tokajew" in out
        assert lines[-1] == "It would alert 1 chat. Nobody was alerted: this was a test."
        assert "MATCHED" not in out and "body[" not in out, "words, not the CLI's lines"
        assert harness.telegram.calls("sendChatAction")[0]["action"] == "typing"
        assert harness.site.hits("/article") == 1, "the page itself was fetched and explained"
        await service.pipeline.wait_polls(service.pipeline.polls + 1)
        assert service.store.outbox.counts() == {}, "nothing recorded for the subscriber"


async def test_admin_commands_in_a_group_are_answered_privately(harness: Harness) -> None:
    setup(harness)
    api = harness.telegram
    async with harness.running():
        kw = {"chat_type": "supergroup", "user_id": ADMIN}
        said = await say(harness, GROUP, "/stats", **kw)
        assert said["text"] == "I answered you in our private chat."
        private = [m for m in api.sent if m["chat_id"] == ADMIN]
        assert private[-1]["text"].startswith("<b>newsbot in numbers</b>\nFeeds: 1, 0 failing")
        assert not [m for m in api.sent if m["chat_id"] == GROUP and "Feeds:" in m["text"]]
        api.set_blocked(ADMIN)
        said = await say(harness, GROUP, "/feeds", **kw)
        assert said["text"] == (
            "I cannot write to you privately yet: open a chat with me, press Start, then send "
            "the command again."
        )
        member = await say(harness, GROUP, "/stats", chat_type="supergroup", user_id=USER)
        assert member["text"] == REFUSED


async def test_allow_list_and_chat_migration(harness: Harness) -> None:
    setup(harness, allowed_chats=[USER, -42, -100042])
    async with harness.running() as service:
        assert (await say(harness, 999, "/start"))["text"] == (
            "This is a private newsbot instance; ask its admin to add this chat."
        )
        assert (await say(harness, 999, "/start", language_code="de"))["text"] == (
            "Dies ist eine private newsbot-Instanz; bitten Sie ihren Admin, diesen Chat "
            "freizuschalten."
        )
        assert "Following" in (await say(harness, USER, "/subscribe csto"))["text"]
        stats = (await say(harness, ADMIN, "/stats"))["text"]
        assert stats.startswith("<b>newsbot in numbers</b>\nFeeds: 1, 0 failing")
        group, supergroup = -42, -100042
        harness.telegram.set_chat_admins(group, [USER])
        joined = await say(harness, group, "/subscribe csto", user_id=USER, chat_type="group")
        assert joined["text"] == "Following <b>CSTO</b> now."
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
