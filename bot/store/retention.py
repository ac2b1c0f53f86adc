"""Retention: prune what is old enough to forget, so the database stays bounded for months.

Only finished rows go: delivered, failed, dropped or digested outbox rows; articles
and matches no queued alert still needs; seen items older than the cutoff that
their feed no longer lists (one still listed is kept whatever its age, or the
next poll would alert it again);
stories no article refers to; item problems not touched since the cutoff.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.store.schema import articles, feeds, item_problems, items, matches, outbox, stories

DONE = ("sent", "failed", "dropped", "digested")


def prune(engine: sa.Engine, cutoff: datetime) -> dict[str, int]:
    """Delete rows older than ``cutoff``; return how many of each kind went."""
    out: dict[str, int] = {}
    with engine.begin() as conn:
        out["outbox"] = conn.execute(
            outbox.delete().where(
                outbox.c.created_at < cutoff, outbox.c.status.in_(DONE), ~outbox.c.needs_edit
            )
        ).rowcount
        still_needed = sa.select(outbox.c.article_id).where(outbox.c.article_id.is_not(None))
        old = sa.select(articles.c.id).where(
            articles.c.created_at < cutoff, articles.c.id.not_in(still_needed)
        )
        out["matches"] = conn.execute(
            matches.delete().where(matches.c.article_id.in_(old))
        ).rowcount
        out["articles"] = conn.execute(
            articles.delete().where(
                articles.c.id.in_(old), articles.c.id.not_in(sa.select(matches.c.article_id))
            )
        ).rowcount
        referenced = sa.select(articles.c.item_id)
        listed_since = (
            sa.select(feeds.c.listed_since).where(feeds.c.id == items.c.feed_id).scalar_subquery()
        )
        out["items"] = conn.execute(
            items.delete().where(
                items.c.seen_at < cutoff,
                items.c.seen_at < listed_since,  # not in the feed's latest document (NULL: keep)
                items.c.id.not_in(referenced),
            )
        ).rowcount
        out["item_problems"] = conn.execute(
            item_problems.delete().where(item_problems.c.last_at < cutoff)
        ).rowcount
        used = sa.select(articles.c.story_id).where(articles.c.story_id.is_not(None))
        used_outbox = sa.select(outbox.c.story_id).where(outbox.c.story_id.is_not(None))
        out["stories"] = conn.execute(
            stories.delete().where(
                stories.c.created_at < cutoff,
                stories.c.id.not_in(used),
                stories.c.id.not_in(used_outbox),
            )
        ).rowcount
    return out
