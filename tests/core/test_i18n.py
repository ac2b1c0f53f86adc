"""The catalogues: complete, compiled, and faithful to each message's fields and tags."""

from __future__ import annotations

import copy
import importlib.util
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.i18n import LANGUAGES, Html, pick, texts
from tests.helpers.harness import ROOT


def _tools():
    spec = importlib.util.spec_from_file_location("newsbot_i18n", ROOT / "tools" / "i18n.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["newsbot_i18n"] = module
    spec.loader.exec_module(module)
    return module


i18n = _tools()


def test_every_catalogue_has_every_message_and_its_mo_is_current() -> None:
    assert i18n.languages() == ["de", "kk", "ru"]
    assert set(LANGUAGES) == {"en", *i18n.languages()}
    assert i18n.check() == []


def test_a_catalogue_lacking_a_message_or_a_stale_mo_fails_the_check() -> None:
    wanted = {m.id for m in i18n.extract() if m.id}
    assert len(wanted) > 150, "the code marks its messages"
    catalog = i18n.read("de")
    assert i18n.catalogue_problems("de", catalog, wanted) == []
    broken = copy.deepcopy(catalog)
    gone = "Paused: no alerts until /resume."
    del broken[gone]
    assert i18n.catalogue_problems("de", broken, wanted) == [f"de: lacks {gone!r}"]
    mo = i18n.po_path("de").with_suffix(".mo")
    assert i18n.compiled_problems("de", catalog, mo) == []
    assert i18n.compiled_problems("de", broken, mo) == [
        "bot/locale/de/LC_MESSAGES/newsbot.mo is stale: run python tools/i18n.py compile"
    ]


def test_a_translation_that_breaks_a_field_or_a_tag_is_refused() -> None:
    msgid = "Following <b>{topic}</b> now."
    assert i18n._translation_problems("de", msgid, "Folge <b>{topic}</b>.") == []
    assert i18n._translation_problems("de", msgid, "Folge <b>{thema}</b>.")
    assert i18n._translation_problems("de", msgid, "Folge {topic}.")
    assert i18n._translation_problems("de", msgid, "") == [f"de: no translation for {msgid!r}"]


def test_language_codes_pick_a_catalogue_and_fall_back_to_english() -> None:
    assert [pick(c) for c in ("de-AT", "ru", "kk-KZ", "pt-BR", None, "")] == [
        "de",
        "ru",
        "kk",
        "en",
        "en",
        "en",
    ]
    assert texts("de")._("Paused: no alerts until /resume.") == (
        "Pausiert: keine Meldungen bis /resume."
    )
    assert texts("xx").lang == "en"


def test_fields_are_escaped_unless_they_are_markup() -> None:
    t = texts("en")
    assert t._("Following <b>{topic}</b> now.", topic="<T & T>") == (
        "Following <b>&lt;T &amp; T&gt;</b> now."
    )
    assert t._("Topics: {topics}", topics=Html("<b>A</b>")) == "Topics: <b>A</b>"
    assert t.plain("Following {topic} now.", topic="<T & T>") == "Following <T & T> now."


@pytest.mark.parametrize(
    ("lang", "one", "few", "many"),
    [
        ("en", "1 alert", "3 alerts", "5 alerts"),
        ("de", "1 Meldung", "3 Meldungen", "5 Meldungen"),
        ("ru", "1 оповещение", "3 оповещения", "5 оповещений"),
        ("kk", "1 хабарлама", "3 хабарлама", "5 хабарлама"),
    ],
)
def test_plurals_follow_each_language(lang: str, one: str, few: str, many: str) -> None:
    t = texts(lang)
    assert [t.n("{n} alert", "{n} alerts", k) for k in (1, 3, 5)] == [one, few, many]


def test_dates_times_and_language_names_are_the_languages_own() -> None:
    moment = datetime(2022, 1, 13, 9, 30, tzinfo=UTC)
    later = datetime(2023, 6, 1, tzinfo=UTC)
    almaty, berlin = ZoneInfo("Asia/Almaty"), ZoneInfo("Europe/Berlin")
    assert texts("en").when(moment, berlin, now=later) == "Jan 13, 2022, 10:30 CET"
    assert texts("de").when(moment, berlin, now=later) == "13. Jan. 2022, 10:30 CET"
    assert texts("ru").when(moment, almaty, now=later) == "13 янв. 2022\u202fг., 15:30 UTC+6"
    assert texts("kk").when(moment, almaty, now=moment) == "13 қаң., 15:30 UTC+6"
    assert [texts(x).language_name("ru") for x in ("en", "de", "ru", "kk")] == [
        "Russian",
        "Russisch",
        "русский",
        "орыс тілі",
    ]
    assert texts("de").number(12345) == "12.345"


def test_the_catalogues_ship_in_the_package() -> None:
    """``pip install .`` (the Docker image) must carry every .mo: pyproject's package-data."""
    import fnmatch
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["bot"]
    shipped = [
        str(p.relative_to(ROOT / "bot"))
        for p in (ROOT / "bot" / "locale").rglob("*")
        if p.is_file()
    ]
    assert len([s for s in shipped if s.endswith(".mo")]) == 3
    assert all(any(fnmatch.fnmatch(s, pat) for pat in patterns) for s in shipped), shipped
