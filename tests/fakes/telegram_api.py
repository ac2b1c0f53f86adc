"""A fake Telegram Bot API server, so the real python-telegram-bot client can be tested.

Point ``telegram.Bot(token, base_url=api.base_url)`` (or ApplicationBuilder().base_url)
at a running FakeBotAPI.  It decodes requests the way PTB sends them (form-encoded or
multipart, nested values as JSON strings; JSON bodies are accepted too), answers with
Telegram's exact envelope and status codes, and records every call for assertions.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ._loopback import LoopbackServer, QuietHandler
from .telegram_methods import BotMethods
from .telegram_updates import UpdateMethods
from .telegram_wire import ApiError, parse_params

DEFAULT_TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz0123"
_PATH = re.compile(r"/bot([^/]+)/([A-Za-z]+)/?")


class _BotHandler(QuietHandler):
    def do_POST(self) -> None:
        self._serve(self.read_body())

    def do_GET(self) -> None:
        self._serve(b"")

    def _serve(self, body: bytes) -> None:
        url = urlsplit(self.path)
        ctype = self.headers.get("Content-Type", "")
        status, payload = self.owner.handle_call(url.path, ctype, body, url.query)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeBotAPI(UpdateMethods, BotMethods, LoopbackServer):
    """In-process Telegram Bot API on 127.0.0.1 with recording and fault injection.

    All test-side methods are thread-safe; use ``wait_for`` (or ``wait_for_async`` from
    async tests) instead of sleeping.
    """

    handler_class = _BotHandler

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        super().__init__("127.0.0.1")
        self.token = token
        self._requests: list[tuple[str, dict[str, Any]]] = []
        self._updates, self._acked, self._next_update = [], 0, 1
        self._sent, self._edits, self._messages, self._user_messages = [], [], {}, {}
        self._next_ids, self._chats, self._admins = {}, {}, {}
        self._commands, self._last_commands, self._descriptions = {}, None, {}
        self._blocked, self._migrated, self._callback_ids = set(), {}, set()
        self._callback_answers: list[dict[str, Any]] = []
        self._faults: dict[str, deque[ApiError]] = {}
        self._down = False
        self._holds: dict[str, threading.Event] = {}
        self._waiting: Counter[str] = Counter()
        self._delays: dict[str, float] = {}
        self._methods: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
            name.lower(): (name, fn)
            for name, fn in {
                "getMe": self.get_me,
                "deleteWebhook": self.delete_webhook,
                "getWebhookInfo": self.get_webhook_info,
                "close": self.constant_true,
                "logOut": self.constant_true,
                "setMyCommands": self.set_my_commands,
                "getMyCommands": self.get_my_commands,
                "deleteMyCommands": self.delete_my_commands,
                "getUpdates": self.get_updates,
                "sendMessage": self.send_message,
                "editMessageText": self.edit_message_text,
                "editMessageReplyMarkup": self.edit_message_reply_markup,
                "answerCallbackQuery": self.answer_callback_query,
                "sendChatAction": self.send_chat_action,
                "setMyDescription": self.set_my_description,
                "getMyDescription": self.get_my_description,
                "setMyShortDescription": self.set_my_short_description,
                "getMyShortDescription": self.get_my_short_description,
                "getChat": self.get_chat,
                "getChatMember": self.get_chat_member,
                "getChatAdministrators": self.get_chat_administrators,
            }.items()
        }

    @property
    def base_url(self) -> str:
        """What PTB expects as ``base_url``: it appends ``token + "/" + method``."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- request path ------------------------------------------------------------
    def handle_call(
        self, path: str, content_type: str, body: bytes, query: str
    ) -> tuple[int, dict[str, Any]]:
        """Record one HTTP call and return (status, JSON envelope)."""
        match = _PATH.fullmatch(path)
        name = match[2] if match else path
        name = self._methods.get(name.lower(), (name, None))[0]
        self._wait_if_held(name)
        try:
            params, parse_error = parse_params(content_type, body, query), None
        except ApiError as exc:
            params, parse_error = {}, exc
        with self._cond:
            self._requests.append((name, params))
            self._cond.notify_all()
            try:
                if parse_error is not None:
                    raise parse_error
                result = self._dispatch(match, name, params)
            except ApiError as exc:
                return exc.status, exc.payload()
            except Exception as exc:  # a bug in the fake: make it loud, not a dropped socket
                return 500, ApiError(500, f"Internal Server Error: fake raised {exc!r}").payload()
            finally:
                self._cond.notify_all()
        return 200, {"ok": True, "result": result}

    def _dispatch(self, match: re.Match[str] | None, name: str, params: dict[str, Any]) -> Any:
        if match is None:
            raise ApiError(404, "Not Found")
        if match[1] != self.token:
            raise ApiError(401, "Unauthorized")
        if self._down:
            raise ApiError(502, "Bad Gateway")
        entry = self._methods.get(name.lower())
        if entry is None:
            raise ApiError(404, "Not Found: method not found")
        faults = self._faults.get(entry[0])
        if faults:
            raise faults.popleft()
        return entry[1](params)

    # -- test-side: updates (more in UpdateMethods) -------------------------------
    @property
    def updates_consumed(self) -> int:
        """Highest update_id the client acknowledged (getUpdates with a higher offset)."""
        with self._cond:
            return self._acked

    @property
    def pending_updates(self) -> int:
        with self._cond:
            return len(self._updates)

    def wait_consumed(self, update_id: int, timeout: float = 10.0) -> None:
        """Block until the client has acknowledged ``update_id``."""
        self.wait_for(lambda api: api.updates_consumed >= update_id, timeout)

    # -- test-side: recordings ---------------------------------------------------
    @property
    def sent(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._sent)

    @property
    def edits(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._edits)

    @property
    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        with self._cond:
            return list(self._requests)

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Params of every call to ``method`` (including failed ones)."""
        return [params for name, params in self.requests if name == method]

    @property
    def commands(self) -> list[dict[str, Any]] | None:
        with self._cond:
            return self._last_commands

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        """Params of every answerCallbackQuery that Telegram accepted."""
        with self._cond:
            return list(self._callback_answers)

    def describe(self) -> str:
        with self._cond:
            methods = [name for name, _ in self._requests[-15:]]
            texts = [s["text"][:80] for s in self._sent[-5:]]
            return f"last requests={methods}, last sent texts={texts}"

    # -- test-side: configuration and faults -------------------------------------
    def fail(
        self,
        method: str,
        status: int,
        description: str,
        *,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with this error envelope."""
        with self._cond:
            queue = self._faults.setdefault(method, deque())
            queue.extend(
                ApiError(status, description, retry_after=retry_after) for _ in range(times)
            )

    def hold(self, method: str) -> None:
        """Calls of ``method`` wait unanswered (in flight, as the client sees it) until released."""
        with self._cond:
            self._holds.setdefault(method, threading.Event())

    def release(self, method: str) -> None:
        """Answer the held calls of ``method``, and every later one at once."""
        with self._cond:
            gate = self._holds.pop(method, None)
        if gate is not None:
            gate.set()

    def waiting(self, method: str) -> int:
        """How many calls of ``method`` are held right now."""
        with self._cond:
            return self._waiting[method]

    def delay(self, method: str, seconds: float) -> None:
        """Answer every call of ``method`` ``seconds`` late, as a distant server does."""
        with self._cond:
            self._delays[method] = seconds

    def _wait_if_held(self, name: str) -> None:
        with self._cond:
            late = self._delays.get(name, 0.0)
        if late:
            self._stopping.wait(late)  # the server's latency, not a test wait
        with self._cond:
            gate = self._holds.get(name)
            if gate is None:
                return
            self._waiting[name] += 1
            self._cond.notify_all()
        try:
            gate.wait(60)
        finally:
            with self._cond:
                self._waiting[name] -= 1

    def set_down(self, down: bool) -> None:
        """While down, every call answers 502 Bad Gateway (PTB: NetworkError)."""
        with self._cond:
            self._down = down

    def set_blocked(self, chat_id: int, blocked: bool = True) -> None:
        """sendMessage to this chat answers 403 "bot was blocked by the user"."""
        with self._cond:
            (self._blocked.add if blocked else self._blocked.discard)(chat_id)

    def set_chat_admins(
        self, chat_id: int, user_ids: list[int], *, creator: int | None = None
    ) -> None:
        """getChatMember/getChatAdministrators report these users as admins (and creator)."""
        with self._cond:
            self._admins[chat_id] = (creator, list(user_ids))

    def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """Calls to ``old_chat_id`` answer 400 with migrate_to_chat_id (PTB: ChatMigrated)."""
        with self._cond:
            self._migrated[old_chat_id] = new_chat_id
