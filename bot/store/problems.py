"""Items that could not be analysed or stored: how often they were tried, and why not.

The pipeline decides what to do with an attempt (bot/pipeline/retries.py); this
module only counts. A row is ``retrying`` while its item is tried again on later
polls, and ends ``given_up`` (recorded on the feed's own text, or skipped) or
``quarantined`` (its page killed a worker twice and is never analysed again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.core.clock import as_utc, utcnow
from bot.core.scrub import scrub
from bot.store.items import key_hash
from bot.store.schema import item_problems, items

RETRYING, GIVEN_UP, QUARANTINED = "retrying", "given_up", "quarantined"
# Asked once per new item with a page: built once, only the page's hash changes.
_QUARANTINED = (
    sa.select(item_problems.c.id)
    .where(item_problems.c.page_hash == sa.bindparam("page"), item_problems.c.state == QUARANTINED)
    .limit(1)
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One item's trouble, as ``/feeds`` shows it."""

    feed_id: int
    url: str
    state: str
    reason: str
    attempts: int
    kills: int
    last_at: datetime | None


@dataclass(frozen=True, slots=True)
class FeedProblems:
    """A feed's items still being retried, and those recorded without their page."""

    retrying: int = 0
    settled: int = 0
    last: Problem | None = None


class ProblemStore:
    """Rows of ``item_problems``."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def note(
        self, feed_id: int, key: str, url: str, reason: str, *, killed: bool
    ) -> tuple[int, int]:
        """Count one failed attempt; return (the item's attempts, kills by its page, all told)."""
        now, mine, page = utcnow(), key_hash(key), key_hash(url)
        url, reason = scrub(url), scrub(reason)  # the reason may quote the refused value
        where = (item_problems.c.feed_id == feed_id) & (item_problems.c.key_hash == mine)
        with self.engine.begin() as conn:
            updated = conn.execute(
                item_problems.update()
                .where(where)
                .values(
                    attempts=item_problems.c.attempts + 1,
                    kills=item_problems.c.kills + int(killed),
                    reason=reason[:2000],
                    state=RETRYING,
                    last_at=now,
                )
            ).rowcount
            if not updated:
                conn.execute(
                    item_problems.insert().values(
                        feed_id=feed_id,
                        key_hash=mine,
                        page_hash=page,
                        url=url[:2048],
                        state=RETRYING,
                        reason=reason[:2000],
                        attempts=1,
                        kills=int(killed),
                        first_at=now,
                        last_at=now,
                    )
                )
            attempts = conn.scalar(sa.select(item_problems.c.attempts).where(where))
            kills = conn.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(item_problems.c.kills), 0)).where(
                    item_problems.c.page_hash == page
                )
            )
        return int(attempts or 0), int(kills or 0)

    def settle(self, feed_id: int, key: str, state: str) -> None:
        """The item is being recorded without its page: ``GIVEN_UP`` or ``QUARANTINED``."""
        mine = (item_problems.c.feed_id == feed_id) & (item_problems.c.key_hash == key_hash(key))
        with self.engine.begin() as conn:
            conn.execute(item_problems.update().where(mine).values(state=state))

    def quarantined(self, url: str) -> bool:
        """Has this page killed its worker often enough never to be analysed again?"""
        with self.engine.connect() as conn:
            return conn.scalar(_QUARANTINED, {"page": key_hash(url)}) is not None

    def all(self) -> list[Problem]:
        """Every row, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(item_problems).order_by(item_problems.c.id))
            return [_problem(r) for r in rows]

    def by_feed(self) -> dict[int, FeedProblems]:
        """Per feed: items still retried (not recorded since), items settled, the latest."""
        recorded = (
            sa.select(items.c.id)
            .where(
                items.c.feed_id == item_problems.c.feed_id,
                items.c.key_hash == item_problems.c.key_hash,
            )
            .exists()
        )
        open_retry = (item_problems.c.state == RETRYING) & ~recorded
        query = sa.select(item_problems, open_retry.label("open")).where(
            (item_problems.c.state != RETRYING) | open_retry
        )
        out: dict[int, FeedProblems] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query.order_by(item_problems.c.last_at)):
                seen = out.get(row.feed_id, FeedProblems())
                out[row.feed_id] = FeedProblems(
                    seen.retrying + bool(row.open), seen.settled + (not row.open), _problem(row)
                )
        return out


def _problem(row: sa.Row) -> Problem:
    return Problem(
        row.feed_id, row.url, row.state, row.reason, row.attempts, row.kills, as_utc(row.last_at)
    )
