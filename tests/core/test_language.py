"""Guessing an article's language from its script, when its feed does not say."""

from __future__ import annotations

import pytest

from bot.core.language import guess_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Президент Казахстана Касым-Жомарт Токаев заявил в четверг о выводе войск", "ru"),
        ("Қазақстан Республикасының Президенті Қасым-Жомарт Тоқаев бейсенбіде мәлімдеді", "kk"),
        ("Президент України заявив про підтримку міжнародних партнерів", "uk"),
        ("Ο πρόεδρος του Καζακστάν δήλωσε την Πέμπτη ότι τα στρατεύματα", "el"),
        ("The president of Kazakhstan said on Thursday that the troops", None),
        ("Präsident Tokajew sagte am Donnerstag, die Truppen würden abziehen", None),
        ("OVKS", None),  # too short to tell
    ],
)
def test_scripts_tell_the_non_latin_languages_apart(text: str, lang: str | None) -> None:
    assert guess_language(text) == lang
