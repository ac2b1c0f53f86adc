"""The store on a real PostgreSQL server, as several replicas share it.

Each "replica" here is its own SQLAlchemy engine (its own connection pool and
sessions), driven from its own thread where the point is concurrency. Where a
race has to happen in a particular order, an engine event pauses one replica
inside its transaction (after a given statement ran, before it commits) while
the other goes ahead; the pauses are waits on events with timeouts, never sleeps.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.app.leader import LOCK_KEY, Leadership
from bot.core.message import Alert
from bot.core.models import Article, Entry, Hit, TopicMatch
from bot.store import Store
from bot.store.engine import alembic_config, create_engine
from bot.store.schema import articles, feeds, items, matches, metadata, outbox
from tests.helpers.harness import ROOT
from tests.helpers.process import wait_until

WAIT = 10.0  # seconds any pause inside a transaction may last before the test fails

pytestmark = pytest.mark.postgres


def feed_list(n: int) -> list[tuple[str, str, str | None, float | None]]:
    return [(f"http://127.0.0.1:9/feed/{i}.xml", f"Feed {i}", "en", None) for i in range(n)]


@pytest.fixture
def stores(pg_url: str) -> Iterator[tuple[Store, Store]]:
    """Two replicas' stores on one fresh database (the first one migrated it)."""
    first = Store.open(pg_url)
    second = Store(create_engine(pg_url))
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def pause_after(engine: sa.Engine, matches_sql: Callable[[str], bool]) -> tuple[Any, Any]:
    """Pause the first statement on ``engine`` that ``matches_sql``, right after it ran.

    Returns (reached, go): ``reached`` is set once the statement has run (its locks
    are held, its transaction is open); the replica then waits until ``go`` is set.
    """
    reached, go = threading.Event(), threading.Event()

    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        if not reached.is_set() and matches_sql(statement):
            reached.set()
            assert go.wait(WAIT), "the test never let the paused replica go on"

    sa.event.listen(engine, "after_cursor_execute", after)
    return reached, go


# ---------------------------------------------------------------- migrations


def test_migrations_build_the_schema_on_postgresql_and_rerun_as_a_no_op(
    pg_url: str,
) -> None:
    store = Store.open(pg_url)
    try:
        assert store.engine.dialect.name == "postgresql"
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        with store.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head
            # The migrated schema is exactly what the queries use (bot/store/schema.py).
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
            # The archive's full-text index is an expression index, which Alembic cannot
            # compare: checked here instead (a GIN index over the tsvector).
            diff = [
                d for d in diff if not (d[0] == "remove_index" and d[1].name == "ix_archive_search")
            ]
            assert diff == [], diff
            indexdef = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_archive_search'"
            ).scalar()
            assert indexdef is not None and "USING gin (to_tsvector(" in indexdef
            tables = set(sa.inspect(conn).get_table_names())
        assert {"feeds", "items", "articles", "outbox", "chats", "stories"} <= tables
        store.feeds.sync(feed_list(2))
        store.subs.subscribe(1, "kazakhstan")
    finally:
        store.close()

    again = Store.open(pg_url)  # an up-to-date database is left alone, data kept
    try:
        assert len(again.feeds.active()) == 2
        assert again.subs.subscribers(["kazakhstan"]) == {1: {"kazakhstan"}}
    finally:
        again.close()


STARTER = """
import sys
from bot.store import Store
url, feeds = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()  # the test says go to every replica at once
store = Store.open(url)  # migrations
store.feeds.sync([(f"http://127.0.0.1:9/feed/{i}.xml", f"Feed {i}", None, None)
                  for i in range(feeds)])  # what Service.open does next
print(len(store.feeds.active()), flush=True)
store.close()
"""


