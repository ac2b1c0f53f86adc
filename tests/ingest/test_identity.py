"""Item identity is decided per feed document and never merges distinct items.

The shapes below are the real feeds that lost items to the old any-shared-key rule
(../shared/corpora/realworld): a blog whose posts share the day's URL, a newsletter
whose links differ only by fragment, an Atom test feed with one link for every
entry, sponsor posts and videos that share one description.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.core.models import Entry
from bot.ingest.jsonfeed import parse_json_feed
from bot.ingest.parse import parse_feed
from bot.store import Store
from tests.ingest.test_parse import URL, atom_entries, rss_items

SHARED = (
    "This episode is brought to you by our sponsors, who make the show possible; "
    "visit their site to learn more about their products and support the show."
)


def keys(body: bytes) -> list[str]:
    return [e.key for e in parse_feed(body, URL).entries]


def new_to_a_store(tmp_path: Path, entries: tuple[Entry, ...]) -> list[Entry]:
    """What a fresh store finds new in one feed document (the pipeline's first step)."""
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        store.feeds.sync([(URL, "F", None, None)])
        (feed,) = store.feeds.active()
        return store.items.unseen(feed.id, entries)
    finally:
        store.close()


def test_posts_sharing_the_days_url_stay_apart() -> None:
    body = rss_items(
        *(
            f"<title>Post {n}</title><link>http://scripting.com/2017/06/26.html</link>"
            f"<description>Note number {n} of the day.</description>"
            for n in range(7)
        )
    )
    found = keys(body)
    assert len(found) == len(set(found)) == 7


def test_links_differing_only_by_fragment_stay_apart() -> None:
    body = rss_items(
        *(
            f"<title>nixersnewsletter</title>"
            f"<link>https://newsletter.nixers.net/entries.php#{n}</link>"
            f"<description>{SHARED}</description>"
            for n in range(111)
        )
    )
    assert len(set(keys(body))) == 111


def test_unique_atom_ids_win_over_a_shared_link(tmp_path: Path) -> None:
    body = atom_entries(
        *(
            f"<id>tag:plasmasturm.org,2005:Atom-Tests:xml-base:Test{n}</id><title>{n}</title>"
            '<link href="http://example.org/tests/base/result.html"/>'
            for n in range(16)
        )
    )
    entries = parse_feed(body, URL).entries
    assert len({e.key for e in entries}) == 16
    assert all(e.key.startswith("guid:tag:plasmasturm.org") for e in entries)
    assert len(new_to_a_store(tmp_path, entries)) == 16


def test_items_sharing_one_long_description_stay_apart(tmp_path: Path) -> None:
    body = rss_items(
        *(
            f"<title>Sponsor {n}</title><link>https://show.example/{n}</link>"
            f"<description>{SHARED}</description>"
            for n in range(5)
        )
    )
    entries = parse_feed(body, URL).entries
    assert [e.key for e in entries] == [f"url:https://show.example/{n}" for n in range(5)]
    assert len(new_to_a_store(tmp_path, entries)) == 5


def test_a_shared_guid_falls_back_to_the_link_then_the_content() -> None:
    body = rss_items(
        "<guid>http://moe.gov.sg/spotlight/</guid><title>A</title><link>https://x.example/a</link>",
        "<guid>http://moe.gov.sg/spotlight/</guid><title>B</title><link>https://x.example/b</link>",
        "<guid>http://moe.gov.sg/spotlight/</guid><title>C</title><link>https://x.example/b</link>",
    )
    found = keys(body)
    assert found[0] == "url:https://x.example/a"
    assert found[1].startswith("item:") and found[2].startswith("item:")
    assert found[1] != found[2]  # same guid, same link, different titles: two items


def test_genuine_duplicates_are_one_item() -> None:
    same = '<guid isPermaLink="false">g-1</guid><title>Same</title><link>https://x.example/1</link>'
    other = '<guid isPermaLink="false">g-2</guid><title>Other</title>'
    parsed = parse_feed(rss_items(same, same, other), URL)
    assert [e.key for e in parsed.entries] == ["guid:g-1", "guid:g-2"]


def test_items_with_nothing_but_text_are_kept_and_told_apart() -> None:
    body = rss_items("<description>…</description>", "<description>Read more</description>")
    found = keys(body)
    assert len(set(found)) == 2 and all(k.startswith("item:") for k in found)


def test_keys_are_stable_across_edits_and_tracking_tags() -> None:
    first = rss_items(
        "<guid>urn:1</guid><title>Old title</title><link>https://x.example/a</link>",
        "<title>No guid</title><link>https://x.example/b?utm_source=rss</link>",
    )
    edited = rss_items(
        "<guid>urn:1</guid><title>New title</title><link>https://x.example/a2</link>",
        "<title>No guid, retitled</title><link>https://www.x.example/b?utm_source=mail</link>",
    )
    assert keys(first) == keys(edited) == ["guid:urn:1", "url:https://x.example/b"]


def test_a_guid_that_is_the_link_keys_by_the_canonical_link() -> None:
    link = "https://x.example/story?utm_medium=rss"
    body = rss_items(f"<guid>{link}</guid><link>{link}</link><title>T</title>")
    assert keys(body) == ["url:https://x.example/story"]


def test_json_feed_items_follow_the_same_rule() -> None:
    items = [{"id": "same", "url": "https://x.example/day", "title": f"Post {n}"} for n in range(3)]
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items}).encode()
    found = [e.key for e in parse_json_feed(body, URL).entries]
    assert len(set(found)) == 3
