"""Regular-expression terms that cannot backtrack catastrophically.

A rule's regex is refused unless it passes three checks: it compiles; it has no
backreferences and no unbounded quantifier nested inside another (``(a+)+``,
``(x*y?)*``: the shapes behind exponential backtracking); and a probe against
adversarial input finishes within a strict time bound. At match time every
search runs under a timeout as well, so a pattern that slips through can only
cost that bound, never a stuck cycle.
"""

from __future__ import annotations

import re
import re._parser as sre  # the stdlib parser, used only to inspect structure
from functools import lru_cache

import regex

FLAGS = regex.IGNORECASE | regex.UNICODE
MATCH_TIMEOUT = 0.05  # seconds per search, per field
PROBE_TIMEOUT = 0.05
MAX_LENGTH = 300
_UNBOUNDED = sre.MAXREPEAT
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)}
_PROBES = ("a" * 3000 + "!", "aA1 -" * 600 + "\x00", "x" * 2000 + "y" * 2000 + "\n" * 10)


def _nested(items: sre.SubPattern | list, inside_unbounded: bool) -> str | None:
    """Describe the first dangerous construct in a parsed pattern, if any."""
    for op, arg in items:
        if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            return "backreferences are not allowed"
        if op in _REPEATS:
            _low, high, sub = arg
            unbounded = high == _UNBOUNDED or high > 1000
            if unbounded and inside_unbounded:
                return (
                    "a repeated group contains another unbounded repeat (catastrophic backtracking)"
                )
            found = _nested(sub, inside_unbounded or unbounded)
            if found:
                return found
        elif op == sre.SUBPATTERN:
            found = _nested(arg[-1], inside_unbounded)
            if found:
                return found
        elif op == sre.BRANCH:
            for branch in arg[1]:
                found = _nested(branch, inside_unbounded)
                if found:
                    return found
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            found = _nested(arg[1], inside_unbounded)
            if found:
                return found
    return None


@lru_cache(maxsize=4096)
def compiled(source: str) -> regex.Pattern:
    """The compiled pattern (cached: rules are reloaded, patterns rarely change)."""
    return regex.compile(source, FLAGS)


def check_regex(source: str) -> str:
    """Return ``source`` if it is a safe regex term, else raise ValueError saying why."""
    label = f"'re:{source}'"
    if not source.strip():
        raise ValueError(f"{label}: empty regular expression")
    if len(source) > MAX_LENGTH:
        raise ValueError(f"{label}: longer than {MAX_LENGTH} characters")
    try:
        parsed = sre.parse(source, re.IGNORECASE)
        pattern = compiled(source)
    except (re.error, regex.error) as exc:
        raise ValueError(f"{label}: invalid regular expression: {exc}") from None
    problem = _nested(parsed, False)
    if problem:
        raise ValueError(f"{label}: {problem}")
    try:
        for probe in _PROBES:
            pattern.search(probe, timeout=PROBE_TIMEOUT)
    except TimeoutError:
        raise ValueError(f"{label}: too slow on a test input (catastrophic backtracking)") from None
    if pattern.search(""):
        raise ValueError(f"{label}: matches the empty string, so it would hit every article")
    return source
