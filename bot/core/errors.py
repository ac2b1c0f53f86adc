"""newsbot's error hierarchy, drawn once so that callers catch the right level.

    NewsbotError
    ├── ConfigError          a settings, feeds or rules file (or env var) is invalid
    ├── StartupError         the bot cannot start here: state not writable, database
    │                        corrupt, port taken, token refused (says what to do)
    ├── FeedError            one feed failed this cycle; the others go on
    │   ├── FetchError       HTTP, network, deadline or size-cap failure
    │   └── ParseError       the body is not a usable feed
    ├── ExtractError         an article page yielded no text
    └── SendError            a message was not delivered (any other sender failure)
        ├── RetryLater       flood control: try again after ``seconds``
        ├── ChatMoved        a group became a supergroup: ``new_chat_id``
        ├── ChatGone         the bot was blocked or removed, or the chat does not exist
        ├── MessageRefused   the message itself was refused (bad HTML, too long, …)
        └── SendUnavailable  no answer: timeout (``timed_out``), network or a 5xx

Every error carries a message meant for a person: it names the file, key, URL
or environment variable it is about. A ``SendError``'s message is the reason the
messaging service gave; senders translate their library's errors into these, so
delivery never sees python-telegram-bot's classes.
"""

from __future__ import annotations


class NewsbotError(Exception):
    """Base class of every error newsbot raises on purpose."""


class ConfigError(NewsbotError):
    """A configuration source is invalid; start-up (or a reload) is refused."""


class StartupError(NewsbotError):
    """Start-up is impossible until the operator acts; the message says how (exit code 2)."""


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


class SendError(NewsbotError):
    """A message was not delivered; the subclasses say what to do about it."""


class RetryLater(SendError):
    """Flood control: sending more before ``seconds`` have passed only extends the wait."""

    def __init__(self, reason: str, *, seconds: float) -> None:
        super().__init__(reason)
        self.seconds = seconds


class ChatMoved(SendError):
    """The group became a supergroup; its messages now go to ``new_chat_id``."""

    def __init__(self, reason: str, *, new_chat_id: int) -> None:
        super().__init__(reason)
        self.new_chat_id = new_chat_id


class ChatGone(SendError):
    """The bot was blocked, kicked or removed, or the chat does not exist."""


class MessageRefused(SendError):
    """This message was refused as it is (invalid HTML, too long, not modified …)."""


class SendUnavailable(SendError):
    """No usable answer: a timeout (``timed_out``), a network error or a server error.

    After a timeout the message may have arrived all the same.
    """

    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.timed_out = timed_out
