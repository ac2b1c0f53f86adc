"""newsbot's translations: extract, merge and compile the gettext catalogues with Babel.

    python tools/i18n.py            # extract + update + compile (after changing messages)
    python tools/i18n.py check      # what tests/core/test_i18n.py checks; exits 1 if wrong

``extract`` writes bot/locale/newsbot.pot from every ``_("…")``, ``plain("…")``,
``n("…", "…", k)`` and ``N_("…")`` under bot/; ``update`` merges it into each language's .po (new
messages arrive empty, for a translator); ``compile`` writes the .mo next to
each .po. The .mo files are committed, so ``pip install .`` and the Docker image
need no build step; ``check`` fails when one is stale or a catalogue lacks,
leaves empty or marks fuzzy a message, or changes its ``{fields}`` or HTML tags.
"""

from __future__ import annotations

import io
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "bot"
LOCALE = SOURCE / "locale"
DOMAIN = "newsbot"
TEMPLATE = LOCALE / f"{DOMAIN}.pot"
KEYWORDS = {"_": None, "plain": None, "n": (1, 2), "N_": None}
# Fixed, so that the template changes only when a message does.
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_FIELD = re.compile(r"\{([a-z_]+)\}")
# Telegram's HTML tags; "<topic>" in a menu entry is plain text, not a tag.
_TAG = re.compile(
    r"</?(b|strong|i|em|u|ins|s|strike|del|a|code|pre|span|tg-spoiler|blockquote)\b[^>]*>"
)


def languages() -> list[str]:
    """Every language with a catalogue under bot/locale."""
    return sorted(p.parent.parent.name for p in LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> Catalog:
    """Every message marked in bot/, with where it is used."""
    catalog = Catalog(project="newsbot", creation_date=EPOCH, fuzzy=False)
    found = extract_from_dir(
        str(SOURCE),
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    )
    for filename, lineno, message, comments, context in found:
        catalog.add(
            message,
            None,
            [(f"bot/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, sort_output=True, include_lineno=False)
    return out.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    """The compiled catalogue, as ``compile`` writes it."""
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def read(lang: str) -> Catalog:
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def update(template: Catalog) -> None:
    """Merge the template into every language's catalogue (writes the .po files)."""
    for lang in languages():
        catalog = read(lang)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        po_path(lang).write_bytes(_po_bytes(catalog))


def compile_all() -> None:
    """Write each .mo from its .po."""
    for lang in languages():
        po_path(lang).with_suffix(".mo").write_bytes(mo_bytes(read(lang)))


def _strings(message: object) -> tuple[str, ...]:
    if isinstance(message, tuple | list):
        return tuple(m for m in message if isinstance(m, str))
    return (message,) if isinstance(message, str) else ()


def _shape(text: str) -> tuple[set[str], list[str]]:
    return set(_FIELD.findall(text)), sorted(_TAG.findall(text))


def _translation_problems(lang: str, msgid: object, msgstr: object) -> list[str]:
    ids, strs = _strings(msgid), _strings(msgstr)
    if not strs or not all(s.strip() for s in strs):
        return [f"{lang}: no translation for {ids[0]!r}"]
    fields, tags = _shape(ids[-1])
    problems = []
    for s in strs:
        got_fields, got_tags = _shape(s)
        # A plural form may leave out {n} ("one alert"), never add or rename a field.
        if not got_fields <= fields | {"n"} or not (fields - {"n"}) <= got_fields:
            problems.append(f"{lang}: {ids[0]!r}: fields {sorted(got_fields)} != {sorted(fields)}")
        if got_tags != tags:
            problems.append(f"{lang}: {ids[0]!r}: HTML tags {got_tags} != {tags}")
    return problems


def catalogue_problems(lang: str, catalog: Catalog, wanted: set) -> list[str]:
    """What ``catalog`` lacks or gets wrong of the ``wanted`` message ids."""
    have = {m.id: m for m in catalog if m.id}
    problems = []
    for msgid in sorted(wanted, key=str):
        message = have.get(msgid)
        if message is None:
            problems.append(f"{lang}: lacks {_strings(msgid)[0]!r}")
        elif message.fuzzy:
            problems.append(f"{lang}: {_strings(msgid)[0]!r} is marked fuzzy")
        else:
            problems += _translation_problems(lang, msgid, message.string)
    return problems


def _messages(catalog: Catalog) -> dict:
    """What a catalogue translates, header left out (it names the Babel that wrote it)."""
    def plain(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {
        plain(m.id): plain(m.string) for m in catalog if m.id and m.string and not m.fuzzy
    }


def compiled_problems(lang: str, catalog: Catalog, mo: Path) -> list[str]:
    """Whether ``mo`` holds exactly the translations of ``catalog``."""
    if mo.exists():
        with mo.open("rb") as f:
            if _messages(read_mo(f)) == _messages(catalog):
                return []
    return [f"{mo.relative_to(ROOT)} is stale: run python tools/i18n.py compile"]


def check() -> list[str]:
    """What is wrong with the catalogues, in words; empty when nothing is."""
    wanted = {m.id for m in extract() if m.id}
    problems = []
    committed = {m.id for m in read_po(TEMPLATE.open("rb")) if m.id} if TEMPLATE.exists() else set()
    if committed != wanted:
        problems.append(f"{TEMPLATE.relative_to(ROOT)} is stale: run python tools/i18n.py")
    for lang in languages():
        catalog = read(lang)
        problems += catalogue_problems(lang, catalog, wanted)
        problems += compiled_problems(lang, catalog, po_path(lang).with_suffix(".mo"))
    return problems


def main(argv: list[str]) -> int:
    """Run the steps named in ``argv`` (all of them by default)."""
    step = argv[0] if argv else "all"
    if step in ("all", "extract", "update"):
        template = extract()
        TEMPLATE.write_bytes(_po_bytes(template))
        if step != "extract":
            update(template)
    if step in ("all", "compile"):
        compile_all()
    if step == "check":
        problems = check()
        print("\n".join(problems) or "catalogues complete and compiled")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
