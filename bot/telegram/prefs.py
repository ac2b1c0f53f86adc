"""Telegram commands for how a chat receives alerts: pause, resume, mode, mute."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

from bot.core.clock import utcnow
from bot.telegram.commands import ChatUI, may_change
from bot.telegram.conversation import Command, Conversation, Handler

COMMANDS = [
    ("pause", "Stop all alerts to this chat"),
    ("resume", "Start alerts again"),
    ("mode", "instant, hourly, or daily HH:MM (UTC) digest"),
    ("mute", "Silence a topic for a while: /mute <topic> <2h|3d|1w|off>"),
]
MODE_USAGE = "Usage: /mode instant | /mode hourly | /mode daily HH:MM (UTC)"
MUTE_USAGE = (
    "Usage: /mute &lt;topic&gt; &lt;duration&gt;, e.g. /mute tokayev 12h (m, h, d, w; or off)"
)
_DURATION = re.compile(r"^(\d{1,4})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_MUTE = timedelta(days=365)


def parse_duration(text: str) -> timedelta | None:
    """``90m``, ``12h``, ``3d``, ``2w`` -> timedelta; None if malformed or over a year."""
    m = _DURATION.match(text.strip().lower())
    if not m or int(m[1]) == 0:
        return None
    span = timedelta(**{_UNITS[m[2]]: int(m[1])})
    return span if span <= MAX_MUTE else None


def parse_clock(text: str) -> str | None:
    """``8:00`` / ``08:00`` -> ``08:00``; None unless a valid 24-hour time."""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        return None
    return f"{int(m[1]):02d}:{m[2]}"


class PrefsUI:
    """Handlers for a chat's delivery preferences."""

    def __init__(self, ui: ChatUI) -> None:
        self.ui, self.subs = ui, ui.store.subs

    async def pause(self, cmd: Command, conv: Conversation) -> None:
        """Pause all alerts."""
        if await may_change(cmd, conv):
            self.subs.set_paused(cmd.chat_id, True)
            await conv.reply("Paused: no alerts until /resume.")

    async def resume(self, cmd: Command, conv: Conversation) -> None:
        """Resume alerts."""
        if await may_change(cmd, conv):
            self.subs.set_paused(cmd.chat_id, False)
            await conv.reply("Resumed: alerts are on again.")

    async def mode(self, cmd: Command, conv: Conversation) -> None:
        """Show or set instant/hourly/daily delivery."""
        if not cmd.args:
            now = self.subs.settings_of(cmd.chat_id)
            when = f" at {now.digest_at} UTC" if now.mode == "daily" else ""
            await conv.reply(f"Mode: {now.mode}{when}.\n{MODE_USAGE}")
            return
        choice, rest = cmd.args[0].lower(), cmd.args[1:]
        clock = parse_clock(rest[0]) if choice == "daily" and len(rest) == 1 else None
        valid = (choice in ("instant", "hourly") and not rest) or clock is not None
        if not valid:
            await conv.reply(MODE_USAGE)
            return
        if await may_change(cmd, conv):
            self.subs.set_mode(cmd.chat_id, choice, clock)
            text = {
                "instant": "Alerts arrive as they happen.",
                "hourly": "Alerts arrive as one digest per hour.",
            }.get(choice, f"Alerts arrive as one digest a day at {clock} UTC.")
            await conv.reply(text)

    async def mute(self, cmd: Command, conv: Conversation) -> None:
        """Mute a topic for a duration, or lift the mute."""
        if len(cmd.args) != 2:
            await conv.reply(MUTE_USAGE)
            return
        topic = self.ui.find(cmd.args[0])
        off = cmd.args[1].lower() == "off"
        span = None if off else parse_duration(cmd.args[1])
        if topic is None or (span is None and not off):
            what = "Unknown topic" if topic is None else "Bad duration"
            await conv.reply(f"{what}: {html.escape(' '.join(cmd.args))}.\n{MUTE_USAGE}")
            return
        if await may_change(cmd, conv):
            until: datetime | None = None if off else utcnow() + span  # type: ignore[operator]
            self.subs.mute(cmd.chat_id, topic.id, until)
            name = html.escape(topic.name)
            await conv.reply(
                f"<b>{name}</b> unmuted."
                if off
                else f"<b>{name}</b> muted until {until:%Y-%m-%d %H:%M} UTC."
            )

    def commands(self) -> dict[str, Handler]:
        """The ``/name`` commands this class answers."""
        return {"pause": self.pause, "resume": self.resume, "mode": self.mode, "mute": self.mute}
