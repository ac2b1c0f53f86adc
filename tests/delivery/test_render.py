"""Alert formatting: escaped, bounded, highlighted."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.core.message import MESSAGE_LIMIT
from bot.core.models import Article, Hit, TopicMatch
from bot.delivery.render import render_alert
from tests.helpers.chat import visible


def test_alert_has_link_source_time_topics_and_highlighted_snippet() -> None:
    body = "Lange Einleitung. Präsident Tokajew sprach am Donnerstag."
    hit = Hit("Tokajew*", "body", 28, 35, "Tokajew")
    article = Article(
        "https://n.test/a?x=1&y=2",
        "Abzug <b>aus</b> Kasachstan",
        "",
        body,
        "Der Standard",
        datetime(2022, 1, 13, 9, 30, tzinfo=UTC),
    )
    text = render_alert(article, [TopicMatch("tokayev", "Tokayev", (hit,))], {"tokayev"})
    assert (
        '<a href="https://n.test/a?x=1&amp;y=2">Abzug &lt;b&gt;aus&lt;/b&gt; Kasachstan</a>' in text
    )
    assert "Der Standard · 2022-01-13 09:30 UTC" in text
    assert "• <b>Tokayev</b>: Tokajew" in text
    assert "Präsident <b>Tokajew</b> sprach" in text


def test_hostile_and_huge_text_stays_valid_and_short() -> None:
    title = "<script>&amp;" * 1000  # 13 kB
    body = ("x & <y> " * 2000) + "Tokajew" + (" *_[md]_* " * 2000)
    start = body.index("Tokajew")
    hits = tuple(Hit("t", "body", start, start + 7, "Tokajew") for _ in range(50))
    found = [TopicMatch(f"t{i}", "T" * 500, hits) for i in range(40)]
    article = Article("javascript:alert(1)", title, "s" * 10_000, body, "S" * 5000, None, "feed")
    text = render_alert(article, found, set())
    assert len(visible(text)) < MESSAGE_LIMIT
    assert "javascript:" not in text and "<script>" not in text
    assert re.sub(r"</?(b|i|a)( href=\"[^\"]*\")?>", "", text).count("<") == 0
    assert "feed's own text" in text


def test_an_item_without_a_link_says_so() -> None:
    hit = Hit("Kasachstan", "title", 0, 10, "Kasachstan")
    article = Article("", "Kasachstan heute", "", "", "Blog", None, "feed")
    text = render_alert(article, [TopicMatch("kazakhstan", "Kazakhstan", (hit,))], set())
    assert "<a href" not in text
    assert "the item has no link" in text
