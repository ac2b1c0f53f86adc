"""Every real-world feed (../shared/corpora/realworld/feeds) against plain feedparser.

Served over loopback with its manifest's Content-Type and special serving, each
file goes through newsbot's real fetch and parse. No item feedparser keeps apart
may be lost or merged (only items listed twice and empty ones go, and each
difference is explained), and no title keeps an entity or comes out as mojibake.
The table is tests/feeds_eval.py's, also in docs/fidelity.md.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.feeds_eval import FeedOutcome, evaluate, table
from tests.helpers.corpora import FEEDS, needs

pytestmark = [needs(FEEDS / "manifest.json"), pytest.mark.slow]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, FeedOutcome]:
    found = asyncio.run(evaluate())
    print("\n".join(table(found)))
    return {o.id: o for o in found}


def test_every_difference_from_feedparser_is_explained(
    outcomes: dict[str, FeedOutcome],
) -> None:
    assert len(outcomes) == 308
    unexplained = {i: (o.plain, o.newsbot, o.error) for i, o in outcomes.items() if not o.explained}
    assert unexplained == {}


def test_no_title_keeps_an_entity_or_mojibake(outcomes: dict[str, FeedOutcome]) -> None:
    assert {i: o.dirty_titles for i, o in outcomes.items() if o.dirty_titles} == {}


@pytest.mark.parametrize(
    ("feed", "items"),
    [
        ("nnw__scriptingNews.rss", 50),  # posts share the day's URL: was 7
        ("feeder__rss_nixers_newsletter.xml", 111),  # links differ by fragment: was 1
        ("feeder__rss_nixos.xml", 99),  # one link for every item: was 1
        ("rome__atom_1.0_b.xml", 16),  # unique ids, one link: was 1
        ("feeder__rss_peertube.xml", 20),  # videos sharing a description: was 17
        ("nnw__pxlnv.json", 20),  # version http://jsonfeed.org/version/1: was rejected
        ("simplepie__feed-utf16be.xml", 1),  # UTF-16 with no BOM: feedparser reads none
    ],
)
def test_the_feeds_that_lost_items(outcomes: dict[str, FeedOutcome], feed: str, items: int) -> None:
    assert outcomes[feed].newsbot == items


def test_broken_serving_ends_as_a_clear_per_feed_status(
    outcomes: dict[str, FeedOutcome],
) -> None:
    kinds = {
        "broken__rss_lemonde.xml_HTTP_500_": "http_500",
        "broken__rss_lemonde.xml_HTTP_404_": "http_404",
        "broken__rss_lemonde.xml_HTTP_429_Retry-After_": "http_429",
        "broken__rss_lemonde.xml_empty_body_": "parse",
    }
    assert {f: outcomes[f].error.split(":")[0] for f in kinds} == kinds
    for feed in (
        "broken__rss_theguardian.xml_301_redirect_to_the_real_feed_",
        "broken__rss_theguardian.xml_gzip_Content-Encoding_",
        "broken__rss_lemonde.xml_UTF-8_BOM_leading_blank_lines_",
        "broken__rss_lemonde.xml_truncated_at_40_",
    ):
        assert outcomes[feed].newsbot == outcomes[feed].plain > 0, feed
