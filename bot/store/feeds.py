"""Feeds in the store: the configured list, HTTP validators and health."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.core.clock import as_utc, utcnow
from bot.core.hosts import fair_pick
from bot.core.models import FeedSource, FetchResult
from bot.store.base import insert_ignore
from bot.store.schema import feeds


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """What ``/feeds`` shows: when a feed last worked and how it last failed."""

    id: int
    name: str
    url: str
    last_success_at: object
    last_error_at: object
    last_error: str | None
    consecutive_failures: int
    items_seen: int
    error_kind: str | None = None
    failing_since: datetime | None = None
    language: str | None = None
    config_url: str = ""  # as feeds.yaml lists it (``url`` may have moved since)
    poll_lateness: float | None = None  # seconds past due its latest poll started


CANDIDATES = 5000  # due feeds looked at per claim; enough for every host to get its share

# The scheduler's statements, built once: it claims and looks for the next due
# feed at every wake, and building the expressions anew cost more than running
# them (about half of the bot's CPU at rest). Only the parameters change.
_NOW, _OWNER = sa.bindparam("now"), sa.bindparam("owner")
_DUE = sa.or_(feeds.c.next_poll_at.is_(None), feeds.c.next_poll_at <= _NOW)
_FREE = sa.or_(
    feeds.c.lease_until.is_(None),
    feeds.c.lease_until < _NOW,
    (feeds.c.lease_owner == _OWNER) & (feeds.c.lease_until < sa.bindparam("renewable_before")),
)


def _candidates(where: sa.ColumnElement[bool]) -> sa.Select:
    return (
        sa.select(feeds.c.id, feeds.c.url, feeds.c.next_poll_at)
        .where(where)
        .order_by(feeds.c.next_poll_at.is_not(None), feeds.c.next_poll_at, feeds.c.id)
        .limit(CANDIDATES)
        .with_for_update(skip_locked=True)
    )


_CLAIMABLE = _candidates(feeds.c.enabled & _DUE & _FREE)
_CLAIMABLE_EXCEPT = _candidates(
    feeds.c.enabled & _DUE & _FREE & feeds.c.id.not_in(sa.bindparam("exclude", expanding=True))
)
_LEASE = (
    feeds.update()
    .where(feeds.c.id == sa.bindparam("b_id"))
    .values(
        lease_owner=_OWNER,
        lease_until=sa.bindparam("b_until"),
        poll_lateness=sa.bindparam("b_late"),
    )
)
_ACTIVE = sa.select(feeds).where(feeds.c.enabled).order_by(feeds.c.id)
_BY_IDS = (
    sa.select(feeds)
    .where(feeds.c.enabled, feeds.c.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(feeds.c.id)
)
_NEXT_DUE = sa.select(
    sa.func.count(sa.case((feeds.c.next_poll_at.is_(None), 1))),
    sa.func.min(feeds.c.next_poll_at),
).where(feeds.c.enabled)
_WAITING = sa.select(sa.func.min(feeds.c.next_poll_at), sa.func.count()).where(
    feeds.c.enabled
    & (feeds.c.next_poll_at <= _NOW)
    & sa.or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < _NOW)
)
_UNCHANGED = (
    feeds.update()
    .where(
        feeds.c.id == sa.bindparam("b_id"),
        sa.or_(feeds.c.lease_owner.is_(None), feeds.c.lease_owner == _OWNER),
    )
    .values(
        last_success_at=_NOW,
        consecutive_failures=0,
        error_kind=None,
        last_error=None,
        failing_since=None,
        broken=False,
        next_poll_at=sa.bindparam("b_next"),
        current_interval=sa.bindparam("b_interval"),
        lease_owner=None,
        lease_until=None,
    )
)


def _late(now: datetime, due: datetime | None) -> float | None:
    """Seconds past ``due`` at ``now`` (None: never polled, so never due)."""
    at = as_utc(due)
    return None if at is None else max(0.0, (now - at).total_seconds())


def _source(r: sa.Row) -> FeedSource:
    return FeedSource(
        id=r.id,
        config_url=r.config_url,
        url=r.url,
        name=r.name,
        etag=r.etag,
        last_modified=r.last_modified,
        first_polled=r.first_polled_at is not None,
        interval_seconds=r.interval_seconds,
        current_interval=r.current_interval,
        consecutive_failures=r.consecutive_failures,
        failing_since=as_utc(r.failing_since),
        broken=r.broken,
        legacy_keys=r.legacy_keys,
        language=r.language,
        next_poll_at=as_utc(r.next_poll_at),
    )


class FeedStore:
    """Feed rows; the configured list is the source of truth for which are enabled."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def sync(self, configured: Iterable[tuple[str, str, str | None, float | None]]) -> None:
        """Make the enabled feeds exactly ``(url, name, language, interval)`` from the config."""
        wanted = {url: (name, lang, every) for url, name, lang, every in configured}
        with self.engine.begin() as conn:
            rows = {r.config_url: r for r in conn.execute(sa.select(feeds))}
            for url, (name, lang, every) in wanted.items():
                values = {
                    "name": name,
                    "language": lang,
                    "enabled": True,
                    "interval_seconds": every,
                }
                if url in rows:
                    conn.execute(feeds.update().where(feeds.c.config_url == url).values(**values))
                else:  # another replica starting at the same moment may insert it too
                    row = dict(config_url=url, url=url, consecutive_failures=0, items_seen=0)
                    insert_ignore(conn, feeds, [{**row, **values}], ("config_url",))
            gone = [u for u in rows if u not in wanted]
            if gone:
                conn.execute(
                    feeds.update().where(feeds.c.config_url.in_(gone)).values(enabled=False)
                )

    def _sources(
        self, query: sa.Select, params: Mapping[str, object] | None = None
    ) -> list[FeedSource]:
        with self.engine.connect() as conn:
            return [_source(r) for r in conn.execute(query, params or {})]

    def active(self) -> list[FeedSource]:
        """The enabled feeds, in a stable order."""
        return self._sources(_ACTIVE)

    def claim_due(
        self,
        owner: str,
        lease_seconds: float,
        limit: int = 500,
        *,
        cycle_start: datetime | None = None,
    ) -> list[FeedSource]:
        """Lease the feeds that are due and not leased by a live replica.

        ``SELECT … FOR UPDATE SKIP LOCKED`` lets replicas claim disjoint feeds at
        once; a lease that runs out (its replica died) makes the feed claimable again.
        An owner may renew its own leases, except those it took since ``cycle_start``:
        a cycle that claims in batches must not claim a feed it is still polling.
        """
        now = utcnow()
        renewable = datetime.max  # any lease of its own, unless taken since cycle_start
        if cycle_start is not None:
            renewable = cycle_start + timedelta(seconds=lease_seconds)
        params = {"now": now, "owner": owner, "renewable_before": renewable}
        query = _CLAIMABLE.with_only_columns(feeds.c.id).limit(limit)
        with self.engine.begin() as conn:
            ids = list(conn.scalars(query, params))
            if ids:
                conn.execute(
                    feeds.update()
                    .where(feeds.c.id.in_(ids))
                    .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
                )
        return self._sources(_BY_IDS, {"ids": ids}) if ids else []

    def claim_fair(
        self,
        owner: str,
        lease_seconds: float,
        limit: int,
        *,
        busy: Mapping[str, int],
        per_host: int,
        since: datetime,
        exclude: Collection[int] = (),
    ) -> tuple[list[FeedSource], int]:
        """Lease up to ``limit`` due feeds, earliest first, fair across hosts.

        (feeds, how many more were due and free to start): see ``fair_pick``.
        Leases this owner took since ``since`` are never renewed, so a feed is never
        polled twice at once; ``exclude``: feeds this pass has polled already.
        """
        now = utcnow()
        params = {
            "now": now,
            "owner": owner,
            "renewable_before": since + timedelta(seconds=lease_seconds),
        }
        query = _CLAIMABLE
        if exclude:
            query, params["exclude"] = _CLAIMABLE_EXCEPT, list(exclude)
        with self.engine.begin() as conn:
            rows = list(conn.execute(query, params))
            picked, spare = fair_pick(rows, limit, lambda r: r.url, busy, per_host)
            ids = [r.id for r in picked]
            if ids:
                lease = now + timedelta(seconds=lease_seconds)
                conn.execute(
                    _LEASE,
                    [
                        {
                            "owner": owner,
                            "b_id": r.id,
                            "b_until": lease,
                            "b_late": _late(now, r.next_poll_at),
                        }
                        for r in picked
                    ],
                )
        if not ids:
            return [], spare
        order = {fid: i for i, fid in enumerate(ids)}
        return sorted(self._sources(_BY_IDS, {"ids": ids}), key=lambda f: order[f.id]), spare

    def next_due(self) -> datetime | None:
        """The earliest next-poll time among enabled feeds (None: some never polled, or none)."""
        with self.engine.connect() as conn:
            never, earliest = conn.execute(_NEXT_DUE).one()
        return utcnow() if never else as_utc(earliest)

    def lateness(self) -> tuple[float, int]:
        """(seconds the most overdue feed waits to start, how many wait) right now.

        A feed being polled (leased, lease alive) is not waiting: its own deadline
        bounds it. A feed never polled has no due time yet and is not counted.
        """
        now = utcnow()
        with self.engine.connect() as conn:
            oldest, count = conn.execute(_WAITING, {"now": now}).one()
        if oldest is None:
            return 0.0, 0
        return max(0.0, (now - as_utc(oldest)).total_seconds()), int(count)

    def record_success(
        self, feed_id: int, result: FetchResult, next_at: datetime, interval: float
    ) -> None:
        """A fetch worked: keep its validators, a permanent redirect's new URL, the schedule."""
        values: dict = dict(
            last_success_at=utcnow(),
            consecutive_failures=0,
            error_kind=None,
            last_error=None,
            failing_since=None,
            broken=False,
            next_poll_at=next_at,
            current_interval=interval,
            lease_owner=None,
            lease_until=None,
        )
        if not result.not_modified:
            values.update(etag=result.etag, last_modified=result.last_modified)
        if result.permanent_redirect:
            values["url"] = result.final_url
        with self.engine.begin() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(**values))

    def record_unchanged(self, polls: Sequence[tuple[int, datetime, float]], owner: str) -> None:
        """Many 304s in one transaction: (feed id, next poll, interval) each.

        An unchanged cycle is almost nothing but these; one transaction per feed
        cost more than the request. The write comes late, so a feed whose lease
        ``owner`` lost meanwhile (it ran out, another replica took it) is left alone.
        """
        if not polls:
            return
        now = utcnow()
        rows = [
            {"now": now, "owner": owner, "b_id": fid, "b_next": at, "b_interval": every}
            for fid, at, every in polls
        ]
        with self.engine.begin() as conn:
            conn.execute(_UNCHANGED, rows)

    def record_error(self, feed_id: int, kind: str, message: str, next_at: datetime) -> None:
        """A fetch or parse failed; health shows it, and the other feeds go on."""
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(
                feeds.update()
                .where(feeds.c.id == feed_id)
                .values(
                    last_error_at=now,
                    last_error=message[:2000],
                    error_kind=kind,
                    consecutive_failures=feeds.c.consecutive_failures + 1,
                    failing_since=sa.func.coalesce(feeds.c.failing_since, now),
                    next_poll_at=next_at,
                    lease_owner=None,
                    lease_until=None,
                )
            )

    def release_leases(self, owner: str | None = None) -> int:
        """Give up ``owner``'s leases (all leases when None: a single-process store)."""
        where = feeds.c.lease_owner.is_not(None)
        if owner is not None:
            where = where & (feeds.c.lease_owner == owner)
        with self.engine.begin() as conn:
            return conn.execute(
                feeds.update().where(where).values(lease_owner=None, lease_until=None)
            ).rowcount

    def set_broken(self, feed_id: int, broken: bool) -> None:
        """Remember that admins were told the feed is broken (so they are told once)."""
        with self.engine.begin() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(broken=broken))

    def health(self) -> list[FeedHealth]:
        """Every enabled feed's health, for admins."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(feeds).where(feeds.c.enabled).order_by(feeds.c.id))
            return [
                FeedHealth(
                    r.id,
                    r.name,
                    r.url,
                    as_utc(r.last_success_at),
                    as_utc(r.last_error_at),
                    r.last_error,
                    r.consecutive_failures,
                    r.items_seen,
                    r.error_kind,
                    as_utc(r.failing_since),
                    r.language,
                    r.config_url,
                    r.poll_lateness,
                )
                for r in rows
            ]
