"""The CPU half of processing one article, run in the extraction worker processes.

The event loop fetches pages and stores results; everything that costs CPU per
page runs here, on the other cores, so the loop's cost per article stays at the
fetch and the store::

    raw page ── could any topic match? ── no ──> skipped: no extraction, no match
                        │ yes
    trafilatura main text ── <link rel=canonical> ── match ── story fingerprint

It is the pipeline's second orchestrator, kept to pure functions of its input:
no store, no network. The rules travel as a pickled ``Matcher`` (``RulesBlob``),
unpickled once per rules version per worker. Each result carries the thread CPU
of its steps (``StageCPU``), so observers of the pipeline (the benchmarks) see
where worker time goes without reaching into the workers.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import time
from dataclasses import dataclass, field, replace

from bot.analysis.extract import MIN_CHARS, extract_text
from bot.analysis.fingerprint import EMPTY, fingerprint
from bot.analysis.pagetext import decode_page, header_charset, page_title, raw_text_variants
from bot.core.models import Article, TopicMatch
from bot.ingest.canonical import canonical_from_html
from bot.ingest.sniff import looks_like_html
from bot.rules.matcher import Matcher

log = logging.getLogger(__name__)
_MATCHERS: dict[str, Matcher] = {}  # per worker process: rules key -> matcher
_KEEP = 2  # the rules in force, and the ones a cycle in flight may still use


@dataclass(frozen=True, slots=True)
class RulesBlob:
    """A matcher as bytes, named by their digest, so a worker unpickles each version once."""

    key: str
    data: bytes

    @classmethod
    def of(cls, matcher: Matcher) -> RulesBlob:
        """Pack ``matcher`` (once per rules version: the pipeline keeps the result)."""
        data = pickle.dumps(matcher, protocol=pickle.HIGHEST_PROTOCOL)
        return cls(hashlib.blake2b(data, digest_size=16).hexdigest(), data)

    def matcher(self) -> Matcher:
        """The unpickled matcher, cached in this process."""
        found = _MATCHERS.get(self.key)
        if found is None:
            while len(_MATCHERS) >= _KEEP:
                _MATCHERS.pop(next(iter(_MATCHERS)))
            found = _MATCHERS[self.key] = pickle.loads(self.data)  # our own bytes (RulesBlob.of)
        return found


@dataclass(frozen=True, slots=True)
class PageJob:
    """One new item: the feed's own text as an article, and its fetched page (if any)."""

    article: Article
    rules: RulesBlob
    page: bytes | None = None
    final_url: str = ""
    content_type: str = ""


@dataclass(frozen=True, slots=True)
class StageCPU:
    """Thread CPU of the steps that made one ``Analysis``, in nanoseconds."""

    prefilter: int = 0
    extract: int = 0  # trafilatura
    canonical: int = 0
    match: int = 0
    fingerprint: int = 0


class Laps:
    """Thread CPU per step: ``lap(stage)`` charges the time since the last lap to ``stage``.

    ``time.thread_time_ns`` costs about a microsecond (a system call); a step costs
    milliseconds, so the laps of a whole job stay under 1 % of it.
    """

    def __init__(self) -> None:
        self._ns: dict[str, int] = {}
        self._last = time.thread_time_ns()

    def lap(self, stage: str) -> None:
        now = time.thread_time_ns()
        self._ns[stage] = self._ns.get(stage, 0) + now - self._last
        self._last = now

    def cpu(self) -> StageCPU:
        return StageCPU(**self._ns)


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the worker made of one item: the article as matched, and what it matched."""

    article: Article  # text_source: "page", "feed" (no usable page) or "skipped"
    matches: tuple[TopicMatch, ...] = ()
    fingerprint: int = EMPTY  # story fingerprint; computed only for matched articles
    note: str = ""  # why the page's text was not used
    cpu: StageCPU = field(default_factory=StageCPU)  # what each step cost, where it ran


def analyze(job: PageJob) -> Analysis:
    """Pre-filter, extract, match and fingerprint one item (in a worker process)."""
    matcher, base = job.rules.matcher(), job.article
    if job.page is None:
        return finish(matcher, base)
    laps = Laps()
    variants = raw_text_variants(job.page, job.content_type)
    could = matcher.could_match(base.title, base.summary, base.body, *variants)
    laps.lap("prefilter")
    if not could:  # nothing can match: no extraction, no match
        return Analysis(replace(base, text_source="skipped"), cpu=laps.cpu())
    article, note = read_page(base, job.page, job.final_url, job.content_type, laps)
    return finish(matcher, article, note, laps)


def read_page(
    article: Article,
    page: bytes,
    final_url: str,
    content_type: str = "",
    laps: Laps | None = None,
) -> tuple[Article, str]:
    """``article`` with the page's main text and canonical URL, or unchanged and why.

    The one reading of a page, for the pipeline and for ``test-rules`` alike. A
    charset named only in the HTTP header is applied before extraction
    (trafilatura sees bytes, not headers).
    """
    laps = laps or Laps()
    source = decode_page(page, content_type) if header_charset(content_type) else page
    try:
        text = (extract_text(source, final_url) or "").strip()
    except Exception as exc:  # a page trafilatura chokes on costs its text, not the item
        return article, f"{final_url}: extraction failed: {exc!r}"
    finally:
        laps.lap("extract")
    if not text:
        return article, f"{final_url}: no main text"
    if len(text) < MIN_CHARS and article.body and article.body not in text:
        text = f"{text}\n\n{article.body}"  # a short page: the feed's text may say more
    url = canonical_from_html(page, final_url) or article.url
    laps.lap("canonical")
    return replace(article, url=url, body=text, text_source="page"), ""


def read_job(
    job: tuple[Article, bytes, str] | tuple[Article, bytes, str, str],
) -> tuple[Article, str]:
    """``read_page`` as a worker job."""
    return read_page(*job)


def read_source_job(job: tuple[str, bytes, str, str]) -> tuple[Article, str]:
    """``test-rules`` and ``/test``: (source, bytes, URL, Content-Type) read as a page is.

    All of it in the worker, title and charset guessing included: a hostile page
    given to ``/test`` must not hold the running bot's event loop either.
    """
    source, data, url, content_type = job
    if not looks_like_html(data, content_type):
        return Article(url, "", "", decode_page(data, content_type), source, None, "text"), ""
    bare = Article(url, page_title(data, content_type), "", "", source, None, "feed")
    return read_page(bare, data, url, content_type)


def finish(
    matcher: Matcher, article: Article, note: str = "", laps: Laps | None = None
) -> Analysis:
    """Match ``article``; fingerprint it for story dedupe only if something matched."""
    laps = laps or Laps()
    found = tuple(matcher.match(article))
    laps.lap("match")
    fp = fingerprint(article.body or article.summary) if found else EMPTY
    laps.lap("fingerprint")
    return Analysis(article, found, fp, note, laps.cpu())
