"""Why a topic did not match an article, in words (for admin /test).

The matcher explains a miss in a fixed form (``bot.rules.matcher``); this turns
each form into a sentence in the chat's language, quoting only the article's
words, never a rule's syntax.
"""

from __future__ import annotations

import re

from bot.core.i18n import Texts
from bot.delivery.render import clip

_ALL = re.compile(r"'all' group (\d+) has no hit")
_NONE = re.compile(r"vetoed by 'none' term .* \((['\"])(.*)\1\)$")
_SCORE = re.compile(r"score (\d+) is below min_hits (\d+)")


def verdict_words(reason: str, t: Texts) -> str:
    """A miss's reason as a sentence."""
    if reason.startswith("no 'any' term hit"):
        return t._("its words hit only where they are excluded, or in parts it does not read")
    m = _ALL.match(reason)
    if m:
        return t._("nothing hit its required group {n} ('all')", n=int(m[1]))
    m = _NONE.match(reason)
    if m:
        return t._("the words “{text}” rule it out ('none')", text=clip(m[2], 60))
    m = _SCORE.match(reason)
    if m:
        return t._(
            "{score} hits, and it needs {need} (a title hit counts 2)",
            score=int(m[1]),
            need=int(m[2]),
        )
    return t._("it did not match")
