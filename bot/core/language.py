"""The language an article is written in, when its feed does not say.

A feed's ``language`` in feeds.yaml is the answer when it is set. Without it, the
script tells the non-Latin languages apart cheaply and reliably enough for a
"read in …" button: Kazakh, Ukrainian and Belarusian Cyrillic by their own
letters, Russian for other Cyrillic, Greek, Arabic, Hebrew, Georgian, Armenian,
Chinese, Japanese and Korean. Latin-script text stays unknown (None) rather than
guessed: a statistical detector would be a dependency for little gain here.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

SAMPLE = 2000  # characters looked at
_KAZAKH = set("әғқңөұүһӘҒҚҢӨҰҮҺ")
_UKRAINIAN = set("єїґЄЇҐ")
_BELARUSIAN = set("ўЎ")
_SCRIPTS = {
    "GREEK": "el",
    "ARABIC": "ar",
    "HEBREW": "he",
    "GEORGIAN": "ka",
    "ARMENIAN": "hy",
    "HANGUL": "ko",
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "CJK": "zh",
}


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else ""


def _cyrillic(letters: list[str]) -> str:
    chars = set(letters)
    kazakh = sum(1 for c in letters if c in _KAZAKH)
    if kazakh >= max(2, len(letters) // 100):
        return "kk"
    if chars & _UKRAINIAN:
        return "uk"
    if chars & _BELARUSIAN:
        return "be"
    return "ru"


def guess_language(text: str) -> str | None:
    """An ISO 639-1 code for a text in a non-Latin script, or None."""
    letters = [c for c in text[:SAMPLE] if c.isalpha()]
    if len(letters) < 20:
        return None
    scripts = Counter(_script(c) for c in letters)
    script, count = scripts.most_common(1)[0]
    if count * 2 < len(letters):
        return None
    if script == "CYRILLIC":
        return _cyrillic([c for c in letters if _script(c) == "CYRILLIC"])
    if script == "CJK" and (scripts["HIRAGANA"] or scripts["KATAKANA"]):
        return "ja"
    return _SCRIPTS.get(script)
