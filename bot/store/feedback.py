""" "Not relevant" reports: which article a chat found off-topic, and the terms that fired.

They are the raw material for tuning rules: admins read them in /feedback and
/stats, and a console can show them per topic and term (``by_term``). A report
keeps its own copy of the article's link, title and outlet, so pruning old
articles never takes the reports with it; each chat reports an article once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.core.clock import as_utc, utcnow
from bot.store.base import insert_ignore
from bot.store.schema import articles, feedback, feedback_terms, matches

TERM_CHARS = 400


@dataclass(frozen=True, slots=True)
class FiredTerm:
    """A rule term that hit the reported article: its topic, the term, what it hit."""

    topic_id: str
    term: str
    text: str


@dataclass(frozen=True, slots=True)
class Report:
    """One chat's "not relevant" on one article."""

    id: int
    article_id: int
    chat_id: int
    user_id: int | None
    url: str
    title: str
    source: str
    created_at: datetime
    terms: tuple[FiredTerm, ...]


@dataclass(frozen=True, slots=True)
class TermCount:
    """How often articles that one term hit were reported, and by how many chats."""

    topic_id: str
    term: str
    reports: int


def fired(hits_by_topic: dict[str, Sequence[dict]], topics: Sequence[str]) -> list[FiredTerm]:
    """The distinct terms that fired for ``topics``, from stored match hits."""
    out: dict[tuple[str, str], FiredTerm] = {}
    for topic in topics:
        for raw in hits_by_topic.get(topic, ()):
            term, text = str(raw.get("term", "")), str(raw.get("text", ""))
            key = (topic, term[:TERM_CHARS])
            out.setdefault(key, FiredTerm(topic, key[1], text[:TERM_CHARS]))
    return list(out.values())


class FeedbackStore:
    """Writes and reads the reports."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def report(
        self, article_id: int, chat_id: int, user_id: int | None, topics: Sequence[str]
    ) -> bool | None:
        """Record that ``chat_id`` found the article off-topic for ``topics``.

        Returns True when recorded, False when this chat had reported it already,
        None when the article is gone (pruned).
        """
        with self.engine.begin() as conn:
            art = conn.execute(
                sa.select(articles.c.url, articles.c.title, articles.c.source).where(
                    articles.c.id == article_id
                )
            ).first()
            if art is None:
                return None
            row = {
                "article_id": article_id,
                "chat_id": chat_id,
                "user_id": user_id,
                "url": art.url,
                "title": art.title,
                "source": art.source,
                "created_at": utcnow(),
            }
            if not insert_ignore(conn, feedback, [row], ("chat_id", "article_id")):
                return False
            report_id = conn.scalar(
                sa.select(feedback.c.id).where(
                    feedback.c.chat_id == chat_id, feedback.c.article_id == article_id
                )
            )
            hits = dict(
                conn.execute(
                    sa.select(matches.c.topic_id, matches.c.hits).where(
                        matches.c.article_id == article_id
                    )
                ).all()
            )
            terms = fired(hits, [t for t in topics if t in hits] or list(hits))
            if terms:
                conn.execute(
                    feedback_terms.insert(),
                    [
                        {
                            "feedback_id": report_id,
                            "topic_id": t.topic_id,
                            "term": t.term,
                            "text": t.text,
                        }
                        for t in terms
                    ],
                )
        return True

    def reported(self, chat_id: int, article_id: int) -> bool:
        """Whether this chat reported this article already."""
        query = sa.select(feedback.c.id).where(
            feedback.c.chat_id == chat_id, feedback.c.article_id == article_id
        )
        with self.engine.connect() as conn:
            return conn.scalar(query) is not None

    def count(self, since: datetime | None = None) -> int:
        """How many reports there are (since ``since``)."""
        query = sa.select(sa.func.count()).select_from(feedback)
        if since is not None:
            query = query.where(feedback.c.created_at >= since)
        with self.engine.connect() as conn:
            return conn.scalar(query) or 0

    def recent(self, limit: int = 50, offset: int = 0) -> list[Report]:
        """The newest reports first, each with its terms."""
        query = (
            sa.select(feedback)
            .order_by(feedback.c.created_at.desc(), feedback.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            ids = [r.id for r in rows]
            terms: dict[int, list[FiredTerm]] = {i: [] for i in ids}
            if ids:
                for t in conn.execute(
                    sa.select(feedback_terms)
                    .where(feedback_terms.c.feedback_id.in_(ids))
                    .order_by(feedback_terms.c.topic_id, feedback_terms.c.term)
                ):
                    terms[t.feedback_id].append(FiredTerm(t.topic_id, t.term, t.text))
        return [
            Report(
                r.id,
                r.article_id,
                r.chat_id,
                r.user_id,
                r.url,
                r.title,
                r.source,
                as_utc(r.created_at),  # type: ignore[arg-type]
                tuple(terms[r.id]),
            )
            for r in rows
        ]

    def by_term(self, limit: int = 20, topic_id: str | None = None) -> list[TermCount]:
        """The terms whose articles were reported most, per topic (most first)."""
        reports = sa.func.count(feedback_terms.c.feedback_id.distinct()).label("reports")
        query = (
            sa.select(feedback_terms.c.topic_id, feedback_terms.c.term, reports)
            .group_by(feedback_terms.c.topic_id, feedback_terms.c.term)
            .order_by(reports.desc(), feedback_terms.c.topic_id, feedback_terms.c.term)
            .limit(limit)
        )
        if topic_id is not None:
            query = query.where(feedback_terms.c.topic_id == topic_id)
        with self.engine.connect() as conn:
            return [TermCount(t, term, n) for t, term, n in conn.execute(query)]
