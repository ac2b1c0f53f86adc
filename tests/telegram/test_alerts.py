"""Alerts through the real client: every button, forged data, only the chat's topics,
and the chat's language and time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote

import yaml

from bot.core.models import Article, Hit, TopicMatch
from bot.store.schema import outbox
from tests.fakes.telegram_html import html_to_text
from tests.helpers.chat import buttons, keyboard, press, record, say
from tests.helpers.harness import CORPUS, Harness, rss

USER, OTHER, ADMIN = 520, 521, 529
BODY = (
    "Президент Казахстана Касым-Жомарт Токаев заявил в четверг, что миротворцы ОДКБ "
    "покинут страну в течение десяти дней. По его словам, обстановка в Казахстане стабильна."
)


def found_in(body: str) -> list[TopicMatch]:
    def hit(term: str, word: str) -> Hit:
        start = body.index(word)
        return Hit(term, "body", start, start + len(word), word)

    return [
        TopicMatch(
            "kazakhstan",
            "Kazakhstan",
            (hit("Казах*", "Казахстана"), hit("Казах*", "Казахстане")),
        ),
        TopicMatch("csto", "CSTO", (hit("ОДКБ", "ОДКБ"),)),
    ]


def russian_article(url: str, source: str = "Interfax") -> Article:
    return Article(
        url,
        "Миротворцы ОДКБ покидают Казахстан",
        "",
        BODY,
        source,
        datetime(2022, 1, 13, 9, 30, tzinfo=UTC),
        language="ru",
    )


def alerts(h: Harness, chat: int) -> list[dict]:
    return [m for m in h.telegram.sent if m["chat_id"] == chat and keyboard(m)]


async def test_every_button_on_an_alert_and_forged_callback_data(harness: Harness) -> None:
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"], telegram={"admins": [ADMIN]})
    api = harness.telegram
    url = harness.site.url("/article?id=7&lang=ru")
    async with harness.running() as service:
        store = service.store
        await say(harness, USER, "/subscribe kazakhstan")
        await say(harness, OTHER, "/subscribe kazakhstan")
        story = store.stories.create(12345)
        assert record(store, russian_article(url), found_in(BODY), story)
        await service.deliverer.deliver_due()
        [alert] = alerts(harness, USER)
        labels = buttons(alert)
        assert [[b["text"] for b in row] for row in keyboard(alert)] == [
            ["🔕 Mute for a day", "✖ Unsubscribe"],
            ["👎 Not relevant"],
            ["🌐 Read in English"],
        ]
        assert labels["🌐 Read in English"] == (
            f"https://translate.google.com/translate?sl=auto&tl=en&u={quote(url, safe='')}"
        )
        assert "• <b>CSTO</b>" not in alert["text"], "the chat follows Kazakhstan only"
        mid = alert["message_id"]

        muted = await press(harness, USER, labels["🔕 Mute for a day"], mid, edits=1)
        assert re.fullmatch(r"Kazakhstan muted until \w+ \d+, \d\d:\d\d UTC\.", muted["text"])
        assert "kazakhstan" in store.subs.settings_of(USER).muted
        redrawn = buttons(api.edits[-1])
        assert "🔔 Unmute" in redrawn and "🔕 Mute for a day" not in redrawn
        unmuted = await press(harness, USER, redrawn["🔔 Unmute"], mid, edits=1)
        assert unmuted["text"] == "Kazakhstan unmuted."
        assert store.subs.settings_of(USER).muted == {}

        gone = await press(harness, USER, labels["✖ Unsubscribe"], mid, edits=1)
        assert gone["text"] == "No longer following Kazakhstan."
        assert store.subs.topics_of(USER) == []
        back = buttons(api.edits[-1])["➕ Follow again"]
        assert (await press(harness, USER, back, mid, edits=1))["text"] == (
            "Following Kazakhstan now."
        )
        assert store.subs.topics_of(USER) == ["kazakhstan"]

        reported = await press(harness, USER, labels["👎 Not relevant"], mid, edits=1)
        assert reported["text"] == "Thank you: the admins will see that this was not relevant."
        assert "✓ Reported as not relevant" in buttons(api.edits[-1])
        again = await press(harness, USER, labels["👎 Not relevant"], mid)
        assert again["text"] == "Already reported as not relevant."
        [report] = store.feedback.recent()
        assert (report.chat_id, report.user_id, report.url) == (USER, USER, url)
        assert [(t.topic_id, t.term, t.text) for t in report.terms] == [
            ("kazakhstan", "Казах*", "Казахстана")
        ]

        invalid = "This button is not valid. Send /start for fresh ones."
        forged = re.sub(
            r"^am:(\d+):", lambda m: f"am:{int(m[1]) + 1}:", labels["🔕 Mute for a day"]
        )
        assert (await press(harness, USER, forged, mid))["text"] == invalid
        [theirs] = alerts(harness, OTHER)
        copied = await press(harness, OTHER, labels["🔕 Mute for a day"], theirs["message_id"])
        assert copied["text"] == invalid, "a button signed for another chat"
        assert (await press(harness, USER, "toggle:csto", mid))["text"] == invalid
        assert (
            store.subs.settings_of(USER).muted == {} and store.subs.settings_of(OTHER).muted == {}
        )

        copy = record(store, russian_article(url + "&copy", "TASS"), found_in(BODY), story)
        assert copy
        await service.deliverer.deliver_due()
        edit = [e for e in api.edits if e["chat_id"] == OTHER][-1]
        assert edit["text"].endswith(
            f'<i>Also reported by: <a href="{url.replace("&", "&amp;")}&amp;copy">TASS</a></i>'
        )
        assert keyboard(edit) == keyboard(theirs), "the story update keeps the buttons"

        with store.engine.begin() as conn:  # the alert pruned, as retention would
            conn.execute(outbox.delete().where(outbox.c.chat_id == USER))
        stale = await press(harness, USER, labels["🔕 Mute for a day"], mid)
        assert stale["text"] == "This button has expired."

        feedback = (await say(harness, ADMIN, "/feedback"))["text"]
        assert "Terms reported most: <code>Казах*</code> (Kazakhstan) ×1" in feedback
        assert f'<a href="{url.replace("&", "&amp;")}">Миротворцы ОДКБ покидают Казахстан</a>' in (
            feedback
        )
        assert "Kazakhstan: <code>Казах*</code> (“Казахстана”)" in feedback
        stats = (await say(harness, ADMIN, "/stats"))["text"]
        assert "Reported as not relevant: 1 (1 in the last 7 days) — /feedback" in stats


def five_topics(h: Harness) -> None:
    topics = [
        {"id": f"t{n}", "name": f"Topic {n}", "description": f"T{n}", "any": [f"zzword{n}"]}
        for n in range(1, 6)
    ]
    (h.config / "rules.yaml").write_text(yaml.safe_dump({"version": 1, "topics": topics}))


async def test_a_chat_following_2_of_5_matching_topics_sees_only_its_2(
    harness: Harness,
) -> None:
    five_topics(harness)
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    body = " ".join(f"A sentence with zzword{n} in it." for n in range(1, 6))
    found = [
        TopicMatch(
            f"t{n}",
            f"Topic {n}",
            (
                Hit(
                    f"zzword{n}",
                    "body",
                    body.index(f"zzword{n}"),
                    body.index(f"zzword{n}") + 7,
                    "x",
                ),
            ),
        )
        for n in range(1, 6)
    ]
    async with harness.running() as service:
        await say(harness, USER, "/subscribe t2 t4")
        await say(harness, OTHER, "/subscribe t1 t2 t3 t4 t5")
        article = Article("https://n.test/5", "Five topics", "", body, "Feed", None, language="en")
        assert record(service.store, article, found)
        await service.deliverer.deliver_due()
        [mine] = alerts(harness, USER)
        [theirs] = alerts(harness, OTHER)
    lines = [x for x in mine["text"].split("\n") if x.startswith("• ")]
    assert lines == ["• <b>Topic 2</b>: x", "• <b>Topic 4</b>: x"]
    assert [[b["text"] for b in row] for row in keyboard(mine)] == [
        ["🔕 Topic 2 · 1 day", "✖ Topic 2"],
        ["🔕 Topic 4 · 1 day", "✖ Topic 4"],
        ["👎 Not relevant"],
    ], "no translation button: the article is in the chat's language"
    assert len([x for x in theirs["text"].split("\n") if x.startswith("• ")]) == 5
    assert "<b>zzword2</b>" in mine["text"] and "<b>zzword1</b>" not in mine["text"]


CHATS = {
    601: ("en", "America/New_York"),
    602: ("de", "Europe/Berlin"),
    603: ("ru", "Europe/Moscow"),
    604: ("kk", "Asia/Almaty"),
}
META = {
    601: "Feed /f.xml · German · Jan 13, 2022, 04:30 EST",
    602: "Feed /f.xml · Deutsch · 13. Jan. 2022, 10:30 CET",
    603: "Feed /f.xml · немецкий · 13 янв. 2022\u202fг., 12:30 MSK",
    604: "Feed /f.xml · неміс тілі · 2022\u202fж. 13 қаң., 15:30 UTC+6",
}
BUTTONS = {
    601: [["🔕 Mute for a day", "✖ Unsubscribe"], ["👎 Not relevant"], ["🌐 Read in English"]],
    602: [["🔕 Einen Tag stumm", "✖ Abbestellen"], ["👎 Nicht relevant"]],
    603: [["🔕 Скрыть на день", "✖ Отписаться"], ["👎 Не по теме"], ["🌐 Читать по-русски"]],
    604: [
        ["🔕 Бір күнге өшіру", "✖ Жазылымнан шығу"],
        ["👎 Тақырыпқа қатысы жоқ"],
        ["🌐 Қазақша оқу"],
    ],
}


async def test_an_alert_in_each_of_four_languages_in_each_chats_time_zone(
    harness: Harness,
) -> None:
    site = harness.site
    site.route("/f.xml", rss([]), etag='"1"')
    page = (CORPUS / "pages" / "standard_de.html").read_bytes()
    site.route("/article/1", page, content_type="text/html; charset=utf-8")
    harness.write(["/f.xml"])
    feeds = yaml.safe_load((harness.config / "feeds.yaml").read_text())
    feeds["feeds"][0]["language"] = "de"
    (harness.config / "feeds.yaml").write_text(yaml.safe_dump(feeds))
    async with harness.running() as service:
        await service.pipeline.wait_polls(1)  # the empty feed's first sight
        for chat, (lang, zone) in CHATS.items():
            await say(harness, chat, f"/language {lang}")
            await say(harness, chat, f"/timezone {zone}")
            await say(harness, chat, "/subscribe kazakhstan")
        item = {
            "title": "OVKS beginnt Truppenabzug aus Kasachstan",
            "link": site.url("/article/1"),
            "description": "Abzug nach Unruhen",
            "date": datetime(2022, 1, 13, 9, 30, tzinfo=UTC),
        }
        site.route("/f.xml", rss([item]), etag='"2"')
        await harness.wait_sent(lambda a: all(alerts(harness, c) for c in CHATS), timeout=30)
    for chat in CHATS:
        [alert] = alerts(harness, chat)
        lines = alert["text"].split("\n")
        html_to_text(alert["text"])
        link = site.url("/article/1")
        assert lines[0] == f'<b><a href="{link}">OVKS beginnt Truppenabzug aus Kasachstan</a></b>'

        assert lines[1] == META[chat]
        assert lines[3].startswith("• <b>Kazakhstan</b>: Kasachstan")
        assert [[b["text"] for b in row] for row in keyboard(alert)] == BUTTONS[chat]
        quote = alert["text"].split("\n\n")[2]
        assert "<b>Almaty</b>" in quote and "<b>Nursultan Nasarbajew</b>" in quote, "hits bold"
    read = keyboard(alerts(harness, 603)[0])[2][0]["url"]
    assert read.startswith("https://translate.google.com/translate?sl=auto&tl=ru&u=http%3A%2F%2F")
