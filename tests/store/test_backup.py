"""State backup and restore: consistent online copies, verified, and a guarded restore."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.errors import NewsbotError
from bot.store import Store
from bot.store.backup import backup, backup_name, restore, sqlite_path, verify


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real newsbot database (migrated, WAL mode) with one subscription."""
    path = tmp_path / "state" / "newsbot.sqlite3"
    url = f"sqlite:///{path}"
    store = Store.open(url)
    store.subs.subscribe(1, "kazakhstan")
    store.close()
    yield url, path


def topics(url: str, chat_id: int = 1) -> list[str]:
    store = Store.open(url)
    try:
        return store.subs.topics_of(chat_id)
    finally:
        store.close()


def test_backup_is_consistent_while_others_read_and_write(
    db: tuple[str, Path], tmp_path: Path
) -> None:
    url, path = db
    store = Store.open(url)  # the "running bot": pooled connections stay open
    reader = sqlite3.connect(path, isolation_level=None)
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM subscriptions").fetchone() == (1,)
        store.subs.subscribe(2, "csto")  # committed, still in the -wal file
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM subscriptions")  # never committed
        out = backup(url, tmp_path / "copy.sqlite3")
    finally:
        writer.execute("ROLLBACK")
        reader.execute("COMMIT")
        writer.close()
        reader.close()
        store.close()

    assert out == tmp_path / "copy.sqlite3"
    assert not Path(f"{out}-wal").exists()  # a self-contained file
    assert verify(out)
    assert topics(f"sqlite:///{out}", 1) == ["kazakhstan"]
    assert topics(f"sqlite:///{out}", 2) == ["csto"]


def test_backup_into_a_folder_gets_a_timestamped_name(db: tuple[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    out = backup(db[0], folder)
    assert out.parent == folder
    assert re.fullmatch(r"newsbot-\d{8}-\d{6}\.sqlite3", out.name)
    assert backup_name(datetime(2026, 1, 13, 10, 5, 9, tzinfo=UTC)) == (
        "newsbot-20260113-100509.sqlite3"
    )
    assert [p.name for p in folder.iterdir()] == [out.name]  # no partial file left


def test_backup_never_overwrites(db: tuple[str, Path], tmp_path: Path) -> None:
    dest = tmp_path / "copy.sqlite3"
    dest.write_text("precious")
    with pytest.raises(NewsbotError, match="already exists"):
        backup(db[0], dest)
    assert dest.read_text() == "precious"


def test_backup_of_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(NewsbotError, match="nothing to back up"):
        backup(f"sqlite:///{tmp_path / 'none.sqlite3'}", tmp_path / "out.sqlite3")
    assert not (tmp_path / "none.sqlite3").exists()


def test_restore_brings_the_data_back(db: tuple[str, Path], tmp_path: Path) -> None:
    url, path = db
    saved = backup(url, tmp_path / "saved.sqlite3")
    store = Store.open(url)
    store.subs.unsubscribe(1, "kazakhstan")
    store.subs.subscribe(1, "tokayev")
    store.close()
    assert topics(url) == ["tokayev"]

    restore(url, saved)

    assert topics(url) == ["kazakhstan"]
    safety = path.with_name(path.name + ".before-restore")
    assert topics(f"sqlite:///{safety}") == ["tokayev"]
    assert not Path(f"{path}-wal").exists()


def test_restore_into_an_empty_state_dir(db: tuple[str, Path], tmp_path: Path) -> None:
    saved = backup(db[0], tmp_path / "saved.sqlite3")
    fresh = f"sqlite:///{tmp_path / 'new' / 'newsbot.sqlite3'}"
    restore(fresh, saved)
    assert topics(fresh) == ["kazakhstan"]


def test_restore_refuses_while_the_bot_has_the_database_open(
    db: tuple[str, Path], tmp_path: Path
) -> None:
    url, path = db
    saved = backup(url, tmp_path / "saved.sqlite3")
    running = Store.open(url)
    try:
        running.subs.subscribe(1, "csto")
        with pytest.raises(NewsbotError, match="stop the bot first"):
            restore(url, saved)
        assert running.subs.topics_of(1) == ["csto", "kazakhstan"]
    finally:
        running.close()
    assert not path.with_name(path.name + ".before-restore").exists()


def test_restore_refuses_while_another_process_writes(
    db: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, path = db
    saved = backup(url, tmp_path / "saved.sqlite3")
    monkeypatch.setattr("bot.store.backup.LOCK_TIMEOUT", 0.1)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("BEGIN IMMEDIATE")
        with pytest.raises(NewsbotError, match="in use by another process"):
            restore(url, saved)
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert topics(url) == ["kazakhstan"], "the database is untouched"
    assert not path.with_name(path.name + ".before-restore").exists()


def test_restore_refuses_a_corrupt_file(db: tuple[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(NewsbotError, match="not a readable SQLite database"):
        restore(db[0], bad)
    assert topics(db[0]) == ["kazakhstan"]
    assert not db[1].with_name(db[1].name + ".before-restore").exists()


def test_restore_refuses_a_database_that_is_not_newsbots(
    db: tuple[str, Path], tmp_path: Path
) -> None:
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(NewsbotError, match="no alembic_version table"):
        restore(db[0], other)
    assert topics(db[0]) == ["kazakhstan"], "the database is untouched"
    assert not db[1].with_name(db[1].name + ".before-restore").exists()


def test_restore_refuses_a_newer_schema(db: tuple[str, Path], tmp_path: Path) -> None:
    saved = backup(db[0], tmp_path / "saved.sqlite3")
    with sqlite3.connect(saved) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'from_the_future'")
    conn.close()
    with pytest.raises(NewsbotError, match="newer version"):
        restore(db[0], saved)
    assert topics(db[0]) == ["kazakhstan"], "the database is untouched"
    assert not db[1].with_name(db[1].name + ".before-restore").exists()


def test_non_sqlite_urls_point_to_pg_dump(tmp_path: Path) -> None:
    url = "postgresql+psycopg://newsbot:secret@db/newsbot"
    with pytest.raises(NewsbotError, match="pg_dump") as err:
        backup(url, tmp_path)
    assert "secret" not in str(err.value)
    with pytest.raises(NewsbotError, match="pg_dump"):
        restore(url, tmp_path / "x.sqlite3")
    with pytest.raises(NewsbotError, match="does not name an SQLite file"):
        sqlite_path("sqlite://")
