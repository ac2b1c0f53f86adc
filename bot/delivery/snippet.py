"""The snippet of an alert: the one or two sentences around the strongest hits.

Extracted text often starts by repeating the headline ("…Kasachstan Die Soldaten…"),
so that repetition is skipped first. Then the sentence that speaks to most of the
chat's topics is chosen (then the one with the most distinct terms, then the most
hits), joined by a neighbour when it is short,
and cut at word boundaries around its hits when it is long. In the alert every
hit is bold; a digest shows the same choice as one plain line.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.models import Article, Hit

SNIPPET_CHARS = 320
LINE_CHARS = 160
_END = re.compile(r"[.!?…]+[\"'»”’)\]]*\s+|\n\s*")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int


def skip_title(text: str, title: str) -> int:
    """Where ``text`` goes on after repeating ``title`` at its start (0 if it does not)."""
    wanted = [c.casefold() for c in title if c.isalnum()]
    if len(wanted) < 8:
        return 0
    i = j = 0
    while i < len(text) and j < len(wanted):
        if text[i].isalnum():
            if text[i].casefold() != wanted[j]:
                return 0
            j += 1
        i += 1
    if j < len(wanted):
        return 0
    while i < len(text) and not (text[i].isalnum() or text[i] in "\"'«„“"):
        i += 1
    return i


def sentences(text: str, start: int = 0) -> list[_Span]:
    """The sentences of ``text[start:]`` as spans of ``text``, surrounding space left out."""
    spans, at = [], start
    for m in _END.finditer(text, start):
        end = m.start() + len(m[0].rstrip())
        if text[at:end].strip():
            spans.append(_trim(text, at, end))
        at = m.end()
    if text[at:].strip():
        spans.append(_trim(text, at, len(text)))
    return spans


def _trim(text: str, start: int, end: int) -> _Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return _Span(start, end)


def _inside(hits: Sequence[Hit], span: _Span) -> list[Hit]:
    return [h for h in hits if span.start <= h.start and h.end <= span.end]


Topics = Sequence[frozenset[Hit]]  # each topic's hits: a sentence is scored by topics covered


def _best(spans: list[_Span], hits: Sequence[Hit], topics: Topics) -> int:
    def score(i: int) -> tuple[int, int, int, int]:
        found = _inside(hits, spans[i])
        covered = sum(1 for group in topics if group.intersection(found))
        return covered, len({h.term for h in found}), len(found), -i

    return max(range(len(spans)), key=score)


def _window(spans: list[_Span], hits: Sequence[Hit], topics: Topics, limit: int) -> _Span:
    """The chosen sentence, with a neighbour when it is short and both fit."""
    i = _best(spans, hits, topics) if hits else 0
    span = spans[i]
    if span.end - span.start < limit // 2:
        after = spans[i + 1] if i + 1 < len(spans) else None
        before = spans[i - 1] if i > 0 else None
        options = [s for s in (after, before) if s is not None]
        options.sort(key=lambda s: (-len(_inside(hits, s)), s is before))
        for other in options:
            joined = _Span(min(span.start, other.start), max(span.end, other.end))
            if joined.end - joined.start <= limit:
                return joined
    return span


def _cut(text: str, span: _Span, hits: Sequence[Hit], limit: int) -> _Span:
    """``span`` narrowed to ``limit`` characters around its first hit, at word boundaries."""
    if span.end - span.start <= limit:
        return span
    inside = _inside(hits, span)
    focus = inside[0].start if inside else span.start
    start = max(span.start, min(focus - limit // 3, span.end - limit))
    end = min(span.end, start + limit)
    if start > span.start:
        while start < end and not text[start - 1].isspace():
            start += 1
    if end < span.end:
        while end > start and not text[end].isspace():
            end -= 1
    for h in inside:  # never a hit cut in two
        if h.start < end < h.end:
            end = h.start
        if h.start < start < h.end:
            start = h.end
    return _trim(text, start, end) if end > start else span


def _runs(text: str, span: _Span, hits: Sequence[Hit]) -> list[_Span]:
    """The hits in ``span`` as runs to set in bold: overlapping hits, and hits only
    whitespace apart ("Kassym-Jomart Tokajew"), are one run."""
    runs: list[_Span] = []
    for h in sorted(_inside(hits, span), key=lambda h: (h.start, -h.end)):
        if runs and (h.start <= runs[-1].end or not text[runs[-1].end : h.start].strip()):
            runs[-1] = _Span(runs[-1].start, max(runs[-1].end, h.end))
        else:
            runs.append(_Span(h.start, h.end))
    return runs


def _pieces(text: str, span: _Span, hits: Sequence[Hit]) -> str:
    """``span`` of ``text`` as escaped HTML, its hits in bold."""
    out, at = [], span.start
    for run in _runs(text, span, hits):
        out.append(html.escape(_SPACE.sub(" ", text[at : run.start]), quote=False))
        out.append(f"<b>{html.escape(_SPACE.sub(' ', text[run.start : run.end]), quote=False)}</b>")
        at = run.end
    out.append(html.escape(_SPACE.sub(" ", text[at : span.end]), quote=False))
    return "".join(out)


def _source(article: Article, hits: Sequence[Hit]) -> tuple[str, list[Hit]]:
    """The field to quote (body, else summary) and its hits."""
    for field in ("body", "summary"):
        found = [h for h in hits if h.field == field]
        if found:
            return getattr(article, field), found
    text = article.body if article.body.strip() else article.summary
    return text, []


@dataclass(frozen=True, slots=True)
class _Choice:
    text: str
    span: _Span
    hits: list[Hit]
    lead: str  # "…" when the quote starts inside a sentence
    tail: str  # "…" when it stops inside one


def _choose(article: Article, groups: Sequence[Sequence[Hit]], limit: int) -> _Choice | None:
    topics = [frozenset(g) for g in groups]
    text, found = _source(article, [h for g in groups for h in g])
    skip = skip_title(text, article.title)
    found = [h for h in found if h.start >= skip]
    spans = sentences(text, skip)
    if not spans:
        return None
    span = _cut(text, _window(spans, found, topics, limit), found, limit)
    first = next(s for s in spans if s.end > span.start)
    last = [s for s in spans if s.start < span.end][-1]
    lead = "…" if span.start > first.start else ""
    tail = "…" if span.end < last.end else ""
    return _Choice(text, span, found, lead, tail)


def snippet(article: Article, groups: Sequence[Sequence[Hit]], limit: int = SNIPPET_CHARS) -> str:
    """Escaped HTML around the strongest hits, every hit in bold ("" with no text).

    ``groups`` are the hits of each topic the chat follows.
    """
    c = _choose(article, groups, limit)
    if c is None:
        return ""
    return (c.lead + _pieces(c.text, c.span, c.hits) + c.tail).strip()


def snippet_line(article: Article, groups: Sequence[Sequence[Hit]], limit: int = LINE_CHARS) -> str:
    """The same choice as one line of plain text, for a digest."""
    c = _choose(article, groups, limit)
    if c is None:
        return ""
    return (c.lead + _SPACE.sub(" ", c.text[c.span.start : c.span.end]) + c.tail).strip()
