"""Feed health in words, for chat and console alike: error kinds, "5 min ago", "3 h".

Kept below both fronts (bot/telegram, bot/web) so they word a feed's state the same.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.clock import utcnow
from bot.core.i18n import N_, Texts

KIND_WORDS = {
    "timeout": N_("the server did not answer in time"),
    "deadline": N_("the download took too long"),
    "network": N_("the server could not be reached"),
    "redirects": N_("it redirects too often"),
    "blocked_address": N_("its address is on a private network, which newsbot does not fetch"),
    "url": N_("the address is not valid"),
    "too_large": N_("it is too large"),
    "encoding": N_("the server sends it in an encoding newsbot cannot read"),
    "not_a_feed": N_("it is a web page that links to no feed"),
    "parse": N_("it is not a valid RSS, Atom or JSON feed"),
    "item": N_("some of its articles could not be read"),
    "internal": N_("newsbot failed on it (the log says why)"),
}


def failure_words(kind: str | None, t: Texts) -> str:
    """A feed error kind in words ("http_404" -> "the server answered 404: not found")."""
    kind = kind or "internal"
    if kind.startswith("http_") and kind[5:].isdigit():
        return t._("the server answered HTTP {status}", status=int(kind[5:]))
    return t._(KIND_WORDS.get(kind, KIND_WORDS["internal"]))


def ago(moment: datetime | None, t: Texts, now: datetime | None = None) -> str:
    """How long ago, in words: "5 min", "3 h", "2 days"."""
    if moment is None:
        return t._("never")
    seconds = max(0, int(((now or utcnow()) - moment).total_seconds()))
    if seconds < 60:
        return t._("just now")
    if seconds < 3600:
        return t.n("{n} min ago", "{n} min ago", seconds // 60)
    if seconds < 2 * 86400:
        return t.n("{n} h ago", "{n} h ago", seconds // 3600)
    return t.n("{n} day ago", "{n} days ago", seconds // 86400)


def span(since: datetime | None, t: Texts, now: datetime | None = None) -> str:
    """How long something has lasted: "3 h", "2 days"."""
    seconds = max(60, int(((now or utcnow()) - (since or now or utcnow())).total_seconds()))
    if seconds < 3600:
        return t.n("{n} min", "{n} min", seconds // 60)
    if seconds < 2 * 86400:
        return t.n("{n} h", "{n} h", seconds // 3600)
    return t.n("{n} day", "{n} days", seconds // 86400)


__all__ = ["KIND_WORDS", "ago", "failure_words", "span"]
