"""Chat preferences, quiet-hour holds and "not relevant" reports, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.clock import utcnow
from bot.core.message import Alert
from bot.core.models import Article, Entry, Hit, TopicMatch
from bot.store import Store
from bot.store.schema import articles, items, outbox

HITS = (Hit("Kasach*", "body", 0, 10, "Kasachstan"), Hit("Kasach*", "body", 20, 31, "Kasachstans"))
FOUND = [
    TopicMatch("kazakhstan", "Kazakhstan", HITS),
    TopicMatch("tokayev", "Tokayev", (Hit("Tokajew*", "title", 0, 7, "Tokajew"),)),
]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    yield store
    store.close()


def record(store: Store, n: int, alerts: list[Alert]) -> None:
    entry = Entry(f"g{n}", f"https://n.test/{n}", f"T{n}", "", None)
    article = Article(entry.link, f"Title {n}", "", "Kasachstan und Kasachstans", "Feed", None)
    assert store.items.record_article(1, entry, article, FOUND, alerts, None, f"line {n}")


def exercise(store: Store) -> None:
    store.feeds.sync([("https://f.test/feed", "Feed", "de", None)])
    subs = store.subs
    subs.subscribe(1, "kazakhstan", language="de")
    subs.subscribe(1, "tokayev", language="ru")  # the first language stays
    subs.set_timezone(1, "Europe/Berlin")
    subs.subscribe(2, "kazakhstan")
    subs.set_paused(2, True)
    now = subs.settings_of(1)
    assert (now.language, now.timezone, now.quiet, now.skipped) == ("de", "Europe/Berlin", None, 0)
    [one] = subs.recipients(["kazakhstan", "tokayev"])
    assert (one.chat_id, one.topics, one.language, one.timezone) == (
        1,
        frozenset({"kazakhstan", "tokayev"}),
        "de",
        "Europe/Berlin",
    )
    record(store, 1, [Alert(1, "<b>alert</b>", "de", ("kazakhstan", "tokayev"))])
    assert subs.settings_of(2).skipped == 1, "the paused chat missed one"
    assert subs.set_paused(2, False) == 1 and subs.settings_of(2).skipped == 0
    counts = subs.counts()
    assert (counts.chats, counts.groups, counts.paused, counts.subscriptions) == (2, 0, 0, 3)

    [due] = store.outbox.due()
    assert (due.lang, due.topics, due.also) == ("de", ("kazakhstan", "tokayev"), ())
    assert store.outbox.row(due.id) == due
    assert store.items.article(due.article_id).language is None  # not given: unknown

    assert store.feedback.report(due.article_id, 1, 77, due.topics) is True
    assert store.feedback.report(due.article_id, 1, 78, due.topics) is False, "once per chat"
    assert store.feedback.report(999_999, 1, 77, ()) is None, "a pruned article"
    assert store.feedback.reported(1, due.article_id)
    [report] = store.feedback.recent()
    assert (report.chat_id, report.user_id, report.title, report.source) == (
        1,
        77,
        "Title 1",
        "Feed",
    )
    assert [(t.topic_id, t.term, t.text) for t in report.terms] == [
        ("kazakhstan", "Kasach*", "Kasachstan"),
        ("tokayev", "Tokajew*", "Tokajew"),
    ]
    assert [(c.topic_id, c.term, c.reports) for c in store.feedback.by_term()] == [
        ("kazakhstan", "Kasach*", 1),
        ("tokayev", "Tokajew*", 1),
    ]
    assert store.feedback.count() == 1
    assert store.feedback.count(utcnow() + timedelta(minutes=1)) == 0

    store.outbox.mark_sent(due.id, 1)
    old = utcnow() - timedelta(days=200)
    with store.engine.begin() as conn:  # everything is old enough to prune now
        conn.execute(outbox.update().values(created_at=old))
        conn.execute(articles.update().values(created_at=old))
        conn.execute(items.update().values(seen_at=old))
    assert store.prune(90)["articles"] == 1
    assert store.items.article(due.article_id) is None
    assert store.feedback.count() == 1, "reports outlive the articles they are about"
    assert store.feedback.recent()[0].terms == report.terms

    local = utcnow().astimezone(ZoneInfo("Europe/Berlin"))
    window = (f"{local - timedelta(hours=1):%H:%M}", f"{local + timedelta(hours=1):%H:%M}")
    subs.set_quiet(1, window)
    assert subs.settings_of(1).quiet == window
    record(store, 2, [Alert(1, "<b>quiet</b>", "de", ("kazakhstan",))])
    assert store.outbox.counts().get("held") == 1, "held in the chat's quiet hours"
    [held] = store.digests.held(1)
    assert (held.title, held.snippet, held.topics) == (
        "Title 2",
        "line 2",
        ("kazakhstan", "tokayev"),
    )
    [chat] = store.digests.chats()
    assert (chat.chat_id, chat.quiet, chat.timezone, chat.language) == (
        1,
        window,
        "Europe/Berlin",
        "de",
    )


def test_chats_holds_and_reports_on_sqlite(sqlite_store: Store) -> None:
    exercise(sqlite_store)


def test_chats_holds_and_reports_on_postgresql(pg_url: str) -> None:
    store = Store.open(pg_url)
    try:
        exercise(store)
    finally:
        store.close()


def test_replicas_share_one_button_key(pg_url: str) -> None:
    stores = [Store.open(pg_url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(4) as pool:
            keys = list(pool.map(lambda s: s.secret("callback_key"), stores))
        assert len(set(keys)) == 1 and len(keys[0]) == 32
    finally:
        for s in stores:
            s.close()
