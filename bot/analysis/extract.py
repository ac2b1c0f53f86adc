"""Main-text extraction with trafilatura (run in the worker processes)."""

from __future__ import annotations

MIN_CHARS = 200


def extract_text(html: bytes, url: str) -> str | None:
    """Run trafilatura on one page (in a worker process); None when it finds no text."""
    import trafilatura

    return trafilatura.extract(
        html,
        url=url,
        include_comments=False,
        include_tables=False,
        include_links=False,
        include_images=False,
        deduplicate=True,
    )
