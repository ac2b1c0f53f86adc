"""A config directory for one test pointing at the loopback fakes, and the service built from it."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Callable
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import yaml

from bot.app.service import Service
from bot.config.settings import Settings, load_settings
from tests.fakes.telegram_api import FakeBotAPI
from tests.fakes.web import LoopbackSite
from tests.helpers.corpora import SHARED

ROOT = Path(__file__).resolve().parents[2]


CORPUS = ROOT / "tests" / "corpus"
# A wire report and an outlet's edited copy, written for these tests (tests/corpus/wire).
WIRE = CORPUS / "wire" / "csto-withdrawal-2022-01-13.txt"
OUTLET_COPY = CORPUS / "wire" / "csto-withdrawal-2022-01-13.outlet.txt"
# Other people's corpora live beside the checkout, never in it (tests/helpers/corpora.py
# finds them; NEWSBOT_SHARED points elsewhere); tests that read them skip when absent.
CORPORA = SHARED / "corpora"
# The real report the project was started from: read from there, never copied.
SEED = SHARED / "seed" / "article-2022-01-13-csto-kazakhstan.txt"


def story(path: Path) -> tuple[str, list[str]]:
    """A story of tests/corpus/wire: its headline and its paragraphs."""
    headline, *paragraphs = path.read_text(encoding="utf-8").strip().split("\n\n")
    return headline.strip(), [p.strip() for p in paragraphs]


def rss(items: list[dict[str, Any]], title: str = "Test feed") -> str:
    """A small RSS 2.0 document; each item has title, link, guid, description, date."""
    out = []
    for it in items:
        date = format_datetime(it["date"]) if it.get("date") else ""
        out.append(
            f"<item><title>{it['title']}</title><link>{it['link']}</link>"
            f"<guid>{it.get('guid', it['link'])}</guid>"
            f"<description>{it.get('description', '')}</description>"
            f"<pubDate>{date}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://127.0.0.1/</link><description>t</description>"
        + "".join(out)
        + "</channel></rss>"
    )


class Harness:
    """A config directory for one test, and the service built from it."""

    def __init__(self, root: Path, site: LoopbackSite, telegram: FakeBotAPI) -> None:
        self.root, self.site, self.telegram = root, site, telegram
        self.config = root / "config"
        self.config.mkdir()
        shutil.copy(ROOT / "config" / "rules.yaml", self.config / "rules.yaml")
        self.overrides: dict[str, Any] = {}

    def write(self, feeds: list[str], **overrides: Any) -> None:
        """Write settings.yaml and feeds.yaml; feeds are paths on the loopback site."""
        settings = {
            "state_dir": str(self.root / "state"),
            "poll_interval_seconds": 0.5,
            "log_level": "INFO",
            "fetch": {
                "deadline_seconds": 2,
                "connect_timeout_seconds": 1,
                "allow_loopback": True,
                "per_host_interval_seconds": 0,
                "per_host_concurrency": 10,
            },
            "extract": {"workers": 1},
            # Deterministic schedule: every feed is due every interval, errors back off little.
            "polling": {
                "adaptive": False,
                "jitter": 0,
                "min_interval_seconds": 0.1,
                "error_backoff_max_seconds": 0.5,
            },
            "telegram": {"base_url": self.telegram.base_url, "poll_timeout_seconds": 1},
            "web": {"port": 0},  # tests that want the console give it a free port
            "alerts": {
                "deliver_interval_seconds": 0.1,
                "retry_max_seconds": 1,
                "per_chat_interval_seconds": 0,
            },
        }
        for key, value in overrides.items():
            if isinstance(value, dict):
                settings[key] = {**settings.get(key, {}), **value}
            else:
                settings[key] = value
        (self.config / "settings.yaml").write_text(yaml.safe_dump(settings))
        entries = [{"url": self.site.url(p), "name": f"Feed {p}"} for p in feeds]
        (self.config / "feeds.yaml").write_text(yaml.safe_dump({"feeds": entries}))

    def settings(self) -> Settings:
        return load_settings(self.config)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Service]:
        """The service as ``newsbot run`` runs it, stopped (and awaited) on exit."""
        stop = asyncio.Event()
        async with Service(self.settings()) as service:
            task = asyncio.create_task(service.serve(stop))
            try:
                yield service
            finally:
                stop.set()
                await asyncio.wait_for(task, 20)

    async def wait_sent(self, predicate: Callable[[FakeBotAPI], bool], timeout: float = 20) -> None:
        """Wait (without blocking the event loop) until the fake Bot API saw enough."""
        await asyncio.to_thread(self.telegram.wait_for, predicate, timeout)
