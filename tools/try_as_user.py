"""Talk to the real ``newsbot run`` process as a user would, and print every message it sends.

    python tools/try_as_user.py              # a German reader, an admin, a digest chat
    python tools/try_as_user.py --html       # the raw HTML Telegram receives, not the view

Everything is on loopback: the fake Bot API (tests/fakes/telegram_api.py) stands in
for Telegram and a loopback site serves one feed and its article page (the
project's own test article). The bot is the real process, with the real
python-telegram-bot client; each message is printed as its recipient would see
it, buttons included. Nothing reaches the internet.
"""

from __future__ import annotations

import argparse
import html
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from tests.fakes.child_env import child_env  # noqa: E402
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeBotAPI  # noqa: E402
from tests.fakes.web import HTML, LoopbackSite  # noqa: E402
from tests.helpers.harness import CORPUS, rss  # noqa: E402

READER, ADMIN, DIGEST = 7001, 7002, 7003


def view(message: dict[str, Any], raw: bool) -> str:
    """A sent message as its recipient sees it: text, then its buttons."""
    text = message["text"]
    if not raw:
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    buttons = [" ".join(f"[{b['text']}]" for b in row) for row in rows]
    return "\n".join([text, *buttons])


class Session:
    """The fakes, a config directory, and the bot process."""

    def __init__(self, root: Path, api: FakeBotAPI, site: LoopbackSite, raw: bool) -> None:
        self.root, self.api, self.site, self.raw = root, api, site, raw
        self.proc: subprocess.Popen[bytes] | None = None

    def configure(self) -> Path:
        config = self.root / "config"
        config.mkdir()
        (config / "rules.yaml").write_bytes((ROOT / "config" / "rules.yaml").read_bytes())
        settings = {
            "state_dir": str(self.root / "state"),
            "poll_interval_seconds": 1,
            "fetch": {"allow_loopback": True, "per_host_interval_seconds": 0},
            "polling": {"adaptive": False, "jitter": 0, "min_interval_seconds": 0.5},
            "telegram": {"base_url": self.api.base_url, "admins": [ADMIN]},
            "alerts": {"deliver_interval_seconds": 0.2, "digest_check_seconds": 1},
        }
        (config / "settings.yaml").write_text(yaml.safe_dump(settings))
        feed = {"url": self.site.url("/feed.xml"), "name": "Der Standard", "language": "de"}
        (config / "feeds.yaml").write_text(yaml.safe_dump({"feeds": [feed]}))
        return config

    def start(self) -> None:
        config = self.configure()
        log = open(self.root / "bot.log", "wb")  # noqa: SIM115 - the child writes it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run"],
            cwd=self.root,
            env=child_env(DEFAULT_TOKEN),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(20)

    def say(self, chat: int, text: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Send ``text`` as ``chat``; return what the bot answered (waits for a reply)."""
        before = len(self.api.sent)
        print(f"\n>>> {chat}: {text}")
        self.api.push_message(chat, text, **kwargs)
        self.api.wait_for(lambda a: len([m for m in a.sent[before:] if m["chat_id"] == chat]), 30)
        return self.show(before, chat)

    def show(self, before: int, chat: int | None = None) -> list[dict[str, Any]]:
        """Print the messages sent since index ``before`` (to ``chat``, or to anyone)."""
        new = [m for m in self.api.sent[before:] if chat is None or m["chat_id"] == chat]
        for message in new:
            print(f"<<< to {message['chat_id']}:\n{view(message, self.raw)}")
        return new


def conversation(s: Session) -> None:
    """A German reader, an admin and a digest chat, then one article."""
    s.say(READER, "/start", language_code="de")
    s.say(READER, "/subscribe Kasachstan OVKS", language_code="de")
    s.say(READER, "/timezone Asia/Almaty", language_code="de")
    s.say(READER, "hallo?", language_code="de")
    s.say(DIGEST, "/subscribe tokayev", language_code="en")
    s.say(DIGEST, "/mode hourly", language_code="en")
    s.say(ADMIN, "/addterm tokayev re:(a+)+$", language_code="en")
    s.say(ADMIN, "/feeds", language_code="en")
    before = len(s.api.sent)
    page = (CORPUS / "pages" / "standard_de.html").read_bytes()
    s.site.route("/article/1", page, content_type=HTML)
    item = {
        "title": "Fahne eingeholt: Die OVKS zieht ihre Soldaten aus Kasachstan ab",
        "link": s.site.url("/article/1"),
        "description": "Zehn Tage nach dem Hilferuf aus Nur-Sultan fliegen die Soldaten heim.",
        "date": datetime.now(UTC),
    }
    s.site.route("/feed.xml", rss([item]), etag='"2"')
    print("\n--- the feed publishes one article ---")
    s.api.wait_for(lambda a: any(m["chat_id"] == READER for m in a.sent[before:]), 60)
    s.show(before)
    s.say(DIGEST, "/mysubs", language_code="en")


def main() -> int:
    """Run the session; print every exchange."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--html", action="store_true", help="print the HTML as sent")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeBotAPI() as api, LoopbackSite() as site:
        site.route("/feed.xml", rss([]), etag='"1"')
        session = Session(Path(tmp), api, site, args.html)
        session.start()
        try:
            api.wait_for(lambda a: a.calls("getUpdates"), 30)
            conversation(session)
        finally:
            session.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
