"""The store: SQLAlchemy Core over SQLite (default) or PostgreSQL.

One facade, one module per area: feeds, items (and articles), subscriptions,
the outbox, and the items that could not be analysed. Schema changes go through
Alembic migrations, run at open time.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa

from bot.core.clock import utcnow
from bot.store.alertstate import AlertStates
from bot.store.archive import ArchiveStore
from bot.store.base import insert_ignore
from bot.store.console import ConsoleQueries
from bot.store.digests import DigestStore
from bot.store.engine import create_engine, migrate
from bot.store.faults import StoreFault, store_fault
from bot.store.feedback import FeedbackStore
from bot.store.feeds import FeedStore
from bot.store.items import ItemStore
from bot.store.logins import LoginStore
from bot.store.outbox import Outbox
from bot.store.problems import ProblemStore
from bot.store.retention import prune
from bot.store.schema import meta
from bot.store.stories import StoryStore
from bot.store.subs import SubscriptionStore


class Store:
    """Everything newsbot keeps between runs.

    ``fault`` is set when a statement fails because the store cannot write (disk
    full, read-only, unreachable: bot.store.faults) and cleared by the next write
    that succeeds, whichever part of newsbot made it.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.fault: StoreFault | None = None
        sa.event.listen(engine, "handle_error", self._failed)
        sa.event.listen(engine, "after_execute", self._executed)
        self.feeds = FeedStore(engine)
        self.items = ItemStore(engine)
        self.subs = SubscriptionStore(engine)
        self.outbox = Outbox(engine)
        self.digests = DigestStore(engine)
        self.stories = StoryStore(engine)
        self.feedback = FeedbackStore(engine)
        self.problems = ProblemStore(engine)
        self.archive = ArchiveStore(engine)
        self.logins = LoginStore(engine)
        self.console = ConsoleQueries(engine)
        self.alert_states = AlertStates(engine)  # what an alert's buttons show

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect, migrate the schema to the newest version, and return the store."""
        engine = create_engine(url)
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    def _failed(self, context: sa.engine.ExceptionContext) -> None:
        fault = store_fault(context.sqlalchemy_exception or context.original_exception)
        if fault is not None:
            self.fault = fault

    def _executed(self, conn: sa.Connection, clause: object, *args: object) -> None:
        if self.fault is not None and getattr(clause, "is_dml", False):
            self.fault = None  # a write went through (a failing commit sets it again)

    def writable(self) -> bool:
        """Try one small write now; True if it worked (and the fault, if any, is gone)."""
        try:
            self.set_meta("store_probe_at", utcnow().isoformat())
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def set_meta(self, key: str, value: str) -> None:
        """Upsert a small piece of bookkeeping (e.g. the last good cycle)."""
        update = meta.update().where(meta.c.key == key).values(value=value)
        with self.engine.begin() as conn:
            if conn.execute(update).rowcount:
                return
            if not insert_ignore(conn, meta, [{"key": key, "value": value}], ("key",)):
                conn.execute(update)  # another replica inserted it meanwhile

    def get_meta(self, key: str) -> str | None:
        """A bookkeeping value, or None."""
        with self.engine.connect() as conn:
            return conn.scalar(sa.select(meta.c.value).where(meta.c.key == key))

    def secret(self, name: str) -> bytes:
        """A random 32-byte key, made once and then shared by every replica.

        The key that signs button data lives here rather than being derived from
        the bot token, so the token never leaves the environment and rotating it
        does not invalidate the buttons already sent.
        """
        value = self.get_meta(name)
        if value is None:
            row = {"key": name, "value": secrets.token_hex(32)}
            with self.engine.begin() as conn:
                insert_ignore(conn, meta, [row], ("key",))  # another replica may win: fine
            value = self.get_meta(name)
        assert value is not None
        return bytes.fromhex(value)

    def prune(self, older_than_days: float) -> dict[str, int]:
        """Forget finished rows older than ``older_than_days`` (see bot.store.retention)."""
        return prune(self.engine, utcnow() - timedelta(days=older_than_days))

    def heartbeat(self) -> None:
        """Record that the poll scheduler is running; the healthcheck reads this."""
        self.set_meta("scheduler_at", utcnow().isoformat())


__all__ = ["Store"]
