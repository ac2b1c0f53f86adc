"""Alert formatting: the chat's topics only, its language and zone, a snippet that reads well."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.core.message import MESSAGE_LIMIT
from bot.core.models import Article, Hit, TopicMatch
from bot.delivery.render import View, render_alert, with_outlets
from bot.delivery.snippet import skip_title, snippet, snippet_line
from tests.fakes.telegram_html import html_to_text

TITLE = "OVKS beginnt mit Truppenabzug aus Kasachstan"
BODY = (
    f"{TITLE} Die Soldaten der von Russland geführten Organisation des Vertrags über "
    "kollektive Sicherheit sollen innerhalb von zehn Tagen abziehen. Das sagte Präsident "
    "Tokajew am Donnerstag in Nur-Sultan. Die Lage in Kasachstan sei stabil, hieß es aus "
    "dem Präsidialamt. Ein letzter Satz ohne jeden Treffer beschließt den Text."
)
WHEN = datetime(2022, 1, 13, 9, 30, tzinfo=UTC)


def hits(text: str, field: str, *terms: str) -> tuple[Hit, ...]:
    return tuple(
        Hit(term, field, m.start(), m.end(), m[0])
        for term in terms
        for m in re.finditer(re.escape(term), text)
    )


def article(**kw: object) -> Article:
    values = dict(
        url="https://n.test/a?x=1&y=2",
        title=TITLE,
        summary="",
        body=BODY,
        source="Der Standard",
        published=WHEN,
        language="de",
    )
    values.update(kw)
    return Article(**values)  # type: ignore[arg-type]


FOUND = [
    TopicMatch("kazakhstan", "Kazakhstan", hits(BODY, "body", "Kasachstan", "Nur-Sultan")),
    TopicMatch("csto", "CSTO", hits(BODY, "body", "OVKS")),
    TopicMatch("tokayev", "Tokayev", hits(BODY, "body", "Tokajew")),
]


def test_alert_has_linked_title_source_language_time_and_only_the_chats_topics() -> None:
    view = View(frozenset({"kazakhstan", "tokayev"}), "en", "Asia/Almaty")
    text = render_alert(article(), FOUND, view, now=datetime(2023, 1, 1, tzinfo=UTC))
    lines = text.split("\n")
    assert lines[0] == f'<b><a href="https://n.test/a?x=1&amp;y=2">{TITLE}</a></b>'
    assert lines[1] == "Der Standard · German · Jan 13, 2022, 15:30 UTC+6"
    assert "• <b>Kazakhstan</b>: Kasachstan, Nur-Sultan" in lines
    assert "• <b>Tokayev</b>: Tokajew" in lines
    assert not [x for x in lines if x.startswith("• <b>CSTO")], "a topic it does not follow"
    html_to_text(text)  # valid Telegram HTML


def test_the_snippet_is_the_sentences_with_the_hits_every_hit_bold_never_the_title() -> None:
    quote = snippet(article(), [m.hits for m in FOUND[:1] + FOUND[2:]])
    assert quote == (
        "Das sagte Präsident <b>Tokajew</b> am Donnerstag in <b>Nur-Sultan</b>. "
        "Die Lage in <b>Kasachstan</b> sei stabil, hieß es aus dem Präsidialamt."
    )
    assert TITLE not in quote
    assert skip_title(BODY, TITLE) == len(TITLE) + 1
    assert skip_title(BODY, "Something else entirely") == 0


def test_a_long_sentence_is_cut_at_word_boundaries_around_its_hits() -> None:
    body = "Anfang " + "lange Worte reihen sich " * 30 + "bis Tokajew sprach " + "weiter " * 60
    a = article(body=body, title="T")
    quote = snippet(a, [hits(body, "body", "Tokajew")])
    shown = html_to_text(quote)
    assert "<b>Tokajew</b>" in quote and shown.startswith("…") and shown.endswith("…")
    words = set(body.split())
    assert all(w in words for w in shown.strip("…").split()), "no word cut in two"
    assert len(shown) <= 322
    line = snippet_line(a, [hits(body, "body", "Tokajew")])
    assert "Tokajew" in line and len(line) <= 162 and "<" not in line


def test_a_title_only_match_quotes_the_lead_without_repeating_the_title() -> None:
    title_hit = TopicMatch("kazakhstan", "Kazakhstan", hits(TITLE, "title", "Kasachstan"))
    text = render_alert(article(), [title_hit], View(frozenset({"kazakhstan"})))
    quote = text.split("\n\n")[-1]
    assert quote.startswith("Die Soldaten der von Russland geführten")
    assert "<b>" not in quote and TITLE not in quote


@pytest.mark.parametrize(
    ("lang", "zone", "meta", "note"),
    [
        ("en", "America/New_York", "Der Standard · German · Jan 13, 2022, 04:30 EST", "feed's own"),
        ("de", "Europe/Berlin", "Der Standard · Deutsch · 13. Jan. 2022, 10:30 CET", "Feed"),
        (
            "ru",
            "Europe/Moscow",
            "Der Standard · немецкий · 13 янв. 2022\u202fг., 12:30 MSK",
            "ленты",
        ),
        (
            "kk",
            "Asia/Almaty",
            "Der Standard · неміс тілі · 2022\u202fж. 13 қаң., 15:30 UTC+6",
            "арна",
        ),
    ],
)
def test_fixed_words_and_time_follow_the_chat(lang: str, zone: str, meta: str, note: str) -> None:
    a = article(text_source="feed")
    text = render_alert(a, FOUND, View(None, lang, zone), now=datetime(2023, 6, 1, tzinfo=UTC))
    assert text.split("\n")[1] == meta
    assert note in text.split("\n")[-1]


def test_also_reported_by_names_the_outlets_as_links_in_the_chats_language() -> None:
    also = [("Reuters", "https://r.test/1"), ("Bad <Outlet>", "javascript:x")]
    text = with_outlets("<b>alert</b>", also, "de")
    assert text.endswith(
        '<i>Auch berichtet von: <a href="https://r.test/1">Reuters</a>, Bad &lt;Outlet&gt;</i>'
    )
    assert with_outlets("x", [], "en") == "x"
    many = with_outlets("x", [(f"O{n}", f"https://o.test/{n}") for n in range(14)], "en")
    assert many.endswith("O9</a>, 4 more</i>")


def test_hostile_and_huge_text_stays_valid_and_short() -> None:
    title = "<script>&amp;" * 1000  # 13 kB
    body = ("x & <y> " * 2000) + "Tokajew" + (" *_[md]_* " * 2000)
    start = body.index("Tokajew")
    many = tuple(Hit("t", "body", start, start + 7, "Tokajew") for _ in range(50))
    found = [TopicMatch(f"t{i}", "T" * 500, many) for i in range(40)]
    a = Article("javascript:alert(1)", title, "s" * 10_000, body, "S" * 5000, None, "feed")
    text = render_alert(a, found, View())
    assert len(html_to_text(text)) < MESSAGE_LIMIT
    assert "javascript:" not in text and "<script>" not in text
    assert re.sub(r"</?(b|i|a)( href=\"[^\"]*\")?>", "", text).count("<") == 0
    assert "feed's own text" in text


def test_an_item_without_a_link_says_so() -> None:
    hit = Hit("Kasachstan", "title", 0, 10, "Kasachstan")
    article = Article("", "Kasachstan heute", "", "", "Blog", None, "feed")
    text = render_alert(article, [TopicMatch("kazakhstan", "Kazakhstan", (hit,))], View())
    assert "<a href" not in text
    assert "the item has no link" in text


def test_hits_next_to_each_other_are_one_bold_run() -> None:
    body = "Der Präsident Kassym-Jomart Tokajew sprach. Sonst nichts."
    found = hits(body, "body", "Kassym-Jomart", "Tokajew")
    assert snippet(article(body=body, title="T"), [found]) == (
        "Der Präsident <b>Kassym-Jomart Tokajew</b> sprach. Sonst nichts."
    )


def test_the_snippet_speaks_to_every_topic_the_chat_follows_when_one_sentence_can() -> None:
    filler = "Lange blieb unklar, wer die Kundgebungen organisierte und warum sie so rasch " * 3
    body = (
        f"Die Proteste griffen auf Aktau, Almaty und Schymkent über. {filler.strip()}. "
        "Tokajew rief die OVKS zu Hilfe."
    )
    kazakhstan = hits(body, "body", "Aktau", "Almaty", "Schymkent", "Tokajew")
    csto = hits(body, "body", "OVKS")
    quote = snippet(article(body=body, title="T"), [kazakhstan, csto])
    assert "<b>Tokajew</b> rief die <b>OVKS</b> zu Hilfe." in quote and "Aktau" not in quote
    only_kazakhstan = snippet(article(body=body, title="T"), [kazakhstan])
    assert only_kazakhstan.startswith("Die Proteste griffen auf <b>Aktau</b>")
    assert "OVKS" not in only_kazakhstan
