"""What an alert's buttons show, read in one go at each send.

The keyboard (bot/delivery/buttons.py) needs the chat's mutes and subscriptions,
whether it reported the article, and the article's language and link. Read
through the separate store calls that is five statements on four pooled
connections per message, about a fifth of delivery's CPU; here it is two
prepared statements on one connection, with the same answers (a chat never seen
has no mutes, as ``SubscriptionStore.settings_of`` says).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from bot.core.clock import utcnow
from bot.store.schema import articles, chats, feedback, mutes, subscriptions

_CHAT, _ARTICLE, _NOW = sa.bindparam("chat"), sa.bindparam("article"), sa.bindparam("now")
# Built once: only the parameters change, so SQLAlchemy compiles each statement once.
_TOPICS = sa.union_all(
    sa.select(subscriptions.c.topic_id, sa.literal("follow")).where(
        subscriptions.c.chat_id == _CHAT
    ),
    sa.select(mutes.c.topic_id, sa.literal("mute"))
    .select_from(mutes.join(chats, chats.c.chat_id == mutes.c.chat_id))
    .where(mutes.c.chat_id == _CHAT, mutes.c.until > _NOW),
)
_ARTICLE_STATE = sa.select(
    sa.select(feedback.c.id)
    .where(feedback.c.chat_id == _CHAT, feedback.c.article_id == _ARTICLE)
    .limit(1)
    .scalar_subquery()
    .label("reported"),
    sa.select(articles.c.url).where(articles.c.id == _ARTICLE).scalar_subquery().label("url"),
    sa.select(articles.c.language)
    .where(articles.c.id == _ARTICLE)
    .scalar_subquery()
    .label("language"),
)


@dataclass(frozen=True, slots=True)
class AlertState:
    """One chat's view of one article, as its alert's buttons need it."""

    following: frozenset[str]  # the chat's subscriptions
    muted: frozenset[str]  # its topics muted now
    reported: bool  # it reported this article as not relevant
    url: str | None  # the article's link (None once the article is pruned)
    language: str | None  # the article's language, if known


class AlertStates:
    """Reads ``AlertState`` for the keyboard drawn at each send and edit."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def of(self, chat_id: int, article_id: int) -> AlertState:
        """The chat's subscriptions and mutes, and what it and the store know of the article."""
        params = {"chat": chat_id, "article": article_id, "now": utcnow()}
        following, muted = set(), set()
        with self.engine.connect() as conn:
            for topic, kind in conn.execute(_TOPICS, params):
                (following if kind == "follow" else muted).add(topic)
            row = conn.execute(_ARTICLE_STATE, params).one()
        return AlertState(
            frozenset(following), frozenset(muted), row.reported is not None, row.url, row.language
        )
