"""Canonical URLs and the canonicals pages declare."""

from __future__ import annotations

import pytest

from bot.ingest.canonical import canonical_from_html, canonical_url, related_hosts

STORY = "https://example.com/world/2022/01/13/csto-troops-leave-kazakhstan"


@pytest.mark.parametrize(
    "variant",
    [
        STORY,
        "HTTPS://Example.COM:443/world/2022/01/13/csto-troops-leave-kazakhstan",
        STORY + "#comments",
        STORY + "/",
        STORY + "?utm_source=rss&utm_medium=feed&utm_campaign=world",
        STORY + "?fbclid=IwAR0abc&gclid=xyz&dclid=1&msclkid=2&yclid=3&igshid=4",
        STORY + "?mc_cid=1a&mc_eid=2b&_ga=2.1.3&ref=twitter&ref_src=twsrc%5Etfw",
        STORY + "?cmpid=rss&at_medium=RSS&at_campaign=KARANGA&__twitter_impression=true",
        STORY + "?UTM_Source=Newsletter",
        STORY + "?amp=1",
        STORY + "?outputType=amp",
        STORY + "/amp",
        STORY + "/amp/",
        "https://example.com/amp/world/2022/01/13/csto-troops-leave-kazakhstan",
        "https://www.example.com/world/2022/01/13/csto-troops-leave-kazakhstan",
        "https://m.example.com/world/2022/01/13/csto-troops-leave-kazakhstan",
        "https://mobile.example.com/world/2022/01/13/csto-troops-leave-kazakhstan",
        "https://amp.example.com/world/2022/01/13/csto-troops-leave-kazakhstan?amp",
        "  " + STORY + "\n",
    ],
)
def test_variants_of_one_article_share_one_canonical_url(variant: str) -> None:
    assert canonical_url(variant) == STORY


def test_meaningful_parts_are_kept() -> None:
    assert canonical_url("https://example.com/story?id=42&page=2") == (
        "https://example.com/story?id=42&page=2"
    )
    # Kept parameters are sorted by key, stably, with their original encoding.
    assert canonical_url("https://example.com/s?z=1&b=%C3%A4&a=2&b=1&utm_x=y") == (
        "https://example.com/s?a=2&b=%C3%A4&b=1&z=1"
    )
    assert canonical_url("http://example.com:8080/a") == "http://example.com:8080/a"
    assert canonical_url("http://example.com:80/") == "http://example.com/"
    assert canonical_url("https://example.com") == "https://example.com/"
    assert canonical_url("https://example.com/news/page.amp.html") == (
        "https://example.com/news/page.html"
    )
    assert canonical_url("https://example.com/news/world-59971234.amp") == (
        "https://example.com/news/world-59971234"
    )
    # "amp" inside a word, a meaningful amp= value and m. alone are not AMP markers.
    assert canonical_url("https://example.com/ampere/camp") == "https://example.com/ampere/camp"
    assert canonical_url("https://example.com/a?amp=tuesday") == "https://example.com/a?amp=tuesday"
    assert canonical_url("https://m.com/x") == "https://m.com/x"
    assert canonical_url("http://[::1]:8080/a#x") == "http://[::1]:8080/a"


def test_non_http_strings_come_back_unchanged() -> None:
    for value in ("urn:uuid:1234", "tag:example.com,2022:1", "mailto:a@example.com", "", "x"):
        assert canonical_url(value) == value
    assert canonical_url("http://example.com:99999/") == "http://example.com:99999/"


def test_related_hosts_means_same_site() -> None:
    assert related_hosts("www.example.com", "example.com")
    assert related_hosts("edition.example.com", "www.example.com")
    assert related_hosts("www.bbc.co.uk", "m.bbc.co.uk")
    assert not related_hosts("example.com", "evil-example.com")
    assert not related_hosts("example.com", "example.org")
    assert not related_hosts("bbc.co.uk", "co.uk")  # a public suffix is not a parent
    assert not related_hosts("a.example.com", "b.example.com")


def page_bytes(head: bytes) -> bytes:
    return b"<!doctype html><html><head>" + head + b"</head><body><p>Text</p></body></html>"


def page(head: str) -> bytes:
    return page_bytes(head.encode())


def test_rel_canonical_is_read_resolved_and_normalised() -> None:
    base = "https://amp.example.com/world/story-1.amp.html?utm_source=tw"
    html = page('<link rel="canonical" href="/world/story-1.html?utm_medium=x">')
    assert canonical_from_html(html, base) == "https://example.com/world/story-1.html"
    multi_rel = page('<LINK REL="Canonical Alternate" HREF="https://www.example.com/a">')
    assert canonical_from_html(multi_rel, base) == "https://example.com/a"


def test_og_url_is_the_fallback_and_canonical_wins() -> None:
    base = "https://news.example.com/a?ref=rss"
    og = '<meta property="og:url" content="https://news.example.com/og-a">'
    assert canonical_from_html(page(og), base) == "https://news.example.com/og-a"
    both = og + '<link rel="canonical" href="https://news.example.com/canon-a">'
    assert canonical_from_html(page(both), base) == "https://news.example.com/canon-a"


def test_foreign_and_non_http_canonicals_are_refused() -> None:
    base = "https://news.example.com/a"
    for head in (
        '<link rel="canonical" href="https://victim.example.org/their-story">',
        '<link rel="canonical" href="https://example.com.evil.net/x">',
        '<link rel="canonical" href="javascript:alert(1)">',
        '<link rel="canonical" href="ftp://news.example.com/a">',
        '<link rel="canonical" href="">',
        '<link rel="stylesheet" href="https://news.example.com/style.css">',
        '<meta name="og:url" content="https://news.example.com/b">',  # property, not name
    ):
        assert canonical_from_html(page(head), base) is None, head
    # A foreign canonical is skipped, and a valid og:url still counts.
    mixed = (
        '<link rel="canonical" href="https://victim.example.org/x">'
        '<meta property="og:url" content="https://example.com/a">'
    )
    assert canonical_from_html(page(mixed), base) == "https://example.com/a"


def test_broken_pages_give_none() -> None:
    base = "https://example.com/a"
    assert canonical_from_html(b"", base) is None
    assert canonical_from_html(b"   \n", base) is None
    assert canonical_from_html(b"<!-- only a comment -->", base) is None
    assert canonical_from_html(b"\x00\xff\xfe garbage", base) is None


def test_page_encodings_are_respected() -> None:
    base = "https://example.com/a"
    head = '<link rel="canonical" href="/caf\xe9">'
    assert canonical_from_html(page(head), base) == "https://example.com/caf\xe9"  # UTF-8
    latin1 = f'<meta charset="iso-8859-1">{head}'.encode("latin-1")
    assert canonical_from_html(page_bytes(latin1), base) == "https://example.com/caf\xe9"
