"""The chat's language: gettext catalogues for newsbot's words, CLDR for dates and names.

Messages are written in English in the code, marked ``texts._("…")`` (or
``texts.plain("…")`` for a button's label or a notice, ``texts.n(singular,
plural, count)``, or ``N_("…")`` where the text is only named and translated
later). ``tools/i18n.py`` extracts them with Babel into ``bot/locale/newsbot.pot``,
merges them into each ``bot/locale/<lang>/LC_MESSAGES/newsbot.po`` and compiles
the ``.mo`` files that ship next to them; tests/core/test_i18n.py fails when a
catalogue lacks a message or a ``.mo`` no longer matches its ``.po``.

Every message is Telegram HTML. ``{fields}`` are escaped as they are filled in,
unless they are ``Html`` (markup built, and escaped, by the caller), so a name or
a title can never break a message.
"""

from __future__ import annotations

import asyncio
import gettext
import html
from datetime import datetime, tzinfo
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "newsbot"
DEFAULT_LANGUAGE = "en"
# The languages newsbot speaks, each named in itself (for /language).
LANGUAGES = {"en": "English", "de": "Deutsch", "ru": "Русский", "kk": "Қазақша"}


def N_(message: str) -> str:  # gettext's name for "mark, translate later"
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


class Html(str):
    """Markup that is already safe: filled into a message as it is, not escaped."""

    __slots__ = ()


def esc(text: str) -> Html:
    """``text`` escaped for Telegram HTML text (not for an attribute), as ``Html``."""
    return Html(html.escape(text, quote=False))


def pick(code: str | None) -> str:
    """The language newsbot speaks for a Telegram ``language_code`` ("de-AT" -> "de")."""
    base = (code or "").replace("_", "-").split("-")[0].strip().lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def _fill(message: str, fields: dict[str, object]) -> str:
    if not fields:
        return message
    safe = {
        k: v if isinstance(v, Html | int | float) else html.escape(str(v), quote=False)
        for k, v in fields.items()
    }
    return message.format(**safe)


class Texts:
    """newsbot's words, dates and names in one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        self._catalog = gettext.translation(
            DOMAIN, LOCALE_DIR, languages=[self.lang], fallback=True
        )

    def _(self, message: str, **fields: object) -> str:
        """``message`` in this language, its ``{fields}`` filled in (and escaped)."""
        return _fill(self._catalog.gettext(message), fields)

    def plain(self, message: str, **fields: object) -> str:
        """``message`` as plain text (a button, a notice): fields are filled in as they are."""
        translated = self._catalog.gettext(message)
        return translated.format(**fields) if fields else translated

    def n(self, singular: str, plural: str, count: int, **fields: object) -> str:
        """The plural form for ``count`` (filled in as ``{n}``) in this language."""
        return _fill(self._catalog.ngettext(singular, plural, count), {"n": count, **fields})

    def language_name(self, code: str) -> str:
        """The name of language ``code`` in this language ("ru" in German: "Russisch")."""
        from babel import Locale, UnknownLocaleError

        base = code.split("-")[0].lower()
        try:
            return Locale.parse(self.lang).languages.get(base) or base
        except (UnknownLocaleError, ValueError):
            return base

    def when(self, moment: datetime, zone: tzinfo, *, now: datetime | None = None) -> str:
        """A date and time in ``zone``, as this language writes it, with the zone's name.

        The year is left out for this year's dates: "13. Jan., 10:30 CET".
        """
        from babel.dates import format_skeleton

        local = moment.astimezone(zone)
        this_year = (now or datetime.now(zone)).astimezone(zone).year == local.year
        day = format_skeleton("MMMd" if this_year else "yMMMd", local, locale=self.lang)
        return f"{day}, {self.clock(moment, zone)}"

    def day_time(self, moment: datetime, zone: tzinfo, *, today: datetime) -> str:
        """The time of day in ``zone``, with the day when it is not ``today``'s ("Dec 1, 23:43")."""
        from babel.dates import format_skeleton

        local, now = moment.astimezone(zone), today.astimezone(zone)
        if local.date() == now.date():
            return f"{local:%H:%M}"
        return f"{format_skeleton('MMMd', local, locale=self.lang)}, {local:%H:%M}"

    def clock(self, moment: datetime, zone: tzinfo) -> str:
        """The time of day in ``zone`` with the zone's name: "10:30 CET", "15:30 UTC+6"."""
        local = moment.astimezone(zone)
        return f"{local:%H:%M} {zone_label(local)}"

    def number(self, value: int) -> str:
        """A count with this language's digit grouping (12,345 / 12.345 / 12 345)."""
        from babel.numbers import format_decimal

        return format_decimal(value, locale=self.lang)


_warm = False


async def warmed() -> None:
    """Import Babel and load each language's CLDR data in a thread, once per process.

    Both are lazy, to keep start-up short; awaited before the first alert is
    rendered, so that its date does not pay for them (over 100 ms) on the event loop.
    """
    global _warm
    if not _warm:
        await asyncio.to_thread(_load_babel)
        _warm = True


def _load_babel() -> None:
    from babel.dates import format_skeleton
    from babel.numbers import format_decimal

    moment = datetime(2022, 1, 5, 12, 0).astimezone()
    for lang in LANGUAGES:
        format_skeleton("MMMd", moment, locale=lang)
        format_decimal(12345, locale=lang)


def zone_label(local: datetime) -> str:
    """A short name for the zone of an aware time: its abbreviation, or ``UTC+5:30``."""
    name = local.tzname() or ""
    if name.isalpha():
        return name
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    if not minutes:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    return f"UTC{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def texts(lang: str | None) -> Texts:
    """The ``Texts`` for ``lang`` (English for a language newsbot does not speak)."""
    return _texts(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


@lru_cache(maxsize=len(LANGUAGES))
def _texts(lang: str) -> Texts:
    return Texts(lang)
