"""The web console's page times over an archive of 100,000 generated articles.

    .venv/bin/python bench/console_bench.py                 # SQLite, then PostgreSQL
    .venv/bin/python bench/console_bench.py --articles 20000 --no-pg

Articles get generated text (~3,500 characters, the size of an extracted news
article); 10 % match a topic, each with an alert in the outbox. Pages are asked
through the real ASGI application (httpx's ASGI transport: no sockets), logged in
through a real one-time link, so each time is routing, the guard, the queries and
the template. PostgreSQL: NEWSBOT_TEST_PG_URL (a scratch database is made and
dropped). Prints the disk cost per 1,000 archived articles. Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config.settings import Settings  # noqa: E402
from bot.core.clock import utcnow  # noqa: E402
from bot.rules.live import LiveRules  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.schema import archive, archive_topics, articles, items, matches, outbox  # noqa: E402
from bot.web.app import build_app  # noqa: E402

ADMIN = 1
FEEDS = 50
VOCABULARY = (
    "government minister election market police city river storm court budget energy army "
    "president parliament school hospital border talks report vote price rain coast crisis "
    "treaty troops protest bank trade union railway airport village farm export summit"
)
WORDS = VOCABULARY.split()
TOPIC_TERMS = {"csto": "CSTO", "kazakhstan": "Kazakhstan", "tokayev": "Tokayev"}
RUNS = 5


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _alerted(conn: sa.Connection, archive_id: int, row: dict) -> None:
    """The matched article's item, article, match and a sent alert, as the pipeline stores them."""
    item_id = conn.execute(
        items.insert().values(
            feed_id=row["feed_id"], key_hash=os.urandom(16).hex(), seen_at=row["created_at"]
        )
    ).inserted_primary_key[0]
    aid = conn.execute(
        articles.insert().values(
            item_id=item_id,
            url=row["url"],
            title=row["title"],
            source=row["source"],
            text_source="page",
            created_at=row["created_at"],
            language=row["language"],
        )
    ).inserted_primary_key[0]
    conn.execute(matches.insert().values(article_id=aid, topic_id=row["topics"][0], hits=[]))
    conn.execute(
        outbox.insert().values(
            chat_id=100 + aid % 20,
            article_id=aid,
            text="alert",
            status="sent",
            attempts=1,
            next_attempt_at=row["created_at"],
            created_at=row["created_at"],
            sent_at=row["created_at"],
        )
    )
    conn.execute(archive.update().where(archive.c.id == archive_id).values(article_id=aid))


def generate(store: Store, n: int, seed: int = 14) -> None:
    """``n`` archived articles over the last 7 days; every tenth matched, with an alert."""
    rng = random.Random(seed)
    store.feeds.sync(
        [(f"https://news{i}.test/feed.xml", f"Outlet {i}", None, None) for i in range(FEEDS)]
    )
    ids = list(store.console.feed_ids().values())
    now = utcnow()
    topics = list(TOPIC_TERMS)
    batch: list[dict] = []

    def flush() -> None:
        with store.engine.begin() as conn:
            conn.execute(archive.insert(), batch)
            first = conn.scalar(sa.select(sa.func.max(archive.c.id))) - len(batch) + 1
            topic_rows = [
                {"archive_id": first + i, "topic_id": t, "created_at": row["created_at"]}
                for i, row in enumerate(batch)
                for t in row["topics"]
            ]
            if topic_rows:
                conn.execute(archive_topics.insert(), topic_rows)
            for i, row in enumerate(batch):
                if row["topics"]:
                    _alerted(conn, first + i, row)
        batch.clear()

    for i in range(n):
        matched = i % 10 == 0
        topic = topics[i % len(topics)] if matched else None
        title = _text(rng, 8) + (f" {TOPIC_TERMS[topic]}" if topic else "")
        body = _text(rng, 500)
        row = {
            "feed_id": ids[i % FEEDS],
            "article_id": None,
            "url": f"https://news.test/{i}",
            "title": title,
            "body": body,
            "source": f"Outlet {i % FEEDS}",
            "language": ("en", "de", "ru")[i % 3],
            "published_at": None,
            "created_at": now - timedelta(seconds=(n - i) * 604800 / n),
            "topics": [topic] if topic else [],
            "terms": [TOPIC_TERMS[topic]] if topic else [],
            "matched": matched,
        }
        batch.append(row)
        if len(batch) == 1000:
            flush()
    if batch:
        flush()


