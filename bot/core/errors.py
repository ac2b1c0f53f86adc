"""newsbot's error hierarchy, drawn once so that callers catch the right level.

    NewsbotError
    ├── ConfigError        a settings, feeds or rules file (or env var) is invalid
    ├── FeedError          one feed failed this cycle; the others go on
    │   ├── FetchError     HTTP, network, deadline or size-cap failure
    │   └── ParseError     the body is not a usable feed
    └── ExtractError       an article page yielded no text

Every error carries a message meant for a person: it names the file, key, URL
or environment variable it is about.
"""

from __future__ import annotations


class NewsbotError(Exception):
    """Base class of every error newsbot raises on purpose."""


class ConfigError(NewsbotError):
    """A configuration source is invalid; start-up (or a reload) is refused."""


class FeedError(NewsbotError):
    """One feed failed this cycle. ``kind`` is a stable label for logs and health."""

    kind = "feed"

    def __init__(
        self, message: str, *, kind: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind
        self.retry_after = retry_after  # seconds the server asked us to wait, if it did


class FetchError(FeedError):
    """The HTTP request failed: status, network, deadline, redirects or size cap."""

    kind = "fetch"


class ParseError(FeedError):
    """The response is not a feed newsbot can use."""

    kind = "parse"


class ExtractError(NewsbotError):
    """The article page gave no main text; the feed's own text stands in."""
