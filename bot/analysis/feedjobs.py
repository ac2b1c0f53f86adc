"""The feed-parsing jobs that run in a worker, apart from the parent's side of them.

Unpickling a job imports its function's module in the worker, so these live
away from ``bot.analysis.feeds`` (which imports the fetcher, httpx and asyncio):
a worker that parses feeds loads feedparser and lxml, nothing of the bot's
parent process.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.errors import ParseError
from bot.core.models import ParsedFeed

# bot.ingest.parse (feedparser, lxml, regex) is imported by the jobs themselves: the
# parent process imports this module to submit them, and never parses a feed.


@dataclass(frozen=True, slots=True)
class FeedJob:
    """A fetched feed document to parse in a worker."""

    body: bytes
    url: str
    content_type: str = ""
    legacy: bool = False


def parse_job(job: FeedJob) -> ParsedFeed:
    """``parse_feed`` as a worker job."""
    from bot.ingest.parse import parse_feed

    return parse_feed(job.body, job.url, job.content_type, legacy=job.legacy)


def probe_job(job: FeedJob) -> tuple[str | None, list[str]]:
    """(the feed's title, []) for a feed, else (None, the feeds a web page advertises)."""
    from bot.ingest.parse import discover_feeds, parse_feed

    try:
        return parse_feed(job.body, job.url, job.content_type).title, []
    except ParseError:
        found = discover_feeds(job.body, job.url)
        if not found:
            raise
        return None, found
