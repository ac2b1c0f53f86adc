"""The characters that one backend or parser or another refuses to store, removed.

NUL (PostgreSQL refuses it in text), the other C0 controls but tab, newline and
carriage return (XML 1.0 refuses them), lone surrogates (no UTF-8 encoder takes
them), U+FFFE and U+FFFF. Feeds and pages carry all of these now and then; each
costs only itself.
"""

from __future__ import annotations

import re

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def scrub(value: str) -> str:
    """``value`` without the characters one backend or another refuses to store."""
    return _FORBIDDEN.sub("", value) if value else value
