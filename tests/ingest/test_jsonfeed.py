"""JSON Feed 1.0 and 1.1 into ParsedFeed/Entry, and the clear errors when it is not one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.errors import ParseError
from bot.core.models import Entry
from bot.ingest.jsonfeed import looks_like_json_feed, parse_date, parse_json_feed
from bot.store import Store

URL = "https://news.example/feed.json"


def feed(items: list[Any], version: str = "https://jsonfeed.org/version/1.1", **top: Any) -> bytes:
    return json.dumps({"version": version, "title": "Steppe Daily", "items": items, **top}).encode()


def test_a_json_feed_1_1_becomes_entries() -> None:
    body = feed(
        [
            {
                "id": "https://news.example/?p=2201",
                "url": "https://news.example/2022/01/13/csto-withdrawal",
                "title": "CSTO   troops\nbegin withdrawal",
                "summary": "First units <b>leave</b> Almaty.",
                "content_html": "<p>Russian-led troops began leaving <em>Kazakhstan</em>.</p>",
                "content_text": "ignored when content_html is there",
                "date_published": "2022-01-13T16:30:00+06:00",
                "date_modified": "2022-01-13T18:00:00+06:00",
                "authors": [{"name": "Desk"}],
                "tags": ["Kazakhstan", "CSTO"],
            }
        ],
        home_page_url="https://news.example/",
    )
    parsed = parse_json_feed(body, URL)
    assert parsed.title == "Steppe Daily" and parsed.warning is None
    (entry,) = parsed.entries
    assert entry == Entry(
        key="guid:https://news.example/?p=2201",
        link="https://news.example/2022/01/13/csto-withdrawal",
        title="CSTO troops begin withdrawal",
        summary="First units leave Almaty.",
        published=datetime(2022, 1, 13, 10, 30, tzinfo=UTC),
        content="Russian-led troops began leaving Kazakhstan.",
        keys=("guid:https://news.example/?p=2201",),
    )


def test_a_json_feed_1_0_with_external_url_text_and_numeric_id() -> None:
    body = feed(
        [
            {
                "id": 1001,
                "external_url": "/world/tokayev-names-pm",
                "content_text": "Tokayev   named Alikhan Smailov\nprime minister.",
                "date_modified": "2022-01-11T09:00:00Z",
            }
        ],
        version="https://jsonfeed.org/version/1",
    )
    (entry,) = parse_json_feed(body, URL).entries
    assert entry.key == "guid:1001"  # the same identity rule as RSS and Atom items
    assert entry.link == "https://news.example/world/tokayev-names-pm"  # resolved
    assert entry.content == "Tokayev named Alikhan Smailov prime minister."
    assert entry.title == "" and entry.summary == ""
    assert entry.published == datetime(2022, 1, 11, 9, 0, tzinfo=UTC)


def test_keys_fall_back_from_id_to_url_to_a_content_hash() -> None:
    items = [
        {"id": "  ", "url": "https://news.example/a", "title": "A"},
        {"title": "No id, no url", "content_text": "Just text."},
        {"title": "No id, no url", "content_text": "Just text."},
        {"id": True, "url": "https://news.example/b"},  # a boolean is not an id
    ]
    entries = parse_json_feed(feed(items), URL).entries
    assert [e.key for e in entries] == [
        "url:https://news.example/a",
        entries[1].key,  # the two identical items are one
        "url:https://news.example/b",
    ]
    assert entries[1].key.startswith("item:")
    assert entries[0].keys == ("url:https://news.example/a",)


def test_items_stored_under_the_old_json_feed_keys_are_not_new(tmp_path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store.feeds.sync([("https://news.example/feed.json", "F", None, None)])
    (feed_id,) = [f.id for f in store.feeds.active()]
    items = [
        {"id": "a-1", "title": "Old"},
        {"url": "https://news.example/b", "title": "Old too"},
        {"title": "Third", "content_text": "Only text."},
        {"id": "new-1", "title": "New"},
    ]
    assert all(e.aliases == () for e in parse_json_feed(feed(items), URL).entries)
    entries = parse_json_feed(feed(items), URL, legacy=True).entries
    assert entries[0].aliases[-1] == "a-1" and entries[1].aliases[-1] == "https://news.example/b"
    assert entries[2].aliases[-1].startswith("sha256:")
    old = [Entry(e.aliases[-1], e.link, e.title, "", None) for e in entries[:3]]
    store.items.mark_seen(feed_id, old)  # as newsbot 0.1 recorded them
    found = store.items.triage(feed_id, entries, legacy=True)
    assert [e.title for e in found.new] == ["New"]
    assert [e.title for e in found.adopted] == ["Old", "Old too", "Third"]
    store.close()


def test_unusable_items_are_skipped_with_a_warning() -> None:
    body = feed([{"id": "1", "title": "ok"}, "not an object", {}, {"date_published": "x"}])
    parsed = parse_json_feed(body, URL)
    assert [e.key for e in parsed.entries] == ["guid:1"]
    assert parsed.warning == "3 unusable item(s) skipped"


def test_an_unknown_future_version_is_read_with_a_warning() -> None:
    parsed = parse_json_feed(feed([{"id": "1"}], version="https://jsonfeed.org/version/2"), URL)
    assert len(parsed.entries) == 1
    assert "unknown JSON Feed version 'https://jsonfeed.org/version/2'" in (parsed.warning or "")


def test_an_empty_feed_is_valid() -> None:
    parsed = parse_json_feed(feed([]), URL)
    assert parsed.entries == () and parsed.warning is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-01-13T10:30:00Z", datetime(2022, 1, 13, 10, 30, tzinfo=UTC)),
        ("2022-01-13T13:30:00.123+03:00", datetime(2022, 1, 13, 10, 30, 0, 123000, tzinfo=UTC)),
        ("2022-01-13T10:30:00", datetime(2022, 1, 13, 10, 30, tzinfo=UTC)),  # no offset: UTC
        ("2022-01-13", datetime(2022, 1, 13, tzinfo=UTC)),
        ("Thu, 13 Jan 2022 10:30:00 GMT", None),  # RFC 822 is not what the spec allows
        ("yesterday", None),
        ("", None),
        (1642069800, None),
        (None, None),
    ],
)
def test_dates_become_aware_utc_or_none(value: Any, expected: datetime | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "not valid JSON"),
        (b"\xff\xfe{not json", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'["https://jsonfeed.org/version/1"]', "a JSON Feed is an object, not a JSON list"),
        (b'{"title": "x", "items": []}', "no jsonfeed.org 'version' \\(got None\\)"),
        (b'{"version": "2.0", "items": []}', "no jsonfeed.org 'version' \\(got '2.0'\\)"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "has no 'items' list"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": {}}', "has no 'items' list"),
    ],
)
def test_invalid_documents_raise_a_clear_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=f"^{URL}: .*{message}"):
        parse_json_feed(body, URL)


def test_detection_by_content_type_and_by_content() -> None:
    body = feed([])
    assert looks_like_json_feed(b"", "application/feed+json; charset=utf-8")
    assert looks_like_json_feed(body, "application/json")
    assert looks_like_json_feed(body, "text/plain")  # a server that mislabels it
    assert looks_like_json_feed(b"\xef\xbb\xbf \n" + body, "")
    php = b'{"items": [], "version": "https:\\/\\/jsonfeed.org\\/version\\/1"}'
    assert looks_like_json_feed(php, "application/octet-stream")
    assert parse_json_feed(php, URL).entries == ()
    assert looks_like_json_feed(b'{"error": "rate limited"}', "application/problem+json")
    assert not looks_like_json_feed(b'{"error": "rate limited"}', "text/html")
    rss = b'<?xml version="1.0"?><rss><channel><title>jsonfeed.org news</title></channel></rss>'
    assert not looks_like_json_feed(rss, "application/rss+xml")
    assert not looks_like_json_feed(rss, "application/json")
    assert not looks_like_json_feed(b"<!doctype html><html></html>", "text/html")


@pytest.mark.parametrize(
    "version",
    [
        "https://jsonfeed.org/version/1",
        "http://jsonfeed.org/version/1",  # as real feeds write it (pxlnv.com)
        "https://jsonfeed.org/version/1.1",
        "http://jsonfeed.org/version/1.1",
        "https://www.jsonfeed.org/version/1.1/",
    ],
)
def test_json_feed_1_0_and_1_1_under_both_schemes(version: str) -> None:
    parsed = parse_json_feed(feed([{"id": "1", "title": "T"}], version=version), URL)
    assert [e.title for e in parsed.entries] == ["T"] and parsed.warning is None


def test_a_bare_version_number_is_read_with_a_warning() -> None:
    parsed = parse_json_feed(feed([{"id": "1"}], version="1.1"), URL)
    assert len(parsed.entries) == 1
    assert "not a jsonfeed.org URL" in (parsed.warning or "")


def test_raw_control_characters_in_strings_are_tolerated() -> None:
    body = (
        feed([{"id": "1", "content_text": "line one\nline two\tend"}])
        .replace(b"\\n", b"\n")
        .replace(b"\\t", b"\t")
    )
    (entry,) = parse_json_feed(body, URL).entries
    assert entry.content == "line one line two end"


def test_entities_in_json_feed_titles_are_decoded() -> None:
    body = feed(
        [{"id": "1", "title": "Add Task &amp; Sub Tasks", "content_text": "a &quot;b&quot;"}]
    )
    (entry,) = parse_json_feed(body, URL).entries
    assert (entry.title, entry.content) == ("Add Task & Sub Tasks", 'a "b"')
