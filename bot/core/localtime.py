"""A chat's own time: its IANA time zone, times of day in it, and quiet hours.

Everything newsbot stores is UTC (``bot.core.clock``); a chat's zone only decides
what "08:00" or "22:00-07:00" mean for it and how times are shown to it. Zones come
from the system's database or, in a slim container without one, the ``tzdata``
package, through ``zoneinfo``.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC_NAME = "UTC"
_CLOCK = re.compile(r"(\d{1,2})[:.h](\d{2})")
_WINDOW = re.compile(r"\s*(\d{1,2}[:.h]\d{2})\s*(?:-|–|—|to|\.\.)\s*(\d{1,2}[:.h]\d{2})\s*")


@lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    """Every zone name, by its case-folded form."""
    names = {n for n in available_timezones() if "/" in n and not n.startswith(("Etc/", "SystemV"))}
    return {n.casefold(): n for n in (*names, UTC_NAME)}


def find_zone(text: str) -> str | None:
    """The IANA name meant by ``text`` ("europe/berlin", "Asia/Almaty", "utc"), or None."""
    key = text.strip().replace(" ", "_").casefold()
    return _zones().get(key)


def suggest_zones(text: str, limit: int = 3) -> list[str]:
    """Zone names close to ``text``, matching on the city too ("Almaty" -> Asia/Almaty)."""
    key = text.strip().replace(" ", "_").casefold()
    names = _zones()
    by_city = [n for k, n in names.items() if k.rsplit("/", 1)[-1] == key]
    close = difflib.get_close_matches(key, list(names), n=limit, cutoff=0.6)
    cities = {k.rsplit("/", 1)[-1]: n for k, n in names.items()}
    near_city = difflib.get_close_matches(key, list(cities), n=limit, cutoff=0.75)
    found = [*by_city, *(names[k] for k in close), *(cities[c] for c in near_city)]
    return list(dict.fromkeys(found))[:limit]


def zone(name: str | None) -> tzinfo:
    """The zone for a stored name; UTC for none (names are validated where they enter)."""
    try:
        return ZoneInfo(name or UTC_NAME)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(UTC_NAME)


def parse_clock(text: str) -> str | None:
    """``8:00``, ``08:00``, ``8.00`` or ``8h00`` -> ``08:00``; None unless a 24-hour time."""
    m = _CLOCK.fullmatch(text.strip())
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        return None
    return f"{int(m[1]):02d}:{m[2]}"


def parse_window(text: str) -> tuple[str, str] | None:
    """``22:00-07:00`` -> ``("22:00", "07:00")``; None unless two different valid times."""
    m = _WINDOW.fullmatch(text)
    if not m:
        return None
    start, end = parse_clock(m[1]), parse_clock(m[2])
    return (start, end) if start and end and start != end else None


def _at(day: datetime, clock: str) -> datetime:
    hour, minute = (int(x) for x in clock.split(":"))
    return datetime.combine(day.date(), time(hour, minute), tzinfo=day.tzinfo)


def in_window(now: datetime, where: tzinfo, start: str | None, end: str | None) -> bool:
    """Whether ``now`` falls in the daily window ``start``-``end`` (local; may span midnight)."""
    if not start or not end:
        return False
    local = now.astimezone(where)
    clock = f"{local:%H:%M}"
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def window_end(now: datetime, where: tzinfo, end: str) -> datetime:
    """The next time the local clock shows ``end`` (when quiet hours are over), in UTC."""
    local = now.astimezone(where)
    at = _at(local, end)
    if at <= local:
        at = _at(local + timedelta(days=1), end)
    return at


def next_at(after: datetime, where: tzinfo, clock: str) -> datetime:
    """The first moment after ``after`` when the local clock in ``where`` shows ``clock``."""
    local = after.astimezone(where)
    at = _at(local, clock)
    return at if at > local else _at(local + timedelta(days=1), clock)
