"""Telegram commands for how a chat receives alerts: its state, pause, mode, mutes, time.

Times people type ("/mode daily 8:30", "/quiet 22:00-07:00") and the times shown
to them (mute ends, digest times) are in the chat's own time zone (/timezone).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.core.clock import utcnow
from bot.core.i18n import LANGUAGES, N_, Html, Texts, esc
from bot.core.localtime import find_zone, parse_clock, parse_window, suggest_zones, zone
from bot.delivery.render import clip
from bot.store.subs import ChatSettings
from bot.telegram.commands import ChatUI, may_change
from bot.telegram.conversation import Command, Conversation, Handler

COMMANDS = [
    ("mysubs", N_("This chat's topics and settings")),
    ("pause", N_("Stop all alerts to this chat")),
    ("resume", N_("Start alerts again")),
    ("mode", N_("Alerts at once, or as a digest: instant, hourly, daily HH:MM")),
    ("mute", N_("Silence a topic for a while: /mute <topic> <2h|3d|1w|off>")),
    ("timezone", N_("This chat's time zone: /timezone Europe/Berlin")),
    ("quiet", N_("Quiet hours, held for a digest: /quiet 22:00-07:00")),
]
_DURATION = re.compile(r"^(\d{1,4})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_MUTE = timedelta(days=365)
ECHO_CHARS = 60


def parse_duration(text: str) -> timedelta | None:
    """``90m``, ``12h``, ``3d``, ``2w`` -> timedelta; None if malformed or over a year."""
    m = _DURATION.match(text.strip().lower())
    if not m or int(m[1]) == 0:
        return None
    span = timedelta(**{_UNITS[m[2]]: int(m[1])})
    return span if span <= MAX_MUTE else None


def mode_line(now: ChatSettings, t: Texts) -> str:
    """How alerts arrive, in words."""
    if now.mode == "hourly":
        return t._("as one digest an hour")
    if now.mode == "daily":
        return t._("as one digest a day at {clock}", clock=now.digest_at or "08:00")
    return t._("as they happen")


class PrefsUI:
    """Handlers for a chat's delivery preferences."""

    def __init__(self, ui: ChatUI) -> None:
        self.ui, self.subs = ui, ui.store.subs

    def _zone_name(self, now: ChatSettings) -> str:
        return now.timezone or "UTC"

    async def mysubs(self, cmd: Command, conv: Conversation) -> None:
        """Everything about this chat: topics, mode, time zone, quiet hours, pause, mutes."""
        t = self.ui.texts_for(cmd)
        now = self.subs.settings_of(cmd.chat_id)
        names = {x.id: x.name for x in self.ui.topics()}
        mine = [esc(names.get(i, i)) for i in self.subs.topics_of(cmd.chat_id)]
        where = zone(now.timezone)
        lines = [
            t._("Topics: {topics}", topics=Html(", ".join(mine)))
            if mine
            else t._("Topics: none yet (/topics)"),
            t._("Alerts arrive {mode}.", mode=mode_line(now, t)),
            t._(
                "Time zone: {zone} (now {clock})",
                zone=self._zone_name(now),
                clock=t.clock(utcnow(), where),
            ),
            t._("Quiet hours: {start}–{end}", start=now.quiet[0], end=now.quiet[1])
            if now.quiet
            else t._("Quiet hours: none"),
            t._("Language: {language}", language=LANGUAGES[t.lang]),
        ]
        if now.paused:
            lines.append(t._("⏸ Paused: no alerts until /resume."))
        for topic, until in sorted(now.muted.items()):
            if until is not None:
                lines.append(
                    t._(
                        "🔕 {topic} muted until {until}",
                        topic=names.get(topic, topic),
                        until=t.when(until, where),
                    )
                )
        await conv.reply("\n".join(lines))

    async def pause(self, cmd: Command, conv: Conversation) -> None:
        """Pause all alerts."""
        t = self.ui.texts_for(cmd)
        if await may_change(cmd, conv, t):
            self.subs.set_paused(cmd.chat_id, True)
            await conv.reply(t._("Paused: no alerts until /resume."))

    async def resume(self, cmd: Command, conv: Conversation) -> None:
        """Resume alerts, saying how many were skipped meanwhile."""
        t = self.ui.texts_for(cmd)
        if await may_change(cmd, conv, t):
            skipped = self.subs.set_paused(cmd.chat_id, False)
            text = t._("Resumed: alerts are on again.")
            if skipped:
                text += " " + t.n(
                    "{n} alert was skipped while paused.",
                    "{n} alerts were skipped while paused.",
                    skipped,
                )
            else:
                text += " " + t._("No alert was skipped while paused.")
            await conv.reply(text)

    async def mode(self, cmd: Command, conv: Conversation) -> None:
        """Show or set instant/hourly/daily delivery."""
        t = self.ui.texts_for(cmd)
        now = self.subs.settings_of(cmd.chat_id)
        usage = t._(
            "Usage: /mode instant | /mode hourly | /mode daily HH:MM (time in {zone})",
            zone=self._zone_name(now),
        )
        if not cmd.args:
            await conv.reply(t._("Alerts arrive {mode}.", mode=mode_line(now, t)) + "\n" + usage)
            return
        choice, rest = cmd.args[0].lower(), cmd.args[1:]
        clock = parse_clock(rest[0]) if choice == "daily" and len(rest) == 1 else None
        if not ((choice in ("instant", "hourly") and not rest) or clock is not None):
            await conv.reply(usage)
            return
        if await may_change(cmd, conv, t):
            self.subs.set_mode(cmd.chat_id, choice, clock)
            done = self.subs.settings_of(cmd.chat_id)
            text = t._("Alerts arrive {mode}.", mode=mode_line(done, t))
            if choice == "daily":
                text += " " + t._(
                    "(Time zone: {zone}; /timezone changes it.)", zone=self._zone_name(done)
                )
            await conv.reply(text)

    async def mute(self, cmd: Command, conv: Conversation) -> None:
        """Mute a topic this chat follows for a duration, or lift the mute."""
        t = self.ui.texts_for(cmd)
        usage = t._(
            "Usage: /mute &lt;topic&gt; &lt;duration&gt;, e.g. /mute tokayev 12h "
            "(m, h, d, w; or off)"
        )
        if len(cmd.args) < 2:
            await conv.reply(usage)
            return
        name, how = " ".join(cmd.args[:-1]), cmd.args[-1].lower()
        topic = self.ui.find(name)
        span = None if how == "off" else parse_duration(how)
        if topic is None:
            await conv.reply(self.ui.unknown_topic(name, t) + "\n" + usage)
            return
        if how != "off" and span is None:
            await conv.reply(
                t._("“{duration}” is not a duration.", duration=clip(how, ECHO_CHARS))
                + "\n"
                + usage
            )
            return
        topic_name = Html(f"<b>{esc(topic.name)}</b>")
        if topic.id not in self.subs.topics_of(cmd.chat_id):
            await conv.reply(
                t._(
                    "This chat does not follow {topic}, so there is nothing to mute.",
                    topic=topic_name,
                )
            )
            return
        if await may_change(cmd, conv, t):
            until: datetime | None = None if span is None else utcnow() + span
            self.subs.mute(cmd.chat_id, topic.id, until)
            if until is None:
                await conv.reply(t._("{topic} unmuted.", topic=topic_name))
                return
            where = zone(self.subs.settings_of(cmd.chat_id).timezone)
            await conv.reply(
                t._("{topic} muted until {until}.", topic=topic_name, until=t.when(until, where))
            )

    async def timezone(self, cmd: Command, conv: Conversation) -> None:
        """Show or set the chat's time zone."""
        t = self.ui.texts_for(cmd)
        usage = t._("Usage: /timezone Area/City, e.g. /timezone Europe/Berlin or Asia/Almaty")
        if not cmd.args:
            now = self.subs.settings_of(cmd.chat_id)
            here = t.clock(utcnow(), zone(now.timezone))
            await conv.reply(
                t._("Time zone: {zone} (now {clock})", zone=self._zone_name(now), clock=here)
                + "\n"
                + usage
            )
            return
        asked = " ".join(cmd.args)
        name = find_zone(asked)
        if name is None:
            close = suggest_zones(asked)
            text = t._("“{zone}” is not a time zone I know.", zone=clip(asked, ECHO_CHARS))
            if close:
                text += " " + t._("Did you mean {names}?", names=", ".join(close))
            await conv.reply(text + "\n" + usage)
            return
        if await may_change(cmd, conv, t):
            self.subs.set_timezone(cmd.chat_id, None if name == "UTC" else name)
            await conv.reply(
                t._(
                    "Time zone: {zone}. It is {clock} there now.",
                    zone=name,
                    clock=t.clock(utcnow(), zone(name)),
                )
            )

    async def quiet(self, cmd: Command, conv: Conversation) -> None:
        """Set or lift quiet hours: alerts then wait, and come as one digest after."""
        t = self.ui.texts_for(cmd)
        now = self.subs.settings_of(cmd.chat_id)
        usage = t._(
            "Usage: /quiet 22:00-07:00 (time in {zone}) or /quiet off", zone=self._zone_name(now)
        )
        if not cmd.args:
            state = (
                t._("Quiet hours: {start}–{end}", start=now.quiet[0], end=now.quiet[1])
                if now.quiet
                else t._("Quiet hours: none")
            )
            await conv.reply(state + "\n" + usage)
            return
        off = [a.lower() for a in cmd.args] == ["off"]
        window = None if off else parse_window(" ".join(cmd.args))
        if not off and window is None:
            await conv.reply(usage)
            return
        if await may_change(cmd, conv, t):
            self.subs.set_quiet(cmd.chat_id, window)
            if window is None:
                await conv.reply(t._("Quiet hours lifted: alerts arrive at any time."))
                return
            await conv.reply(
                t._(
                    "Quiet hours: {start}–{end} ({zone}). Alerts in those hours wait, "
                    "and arrive as one digest when they end.",
                    start=window[0],
                    end=window[1],
                    zone=self._zone_name(now),
                )
            )

    def commands(self) -> dict[str, Handler]:
        """The ``/name`` commands this class answers."""
        return {name: getattr(self, name) for name, _ in COMMANDS}