@pytest.mark.process  # the replicas are Python processes
def test_replicas_starting_at_once_on_an_empty_database_all_come_up(
    pg_url: str,
) -> None:
    """``docker compose --profile scale up --scale newsbot-replica=3`` starts them together.

    Separate processes, as replicas are (Alembic's context is process-global).
    """
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, pg_url, "5"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outcomes = [proc.communicate(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (out, err) in zip(procs, outcomes, strict=True):
        assert proc.returncode == 0, err[-3000:]
        assert out.strip() == "5", out
    store = Store.open(pg_url)
    try:
        assert len(store.feeds.active()) == 5
    finally:
        store.close()


# ---------------------------------------------------------------- feed leases


def ids(sources: list) -> set[int]:
    return {s.id for s in sources}


def test_replicas_claim_disjoint_feeds_while_both_transactions_are_open(
    stores: tuple[Store, Store],
) -> None:
    a, b = stores
    a.feeds.sync(feed_list(20))
    everything = ids(a.feeds.active())
    reached, go = pause_after(a.engine, lambda sql: sql.startswith("SELECT feeds.id \nFROM feeds"))

    with ThreadPoolExecutor(1) as pool:
        claimed_a = pool.submit(a.feeds.claim_due, "replica-a", 60, 8)
        assert reached.wait(WAIT), "replica a never ran its claim"
        # a holds row locks on its 8 feeds and has not written its lease yet. b must not
        # wait for them (SKIP LOCKED); if it did, its lock_timeout fails the test.
        b_engine = sa.create_engine(
            b.engine.url, connect_args={"options": "-c lock_timeout=2000"}, poolclass=sa.NullPool
        )
        try:
            claimed_b = Store(b_engine).feeds.claim_due("replica-b", 60)
        finally:
            b_engine.dispose()
        go.set()
        got_a = ids(claimed_a.result(WAIT))

    got_b = ids(claimed_b)
    assert len(got_a) == 8
    assert len(got_b) == 12, "b skipped a's locked rows and took every other due feed"
    assert got_a.isdisjoint(got_b)
    assert got_a | got_b == everything
    with a.engine.connect() as conn:
        owners = dict(conn.execute(sa.select(feeds.c.id, feeds.c.lease_owner)).all())
    assert {owners[i] for i in got_a} == {"replica-a"}
    assert {owners[i] for i in got_b} == {"replica-b"}
    # Nothing is left to claim while both leases are live.
    assert a.feeds.claim_due("replica-c", 60) == []


def test_concurrent_claims_in_small_batches_never_overlap(stores: tuple[Store, Store]) -> None:
    a, b = stores
    a.feeds.sync(feed_list(60))
    everything = ids(a.feeds.active())
    start = threading.Barrier(4)

    def drain(store: Store, replica: int) -> list[int]:
        got: list[int] = []
        start.wait(WAIT)
        # A new owner per batch: an owner may re-claim (renew) its own leases.
        while batch := store.feeds.claim_due(f"replica-{replica}-{len(got)}", 60, limit=3):
            got += [s.id for s in batch]
        return got

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(drain, (a, b)[i % 2], i) for i in range(4)]
        claims = [f.result(WAIT * 3) for f in futures]
    flat = [i for got in claims for i in got]
    assert len(flat) == len(set(flat)), "a feed was claimed twice"
    assert set(flat) == everything


def test_an_expired_lease_is_claimable_by_another_owner(stores: tuple[Store, Store]) -> None:
    a, b = stores
    a.feeds.sync(feed_list(3))
    assert len(a.feeds.claim_due("dead-replica", lease_seconds=1.0)) == 3
    assert b.feeds.claim_due("survivor", 60) == [], "a live lease is respected"
    assert len(a.feeds.claim_due("dead-replica", 1.0)) == 3, "the owner may renew its lease"

    # The owner dies here. Its lease runs out about a second later, and then:
    taken = wait_until(lambda: b.feeds.claim_due("survivor", 60), "the lease to expire", 10)
    assert len(taken) == 3
    with b.engine.connect() as conn:
        rows = conn.execute(sa.select(feeds.c.lease_owner, feeds.c.lease_until)).all()
    assert {owner for owner, _ in rows} == {"survivor"}
    assert all(until > datetime.now(UTC) + timedelta(seconds=50) for _, until in rows)
    assert a.feeds.claim_due("dead-replica", 1.0) == [], "the old owner lost them"


def test_release_leases_frees_only_that_owners_feeds(stores: tuple[Store, Store]) -> None:
    a, b = stores
    a.feeds.sync(feed_list(4))
    first = a.feeds.claim_due("one", 60, limit=2)
    second = b.feeds.claim_due("two", 60)
    assert len(first) == len(second) == 2
    assert a.feeds.release_leases("one") == 2  # a stopping replica gives its feeds back
    assert ids(b.feeds.claim_due("three", 60)) == ids(first)


# ---------------------------------------------------------------- recording articles


def entry(n: int = 1) -> Entry:
    link = f"http://127.0.0.1:9/a/{n}"
    return Entry(
        key=link,
        link=link,
        title=f"Kazakhstan story {n}",
        summary="Kazakhstan",
        published=None,
        keys=(link, f"text-hash-{n}"),
    )


def article(n: int = 1) -> Article:
    return Article(
        url=f"http://127.0.0.1:9/a/{n}",
        title=f"Kazakhstan story {n}",
        summary="Kazakhstan",
        body="Kazakhstan " * 40,
        source="Feed 0",
        published=None,
    )


FOUND = [TopicMatch("kazakhstan", "Kazakhstan", (Hit("kazakhstan", "title", 0, 10, "Kaz"),))]


def test_record_article_racing_on_one_entry_stores_it_once(stores: tuple[Store, Store]) -> None:
    a, b = stores
    a.feeds.sync(feed_list(1))
    feed_id = a.feeds.active()[0].id
    chats = [101, 102, 103]
    for chat in chats:
        a.subs.subscribe(chat, "kazakhstan")
    alerts = [Alert(chat, f"alert for {chat}") for chat in chats]
    # Both replicas get past "is it recorded already?" before either inserts anything.
    both_checked = threading.Barrier(2)
    checked = threading.local()  # per thread: only its first check waits

    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        if "count(" in statement and "FROM items" in statement and not hasattr(checked, "x"):
            checked.x = True
            both_checked.wait(WAIT)

    for store in (a, b):
        sa.event.listen(store.engine, "after_cursor_execute", after)

    def record(store: Store) -> bool:
        return store.items.record_article(feed_id, entry(), article(), FOUND, alerts)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(record, (a, b)))
    for store in (a, b):
        sa.event.remove(store.engine, "after_cursor_execute", after)

    assert sorted(results) == [False, True], "exactly one replica recorded it"
    with a.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(articles)) == 1
        assert conn.scalar(sa.select(sa.func.count()).select_from(matches)) == 1
        assert conn.scalar(sa.select(sa.func.count()).select_from(items)) == 2  # its two keys
        per_chat = dict(
            conn.execute(
                sa.select(outbox.c.chat_id, sa.func.count()).group_by(outbox.c.chat_id)
            ).all()
        )
        seen = conn.scalar(sa.select(feeds.c.items_seen).where(feeds.c.id == feed_id))
    assert per_chat == dict.fromkeys(chats, 1)
    assert seen == 1, "the loser's counter update was rolled back with everything else"
    # Seen now, for both replicas.
    assert a.items.unseen(feed_id, [entry()]) == b.items.unseen(feed_id, [entry()]) == []


