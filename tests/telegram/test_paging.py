"""Long lists are paged with ‹ › buttons: /topics with 60 topics, /rules of a 20 kB file."""

from __future__ import annotations

import re

import yaml

from bot.core.message import MESSAGE_LIMIT
from tests.fakes.telegram_html import html_to_text
from tests.helpers.chat import buttons, press, say
from tests.helpers.harness import Harness, rss

USER = 510
ADMIN = 511


def sixty_topics(h: Harness) -> list[dict]:
    topics = [
        {
            "id": f"t{n:02d}",
            "name": f"Topic {n:02d}",
            "description": f"Topic {n:02d} 🇰🇿 <watch> & follow: " + "news from the region " * 30,
            "any": [f"zzterm{n:02d}", f"re:zz{n:02d}[a-z]+"],
            "exclude": [f"zzterm{n:02d} weather"],
            "min_hits": 1 + n % 3,
        }
        for n in range(60)
    ]
    lists = {"shared": [f"Shared term {k}*" for k in range(200)]}
    topics[0]["any"].append("@shared")
    topics[1]["all"] = [["topic:t00"], ["@shared"]]
    (h.config / "rules.yaml").write_text(
        yaml.safe_dump({"version": 1, "lists": lists, "topics": topics}, allow_unicode=True)
    )
    return topics


def check_page(message: dict) -> str:
    """A page as the user sees it: valid HTML (the fake refuses others), under the limit."""
    shown = html_to_text(message["text"])
    assert len(shown.encode("utf-16-le")) // 2 <= MESSAGE_LIMIT
    return shown


async def walk(h: Harness, chat: int, first: dict) -> list[str]:
    """Every page of a paged list, pressing › until there is none; what each showed."""
    pages, message = [check_page(first)], first
    while "Next ›" in buttons(message):
        await press(h, chat, buttons(message)["Next ›"], first["message_id"], edits=1)
        message = h.telegram.edits[-1]
        pages.append(check_page(message))
    return pages


async def test_sixty_topics_are_paged_with_their_buttons(harness: Harness) -> None:
    topics = sixty_topics(harness)
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    async with harness.running() as service:
        first = await say(harness, USER, "/topics")
        assert first["text"].startswith("<b>Topics</b> · page 1 of 8\n\n<b>Topic 00</b>")
        assert list(buttons(first))[:8] == [f"➕ Topic {n:02d}" for n in range(8)]
        assert list(buttons(first))[8:] == ["1 / 8", "Next ›"]
        pages = await walk(harness, USER, first)
        assert len(pages) == 8
        for topic in topics:
            name = f"Topic {topic['id'][1:]} ("
            assert sum(name in p for p in pages) == 1, "every topic on exactly one page"
        assert all(p.count("…") for p in pages), "long descriptions cut with …"
        last = harness.telegram.edits[-1]
        assert list(buttons(last))[-2:] == ["‹ Back", "8 / 8"]
        await press(harness, USER, buttons(last)["➕ Topic 59"], first["message_id"], edits=1)
        assert service.store.subs.topics_of(USER) == ["t59"]
        assert "✅ Topic 59" in buttons(harness.telegram.edits[-1]), "the same page, redrawn"
        back = await press(harness, USER, buttons(last)["‹ Back"], first["message_id"], edits=1)
        assert back.get("text") is None
        assert harness.telegram.edits[-1]["text"].startswith("<b>Topics</b> · page 7 of 8")


async def test_a_20_kb_rules_file_is_paged_with_every_part_of_every_topic(
    harness: Harness,
) -> None:
    topics = sixty_topics(harness)
    assert (harness.config / "rules.yaml").stat().st_size > 20_000
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"], telegram={"admins": [ADMIN]})
    async with harness.running():
        first = await say(harness, ADMIN, "/rules")
        total = int(re.search(r"page 1 of (\d+)", first["text"])[1])
        pages = await walk(harness, ADMIN, first)
    assert len(pages) == total > 5
    text = "\n".join(pages)
    for topic in topics:
        assert f"{topic['name']} ({topic['id']})" in text
        assert f"any: zzterm{topic['id'][1:]}, re:zz{topic['id'][1:]}[a-z]+" in text
        assert f"exclude: zzterm{topic['id'][1:]} weather" in text
    assert "all: (1) topic:t00 · (2) @shared" in text
    assert "min_hits: 3" in text
    assert "@shared · list used by t00, t01" in text
    assert all(f"Shared term {k}*" in text for k in range(200)), "the 200-term list, whole"
