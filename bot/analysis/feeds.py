"""Feed parsing as a worker job: bounded in time like extraction, never on the event loop.

feedparser is pure Python and its cost on hostile markup has no useful bound
(60,000 attributes on one tag held the loop for over a minute: no command was
answered and SIGTERM waited). So the pipeline and ``/addfeed`` parse in the
worker pool, where the cheap checks of ``bot.ingest.hostile`` refuse what they
can and the job's deadline kills the rest with its worker. Either way the feed
fails with a ``ParseError`` saying why, and every other feed goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from bot.analysis.feedjobs import FeedJob, parse_job, probe_job
from bot.analysis.pool import JobTimedOut, WorkerCrashed, WorkerPool
from bot.core.errors import ParseError
from bot.core.models import ParsedFeed
from bot.ingest.fetch import Fetcher

R = TypeVar("R")


async def _in_worker(workers: WorkerPool, fn: Callable[[FeedJob], R], job: FeedJob) -> R:
    try:
        return await workers.run(fn, job)
    except JobTimedOut:
        limit = workers.settings.timeout_seconds
        raise ParseError(
            f"{job.url}: parsing took over {limit:g} s and was stopped", kind="parse_deadline"
        ) from None
    except WorkerCrashed as exc:
        raise ParseError(
            f"{job.url}: the parser's worker crashed ({exc})", kind="parse_crash"
        ) from None


async def parse_in_worker(
    workers: WorkerPool, body: bytes, url: str, content_type: str = "", *, legacy: bool = False
) -> ParsedFeed:
    """The parsed feed, from a worker; ``ParseError`` if it is refused, too slow or crashes."""
    return await _in_worker(workers, parse_job, FeedJob(body, url, content_type, legacy))


async def probe_feed(url: str, fetcher: Fetcher, workers: WorkerPool) -> tuple[str, str, bool]:
    """``/addfeed``: the feed's URL, its title, and whether a web page advertised it."""
    result = await fetcher.fetch_feed(url)
    title, advertised = await _in_worker(
        workers, probe_job, FeedJob(result.body, result.final_url, result.content_type)
    )
    if title is not None:
        return result.final_url, title, False
    result = await fetcher.fetch_feed(advertised[0])
    parsed = await parse_in_worker(workers, result.body, result.final_url, result.content_type)
    return result.final_url, parsed.title, True