def test_many_replicas_racing_on_many_entries_alert_each_once(
    stores: tuple[Store, Store],
) -> None:
    a, b = stores
    a.feeds.sync(feed_list(1))
    feed_id = a.feeds.active()[0].id
    a.subs.subscribe(7, "kazakhstan")
    start = threading.Barrier(4)

    def replica(store: Store) -> int:
        start.wait(WAIT)
        return sum(
            store.items.record_article(feed_id, entry(n), article(n), FOUND, [Alert(7, f"#{n}")])
            for n in range(25)
        )

    with ThreadPoolExecutor(4) as pool:
        recorded = sum(pool.map(replica, (a, b, a, b)))
    assert recorded == 25
    with a.engine.connect() as conn:
        texts = list(conn.scalars(sa.select(outbox.c.text).where(outbox.c.chat_id == 7)))
    assert sorted(texts) == sorted(f"#{n}" for n in range(25))


def locks_awaited(engine: sa.Engine) -> int:
    """Sessions on this database waiting for a lock another session holds."""
    with engine.connect() as conn:
        return conn.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


def test_two_replicas_writing_a_new_bookkeeping_key_at_once(stores: tuple[Store, Store]) -> None:
    """Every replica writes the heartbeat after its cycle; the first write inserts it."""
    a, b = stores
    reached, go = pause_after(
        a.engine, lambda sql: sql.startswith(("UPDATE meta", "INSERT INTO meta"))
    )
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(a.set_meta, "last_cycle_at", "from a")
        assert reached.wait(WAIT), "replica a never wrote"
        second = pool.submit(b.set_meta, "last_cycle_at", "from b")
        # b either finishes or waits for a's transaction; then a goes on.
        wait_until(lambda: second.done() or locks_awaited(a.engine), "b to write or wait", WAIT)
        go.set()
        first.result(WAIT)
        second.result(WAIT)
    assert a.get_meta("last_cycle_at") in ("from a", "from b")


