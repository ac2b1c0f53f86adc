"""The archive (full-text search in the database's own index) and one-time console logins."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.models import Article, Hit, TopicMatch
from bot.store import Store
from bot.store.archive import ArchiveQuery

FOUND = (TopicMatch("csto", "CSTO", (Hit("csto", "title", 0, 4, "CSTO"),)),)


def _article(n: int, title: str, body: str, language: str = "en") -> Article:
    return Article(f"https://x.test/{n}", title, "", body, "Outlet", None, "page", language)


def _fill(store: Store) -> int:
    store.feeds.sync([("https://x.test/f.xml", "Feed", None, None)])
    feed_id = store.console.feed_ids()["https://x.test/f.xml"]
    store.archive.add(
        feed_id, _article(1, "CSTO troops leave Almaty", "Peacekeepers withdrew."), FOUND
    )
    store.archive.add(feed_id, _article(2, "Weather in Kyiv", "Rain and wind all week."))
    store.archive.add(feed_id, _article(3, "Выборы в Казахстане", "Голосование прошло.", "ru"))
    return feed_id


def _check_search(store: Store) -> None:
    feed_id = _fill(store)
    every = ArchiveQuery(matched_only=False)
    assert store.archive.find(every)[0].title == "Выборы в Казахстане"
    assert store.archive.count(every) == 3
    assert [a.title for a in store.archive.find(ArchiveQuery())] == ["CSTO troops leave Almaty"]
    found = store.archive.find(ArchiveQuery(text="peacekeep", matched_only=False))
    assert [a.url for a in found] == ["https://x.test/1"]  # a prefix, in the text
    assert store.archive.count(ArchiveQuery(text="rain kyiv", matched_only=False)) == 1
    assert store.archive.count(ArchiveQuery(text="голосование", matched_only=False)) == 1
    assert store.archive.count(ArchiveQuery(text="rain almaty", matched_only=False)) == 0
    assert store.archive.count(ArchiveQuery(text='"); drop', matched_only=False)) == 0
    assert store.archive.count(ArchiveQuery(topic="csto")) == 1
    assert store.archive.count(ArchiveQuery(language="ru", matched_only=False)) == 1
    assert store.archive.count(ArchiveQuery(feed_id=feed_id + 1, matched_only=False)) == 0
    assert store.archive.languages() == ["en", "ru"]
    assert len(list(store.archive.each(batch=2))) == 3
    assert store.archive.prune(-1) == 3
    assert store.archive.count(ArchiveQuery(text="rain", matched_only=False)) == 0


def test_archive_search_and_filters_on_sqlite(tmp_path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        _check_search(store)
    finally:
        store.close()


@pytest.mark.postgres
def test_archive_search_and_filters_on_postgresql(pg_url: str) -> None:
    store = Store.open(pg_url)
    try:
        _check_search(store)
    finally:
        store.close()


def test_a_login_token_is_stored_hashed_and_spent_once(tmp_path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        token = store.logins.issue(700)
        with store.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT token_hash FROM console_logins").scalar()
        assert stored != token and token not in stored
        assert store.logins.spend(token) == 700
        assert store.logins.spend(token) is None
        old = store.logins.issue(700, ttl=timedelta(seconds=-1))
        assert store.logins.spend(old) is None
        assert store.logins.spend("") is None
    finally:
        store.close()


@pytest.mark.postgres
def test_replicas_share_login_tokens_and_the_session_key(pg_url: str) -> None:
    one, two = Store.open(pg_url), Store.open(pg_url)
    try:
        assert one.secret("console_session_key") == two.secret("console_session_key")
        token = one.logins.issue(700)
        assert two.logins.spend(token) == 700  # issued by one replica, used on another
        assert one.logins.spend(token) is None
    finally:
        one.close()
        two.close()
