"""Markup no real feed has is refused before feedparser; poisonous references are defused.

The refusals are cheap scans (feedparser's own cost on the same input grows with
the square of the attributes on one tag, and steeply with nesting and items). Every
file of the real-world corpus and the feedparser fixtures passes them (checked by
``test_real_feeds_pass``, which skips without ``../shared``).
"""

from __future__ import annotations

import gzip
import json

import pytest

from bot.core.errors import ParseError
from bot.ingest import hostile
from bot.ingest.parse import MAX_ENTRIES, parse_feed
from bot.store.items import key_hash
from tests.helpers.corpora import SHARED

URL = "https://news.example/feed.xml"
HEAD = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
TAIL = b"</channel></rss>"


def feed(*items: bytes) -> bytes:
    return HEAD + b"".join(b"<item>" + i + b"</item>" for i in items) + TAIL


def attributes(n: int) -> bytes:
    return b" ".join(b'a%d="x"' % i for i in range(n))


def test_a_tag_with_sixty_thousand_attributes_is_refused() -> None:
    body = HEAD + b"<item " + attributes(60_000) + b"><title>x</title></item>" + TAIL
    with pytest.raises(ParseError, match="one tag has 60000 attributes") as err:
        parse_feed(body, URL)
    assert err.value.kind == "hostile_markup"


def test_ten_megabytes_of_nested_divs_are_refused() -> None:
    depth = 1_000_000
    body = feed(b"<title>x</title><description>" + b"<div>" * depth + b"</div>" * depth)
    with pytest.raises(ParseError, match="nest deeper than 1000 levels"):
        parse_feed(body, URL)


def test_nesting_escaped_into_a_text_field_counts_too() -> None:
    depth = 5000
    body = feed(b"<title>x</title><description>" + b"&lt;div&gt;" * depth + b"</description>")
    with pytest.raises(ParseError, match="nest deeper"):
        parse_feed(body, URL)


def test_two_hundred_thousand_items_are_refused() -> None:
    with pytest.raises(ParseError, match="it lists 200000 items"):
        parse_feed(feed(*[b"<title>x</title>"] * 200_000), URL)


def test_a_long_feed_is_read_up_to_its_first_thousand_items() -> None:
    items = [
        b"<title>item %d</title><link>https://news.example/%d</link>" % (i, i) for i in range(1500)
    ]
    parsed = parse_feed(feed(*items), URL)
    assert len(parsed.entries) == MAX_ENTRIES
    assert parsed.entries[0].title == "item 0"
    assert "1500 items listed, only the first 1000 read" in (parsed.warning or "")


def test_real_world_html_nests_shallow_however_long_the_feed() -> None:
    """Unclosed <p>, <li> and <td> in every item never add up to a refusal."""
    html = b"&lt;table&gt;" + b"&lt;tr&gt;&lt;td&gt;cell" * 300 + b"&lt;p&gt;para&lt;li&gt;x" * 300
    parsed = parse_feed(
        feed(*[b"<title>t</title><description>" + html + b"</description>"] * 50), URL
    )
    assert len(parsed.entries) == 1  # the same item 50 times is one item


@pytest.mark.parametrize("ref", ["&#xD800;", "&#55296;", "&#0;", "&#1;", "&#x110000;", "&#xFFFE;"])
def test_a_reference_to_a_forbidden_character_costs_that_character_only(ref: str) -> None:
    body = feed(
        f"<title>Tokayev {ref} visits</title><link>https://news.example/1</link>".encode(),
        b"<title>Second item</title><link>https://news.example/2</link>",
    )
    parsed = parse_feed(body, URL)
    assert [e.title for e in parsed.entries] == ["Tokayev \ufffd visits", "Second item"]


def test_raw_control_characters_and_surrogates_never_reach_the_entries() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {
                "id": "a\ud800b",
                "url": "https://news.example/\u0000x",
                "title": "NUL\u0000 and \udfff here",
            },
            {"id": "2", "title": "fine"},
        ],
    }
    body = json.dumps(doc).encode()  # json escapes them as \u0000 and \ud800
    parsed = parse_feed(body, URL, "application/feed+json")
    first = parsed.entries[0]
    assert first.title == "NUL and here"
    assert first.link == "https://news.example/x"
    for entry in parsed.entries:
        for key in entry.identity:
            key.encode("utf-8")  # storable as it is
            key_hash(key)


def real_feeds() -> list:
    roots = [SHARED / "corpora" / "realworld" / "feeds", SHARED / "corpora" / "feedparser-fixtures"]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*") if p.is_file())


@pytest.mark.slow
def test_real_feeds_pass() -> None:
    files = real_feeds()
    if not files:
        pytest.skip(f"no corpora under {SHARED}")
    for path in files:
        data = path.read_bytes()
        body = gzip.decompress(data) if path.suffix == ".gz" else data
        if path.name.endswith((".json.bin.gz", ".json")):
            continue  # JSON feeds are not feedparser's: the checks do not apply
        hostile.refuse_pathological(body, str(path))