# ---------------------------------------------------------------- leadership


def lock_holders(engine: sa.Engine) -> list[int]:
    """Backend pids holding the leader's advisory lock, as the server sees it."""
    with engine.connect() as conn:
        return list(
            conn.scalars(
                sa.text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND ((classid::bigint << 32) | objid::bigint) = :key "
                    # advisory locks are per database; other test databases may hold theirs
                    "AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"key": LOCK_KEY},
            )
        )


def backend_pid(leader: Leadership) -> int:
    assert leader._conn is not None
    return leader._conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


@pytest.mark.parametrize("death", ["process_gone", "session_terminated"])
def test_exactly_one_replica_leads_and_another_takes_over_when_it_dies(
    stores: tuple[Store, Store], death: str
) -> None:
    a, b = stores
    one, two = Leadership(a.engine), Leadership(b.engine)
    assert one.shared and two.shared
    try:
        assert one.check() is True
        assert two.check() is False
        assert (one.held, two.held) == (True, False)
        assert one.check() is True and two.check() is False, "checks keep it where it is"
        holder = backend_pid(one)
        assert lock_holders(a.engine) == [holder]

        # The leader dies: its socket closes (SIGKILL), or its session is killed.
        if death == "process_gone":
            assert one._conn is not None
            one._conn.connection.dbapi_connection.close()
        else:
            with a.engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": holder})
        # The server ends the session (and drops the lock) as soon as it notices.
        wait_until(lambda: not lock_holders(b.engine), "the server to drop the dead lock", WAIT)
        assert two.check() is True, "the survivor takes over on its next check"
        assert two.held
        assert one.check() is False, "the old leader notices it lost, and does not lead"
        assert not one.held
        assert lock_holders(b.engine) == [backend_pid(two)]
    finally:
        one.release()
        two.release()


def test_a_leader_that_stops_hands_over_at_once(stores: tuple[Store, Store]) -> None:
    a, b = stores
    one, two = Leadership(a.engine), Leadership(b.engine)
    try:
        assert one.check() and not two.check()
        one.release()  # SIGTERM: the service gives the lock up on its way out
        assert not one.held
        assert two.check() is True, "no wait for a timeout"
        assert one.check() is False
    finally:
        one.release()
        two.release()


def test_a_cycle_claiming_in_batches_never_reclaims_its_own_feeds(
    stores: tuple[Store, Store],
) -> None:
    a, _ = stores
    a.feeds.sync(feed_list(5))
    old = a.feeds.claim_due("r1", 60, limit=2)  # a previous cycle (or incarnation) of r1
    start = datetime.now(UTC)
    first = a.feeds.claim_due("r1", 60, limit=2, cycle_start=start)
    assert {s.id for s in first} == {s.id for s in old}, "leases from before the cycle renew"
    rest = a.feeds.claim_due("r1", 60, limit=10, cycle_start=start)
    assert len(rest) == 3 and not {s.id for s in rest} & {s.id for s in first}
    assert a.feeds.claim_due("r1", 60, limit=10, cycle_start=start) == [], "nothing twice"
