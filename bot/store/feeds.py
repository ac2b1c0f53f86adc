"""Feeds in the store: the configured list, HTTP validators and health."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from bot.models import FeedSource, FetchResult
from bot.store.base import as_utc, utcnow
from bot.store.schema import feeds


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """What ``/feeds`` shows: when a feed last worked and how it last failed."""

    name: str
    url: str
    last_success_at: object
    last_error_at: object
    last_error: str | None
    consecutive_failures: int
    items_seen: int


class FeedStore:
    """Feed rows; the configured list is the source of truth for which are enabled."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def sync(self, configured: Iterable[tuple[str, str, str | None]]) -> None:
        """Make the enabled feeds exactly ``(url, name, language)`` from the config."""
        wanted = {url: (name, lang) for url, name, lang in configured}
        with self.engine.begin() as conn:
            rows = {r.config_url: r for r in conn.execute(sa.select(feeds))}
            for url, (name, lang) in wanted.items():
                if url in rows:
                    conn.execute(
                        feeds.update()
                        .where(feeds.c.config_url == url)
                        .values(name=name, language=lang, enabled=True)
                    )
                else:
                    conn.execute(
                        feeds.insert().values(
                            config_url=url,
                            url=url,
                            name=name,
                            language=lang,
                            enabled=True,
                            consecutive_failures=0,
                            items_seen=0,
                        )
                    )
            gone = [u for u in rows if u not in wanted]
            if gone:
                conn.execute(
                    feeds.update().where(feeds.c.config_url.in_(gone)).values(enabled=False)
                )

    def active(self) -> list[FeedSource]:
        """The enabled feeds, in a stable order."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(feeds).where(feeds.c.enabled).order_by(feeds.c.id))
            return [
                FeedSource(
                    id=r.id,
                    config_url=r.config_url,
                    url=r.url,
                    name=r.name,
                    etag=r.etag,
                    last_modified=r.last_modified,
                    first_polled=r.first_polled_at is not None,
                )
                for r in rows
            ]

    def record_success(self, feed_id: int, result: FetchResult) -> None:
        """A fetch worked: keep its validators, and a permanent redirect's new URL."""
        values: dict = dict(
            last_success_at=utcnow(), consecutive_failures=0, error_kind=None, last_error=None
        )
        if not result.not_modified:
            values.update(etag=result.etag, last_modified=result.last_modified)
        if result.permanent_redirect:
            values["url"] = result.final_url
        with self.engine.begin() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(**values))

    def record_error(self, feed_id: int, kind: str, message: str) -> None:
        """A fetch or parse failed; health shows it, and the other feeds go on."""
        with self.engine.begin() as conn:
            conn.execute(
                feeds.update()
                .where(feeds.c.id == feed_id)
                .values(
                    last_error_at=utcnow(),
                    last_error=message[:2000],
                    error_kind=kind,
                    consecutive_failures=feeds.c.consecutive_failures + 1,
                )
            )

    def health(self) -> list[FeedHealth]:
        """Every enabled feed's health, for admins."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(feeds).where(feeds.c.enabled).order_by(feeds.c.id))
            return [
                FeedHealth(
                    r.name,
                    r.url,
                    as_utc(r.last_success_at),
                    as_utc(r.last_error_at),
                    r.last_error,
                    r.consecutive_failures,
                    r.items_seen,
                )
                for r in rows
            ]
