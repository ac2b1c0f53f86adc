"""Bot API method implementations for FakeBotAPI.

Kept separate from the server plumbing so each file stays readable.  Every method runs
with FakeBotAPI's Condition held and receives already-decoded parameters.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .telegram_html import HTMLParseError, html_to_text
from .telegram_markup import check_markup
from .telegram_profile import ProfileMethods
from .telegram_wire import ApiError, bad_request

MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_ANSWER = 200
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
DEFAULT_GROUP_USER_ID = 1111
_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
)


def visible_text(params: dict[str, Any]) -> str:
    """Validate text the way Telegram does; return what the user would see."""
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("message text is empty")
    visible = text
    if str(params.get("parse_mode") or "").upper() == "HTML":
        try:
            visible = html_to_text(text)
        except HTMLParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    if not visible.strip():
        raise bad_request("message text is empty")
    if len(visible) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return visible


def user_dict(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}


def inline_markup(markup: Any) -> dict[str, Any] | None:
    """Telegram echoes reply_markup in the Message only for inline keyboards."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup
    return None


class BotMethods(ProfileMethods):
    """Mixin with the Bot API methods; state lives on FakeBotAPI (see its __init__)."""

    token: str
    _cond: threading.Condition
    _stopping: threading.Event
    _updates: list[dict[str, Any]]
    _acked: int
    _sent: list[dict[str, Any]]
    _edits: list[dict[str, Any]]
    _messages: dict[tuple[int, int], dict[str, Any]]
    _next_ids: dict[int, int]
    _chats: dict[int, dict[str, Any]]
    _admins: dict[int, tuple[int | None, list[int]]]
    _blocked: set[int]
    _migrated: dict[int, int]
    _callback_ids: set[str]
    _callback_answers: list[dict[str, Any]]

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "newsbot-test",
            "username": "newsbot_test_bot",
        }

    def chat(self, chat_id: int) -> dict[str, Any]:
        """A known chat (from pushed messages) or one inferred from the id's sign."""
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}

    def next_message_id(self, chat_id: int) -> int:
        """Message ids are per chat and shared by users and the bot, as in Telegram."""
        self._next_ids[chat_id] = self._next_ids.get(chat_id, 0) + 1
        return self._next_ids[chat_id]

    def _target_chat(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if not isinstance(chat_id, int):
            raise bad_request("chat not found")
        if chat_id in self._migrated:
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self._migrated[chat_id],
            )
        return chat_id

    # -- bot, webhook, commands ------------------------------------------------
    def get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._ack(self._updates[-1]["update_id"] + 1 if self._updates else 0)
        return True

    def get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def constant_true(self, params: dict[str, Any]) -> bool:
        return True

    # -- updates ---------------------------------------------------------------
    def _ack(self, offset: int) -> None:
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._acked = max(self._acked, offset - 1)

    def get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long-poll: wait (lock released) until an update >= offset, timeout or stop."""
        offset = int(params.get("offset") or 0)
        if offset > 0:
            self._ack(offset)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            ready = [u for u in self._updates if u["update_id"] >= offset]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._stopping.is_set():
                return ready[: int(params.get("limit") or 100)]
            self._cond.wait(remaining)

    # -- messages --------------------------------------------------------------
    def _bot_message(self, chat_id: int, message_id: int, text: str, markup: Any) -> dict:
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.bot_user(),
            "text": text,
        }
        if inline_markup(markup):
            message["reply_markup"] = markup
        return message

    def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        visible = visible_text(params)
        markup = check_markup(params.get("reply_markup"))
        message = self._bot_message(chat_id, self.next_message_id(chat_id), visible, markup)
        self._messages[(chat_id, message["message_id"])] = {
            "message": message,
            "source": (params["text"], params.get("parse_mode"), markup),
        }
        self._sent.append(self._record(params, chat_id, message["message_id"]))
        return message

    @staticmethod
    def _record(params: dict[str, Any], chat_id: int, message_id: int) -> dict[str, Any]:
        return {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": params["text"],
            "parse_mode": params.get("parse_mode"),
            "reply_markup": params.get("reply_markup"),
            "link_preview_options": params.get("link_preview_options"),
            "disable_notification": bool(params.get("disable_notification")),
            "params": dict(params),
        }

    def edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            visible_text(params)
            return True
        chat_id = self._target_chat(params)
        visible = visible_text(params)
        message_id = params.get("message_id")
        stored = self._messages.get((chat_id, message_id))  # type: ignore[arg-type]
        if not isinstance(message_id, int) or stored is None:
            raise bad_request("message to edit not found")
        markup = check_markup(params.get("reply_markup"))
        source = (params["text"], params.get("parse_mode"), markup)
        if source == stored["source"]:
            raise bad_request(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        message = self._bot_message(chat_id, message_id, visible, markup)
        message["edit_date"] = int(time.time())
        stored.update(message=message, source=source)
        self._edits.append(self._record(params, chat_id, message_id))
        return message

    def edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace only the buttons of a message the bot sent (recorded in ``edits``)."""
        chat_id = self._target_chat(params)
        message_id = params.get("message_id")
        stored = self._messages.get((chat_id, message_id))  # type: ignore[arg-type]
        if not isinstance(message_id, int) or stored is None:
            raise bad_request("message to edit not found")
        text, mode, _ = stored["source"]
        markup = check_markup(params.get("reply_markup"))
        if markup == stored["source"][2]:
            raise bad_request("message is not modified")
        message = self._bot_message(chat_id, message_id, stored["message"]["text"], markup)
        stored.update(message=message, source=(text, mode, markup))
        self._edits.append(self._record({**params, "text": text}, chat_id, message_id))
        return message

    def answer_callback_query(self, params: dict[str, Any]) -> bool:
        if str(params.get("callback_query_id")) not in self._callback_ids:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(params.get("text") or "")) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        self._callback_answers.append(dict(params))
        return True

    def send_chat_action(self, params: dict[str, Any]) -> bool:
        self._target_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # -- chats -----------------------------------------------------------------
    def get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        kinds = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        gifts = dict.fromkeys((*kinds, "gifts_from_channels"), False)
        return {
            **self.chat(self._target_chat(params)),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    def _member(self, chat_id: int, user_id: int) -> dict[str, Any]:
        creator, admins = self._admins.get(chat_id, (None, []))
        user = self.bot_user() if user_id == self.bot_id else user_dict(user_id)
        if user_id == creator:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in admins:
            rights = dict.fromkeys(_ADMIN_RIGHTS, True)
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_promote_members": False,
                **rights,
            }
        return {"status": "member", "user": user}

    def get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("user_id is empty")
        return self._member(self._target_chat(params), user_id)

    def get_chat_administrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat_id = self._target_chat(params)
        creator, admins = self._admins.get(chat_id, (None, []))
        ids = ([creator] if creator is not None else []) + admins
        return [self._member(chat_id, uid) for uid in ids]
