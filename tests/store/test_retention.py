"""Retention keeps the database bounded without touching anything still needed."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bot.core.clock import utcnow
from bot.store import Store
from bot.store.schema import articles, feeds, items, outbox
from tests.helpers.chat import enqueue


def test_prune_forgets_old_finished_rows_and_keeps_pending_ones(tmp_path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store.feeds.sync([("https://x.test/feed", "Feed", None, None)])
    enqueue(store, [1], 3)
    due = store.outbox.due()
    store.outbox.mark_sent(due[0].id, 10)
    store.outbox.mark_sent(due[1].id, 11)
    old = utcnow() - timedelta(days=200)
    with store.engine.begin() as conn:
        for table, column in ((outbox, "created_at"), (articles, "created_at"), (items, "seen_at")):
            conn.execute(table.update().values({column: old}))
        # The feed's document, read in full since, no longer lists those items.
        conn.execute(feeds.update().values(listed_since=utcnow()))
    counts = store.prune(90)
    assert counts["outbox"] == 2 and counts["articles"] == 2 and counts["items"] == 2
    with store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(outbox)) == 1
        assert conn.scalar(sa.select(sa.func.count()).select_from(articles)) == 1
    assert [a.id for a in store.outbox.due()] == [due[2].id], "the pending alert survives"
    assert store.prune(90) == {k: 0 for k in counts}
