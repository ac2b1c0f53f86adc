"""``newsbot test-rules``: show which topics match one article and why, and which nearly did.

The article comes from a URL (fetched and extracted exactly as the pipeline
does: its charset from the HTTP header or the page, its main text by the
workers), an HTML or text file, or standard input. Nothing is stored or sent.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from bot.analysis.page import read_source_job
from bot.analysis.pool import WorkerPool
from bot.core.errors import NewsbotError
from bot.core.models import Article
from bot.ingest.fetch import Fetcher
from bot.rules.matcher import Matcher, Verdict

MAX_HITS_SHOWN = 8


async def load_article(source: str, fetcher: Fetcher, workers: WorkerPool) -> Article:
    """The article behind ``source``: a URL, a file path, or ``-`` for standard input.

    A page is fetched by the pipeline's fetcher and read by its workers, exactly as
    a new item's page is.
    """
    url = source if source.startswith(("http://", "https://")) else f"file:{source}"
    content_type = ""
    if url == source:
        page = await fetcher.fetch_page(source)
        data, url, content_type = page.body, page.final_url, page.content_type
    elif source == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(source).read_bytes()  # noqa: ASYNC240 - a CLI, nothing else runs
        except OSError as exc:
            raise NewsbotError(f"{source}: cannot read: {exc.strerror}") from None
    article, note = await workers.run(read_source_job, (source, data, url, content_type))
    if note:
        raise NewsbotError(f"{source}: {note}")
    return article


def _show(verdict: Verdict, out: TextIO) -> None:
    label = "MATCHED" if verdict.matched else "NEARLY "
    print(f"{label} {verdict.topic_id} ({verdict.topic_name}): {verdict.reason}", file=out)
    for hit in verdict.hits[:MAX_HITS_SHOWN]:
        print(f"    {hit.field}[{hit.start}:{hit.end}] {hit.text!r}  <- {hit.term}", file=out)
    if len(verdict.hits) > MAX_HITS_SHOWN:
        print(f"    … and {len(verdict.hits) - MAX_HITS_SHOWN} more hits", file=out)


def report(article: Article, matcher: Matcher, out: TextIO) -> int:
    """Print the verdicts; return how many topics matched."""
    print(
        f"Article: {article.title or '(no title)'} — {len(article.body)} characters of "
        f"{'extracted page text' if article.text_source == 'page' else 'text'}",
        file=out,
    )
    verdicts = matcher.explain(article)
    for verdict in sorted(verdicts, key=lambda v: not v.matched):
        _show(verdict, out)
    untouched = len(matcher.rules.topics) - len(verdicts)
    print(f"{untouched} other topic(s): no term hit at all.", file=out)
    return sum(v.matched for v in verdicts)


async def explain_article(
    url: str, fetcher: Fetcher, workers: WorkerPool, matcher: Matcher
) -> tuple[Article, list[Verdict]]:
    """The article at ``url`` and every verdict on it (admin ``/test`` words them)."""
    article = await load_article(url, fetcher, workers)
    return article, matcher.explain(article)