def disk_bytes(store: Store, db_file: Path | None) -> int:
    """The archive's disk use: SQLite's file after a checkpoint, PostgreSQL's relations."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return sum(
                conn.exec_driver_sql(f"SELECT pg_total_relation_size('{t}')").scalar() or 0
                for t in ("archive", "archive_topics")
            )
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert db_file is not None
    return db_file.stat().st_size


async def time_pages(store: Store, config: Path, label: str) -> None:
    settings = Settings(config_dir=config, telegram={"admins": [ADMIN]}, web={"port": 8080})
    rules = LiveRules(settings.rules_path)
    app = build_app(store, settings, rules)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as web:
        await web.get("/login", params={"token": store.logins.issue(ADMIN)})
        feed = next(iter(store.console.feed_ids().values()))
        pages = {
            "archive": "/archive",
            "archive, all articles": "/archive?all=1",
            "search (2 words)": "/archive?q=storm+coast&all=1",
            "search, rare word": "/archive?q=kazakhstan",
            "filter topic": "/archive?topic=csto",
            "filter feed+language": f"/archive?feed={feed}&language=de&all=1",
            "filter day": f"/archive?day={utcnow().date().isoformat()}&all=1",
            "archive page 50": "/archive?all=1&page=50",
            "feeds": "/feeds",
            "topics": "/topics",
            "subscribers": "/subscribers",
        }
        print(f"\n{label}: page times, median of {RUNS} (ms)")
        for name, path in pages.items():
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                answer = await web.get(path)
                times.append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            print(f"  {name:24s} {statistics.median(times):8.1f}   (min {min(times):.1f})")
        editor = (await web.get("/rules")).text
        csrf = editor.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        base = editor.split('name="base" value="', 1)[1].split('"', 1)[0]
        text = settings.rules_path.read_text() + "\n# an edit\n"
        for attempt in ("first", "again"):  # again: the rules in force are cached
            start = time.perf_counter()
            answer = await web.post("/rules/try", data={"csrf": csrf, "base": base, "rules": text})
            seconds = time.perf_counter() - start
            assert answer.status_code == 200, answer.text[:500]
            tried = answer.text.split("Over ", 1)[1].split(" archived", 1)[0]
            name = f"try on past news, {attempt}"
            print(f"  {name:24s} {seconds * 1000:8.1f}   ({tried} articles, config/rules.yaml)")


def run(url: str, label: str, n: int, db_file: Path | None, config: Path) -> None:
    store = Store.open(url)
    try:
        empty = disk_bytes(store, db_file)
        start = time.perf_counter()
        generate(store, n)
        print(f"\n{label}: generated {n:,} articles in {time.perf_counter() - start:.1f} s")
        used = disk_bytes(store, db_file) - empty
        per = used / n * 1000 / 1e6
        print(f"{label}: archive on disk {used / 1e6:.1f} MB = {per:.2f} MB per 1,000 articles")
        asyncio.run(time_pages(store, config, label))
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        config.mkdir()
        (config / "rules.yaml").write_text((ROOT / "config" / "rules.yaml").read_text())
        feeds = [
            {"url": f"https://news{i}.test/feed.xml", "name": f"Outlet {i}"} for i in range(FEEDS)
        ]
        (config / "feeds.yaml").write_text(yaml.safe_dump({"feeds": feeds}))
        db = Path(tmp) / "bench.sqlite3"
        run(f"sqlite:///{db}", "SQLite", args.articles, db, config)
        pg = os.environ.get("NEWSBOT_TEST_PG_URL")
        if pg and not args.no_pg:
            name = f"newsbot_console_bench_{os.getpid()}"
            admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
            try:
                url = sa.make_url(pg).set(database=name).render_as_string(hide_password=False)
                run(url, "PostgreSQL", args.articles, None, config)
            finally:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                admin.dispose()
        elif not args.no_pg:
            print("\nPostgreSQL: skipped (set NEWSBOT_TEST_PG_URL)")


if __name__ == "__main__":
    main()
