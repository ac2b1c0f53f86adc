"""Reading a page's main text: nothing forgotten between pages, short texts kept."""

from __future__ import annotations

import html

from bot.analysis.page import read_page
from bot.core.models import Article

STORY = [
    "Präsident Kassym-Schomart Tokajew hat am Donnerstag den Abzug der OVKS-Truppen aus "
    "Kasachstan angekündigt, die Anfang Januar auf seine Bitte ins Land gekommen waren.",
    "Die ersten Einheiten sollen binnen zwei Tagen abziehen, der Rest innerhalb von zehn Tagen, "
    "teilte das Präsidialamt in Nur-Sultan mit.",
    "Seit den gewaltsamen Protesten, bei denen Dutzende Menschen starben, gilt in Almaty "
    "weiter eine nächtliche Ausgangssperre.",
]


def page(paragraphs: list[str], title: str = "OVKS beginnt mit dem Abzug") -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        "<!doctype html><html lang='de'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>"
        "<nav><a href='/'>Start</a> <a href='/welt'>Welt</a></nav>"
        f"<main><article><h1>{html.escape(title)}</h1>{body}</article></main>"
        "<footer>Impressum · Datenschutz</footer></body></html>"
    ).encode()


def bare(url: str, content: str = "") -> Article:
    return Article(url, "", "Feed summary.", content, "feed", None, "feed")


def test_a_page_seen_again_under_other_urls_is_read_in_full_every_time() -> None:
    """Syndicated copies arrive as one page under many URLs; each must keep its text."""
    raw = page(STORY)
    bodies = []
    for n in range(10):
        url = f"https://copy{n}.example/story"
        article, note = read_page(bare(url), raw, url)
        assert note == "", note
        bodies.append(article.body)
    assert all("Tokajew" in b and "Ausgangssperre" in b for b in bodies)
    assert len(set(bodies)) == 1


def test_a_short_text_is_kept_and_matched_with_the_feed_text() -> None:
    short = "Tokajew entlässt die Regierung."  # a wire flash: under 200 characters
    url = "https://news.example/flash"
    article, note = read_page(bare(url, "Feed content: Kasachstan."), page([short]), url)
    assert note == ""
    assert article.text_source == "page"
    assert short in article.body and "Feed content: Kasachstan." in article.body


def test_a_page_with_no_text_at_all_falls_back_to_the_feed() -> None:
    url = "https://news.example/empty"
    feed = bare(url, "Feed content.")
    article, note = read_page(feed, b"<html><body><img src='/a.png'></body></html>", url)
    assert article == feed and "no main text" in note
