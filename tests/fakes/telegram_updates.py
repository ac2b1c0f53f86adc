"""Updates a test pushes into the fake Bot API: messages, edits, button presses, membership.

Each is shaped as Telegram sends it, so the real client parses it as it would in
production: a user with their app's ``language_code``, a command with its
``bot_command`` entity, an edit as ``edited_message`` with ``edit_date``, the bot
being added to a group as ``my_chat_member``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .telegram_methods import DEFAULT_GROUP_USER_ID, user_dict


def _sender(chat_id: int, chat_type: str, user_id: int | None) -> int:
    """Default sender: the private chat's own user, or a fixed member in groups."""
    if user_id is not None:
        return user_id
    return chat_id if chat_type == "private" else DEFAULT_GROUP_USER_ID


def _user(user_id: int, language_code: str | None) -> dict[str, Any]:
    user = user_dict(user_id)
    if language_code:
        user["language_code"] = language_code
    return user


class UpdateMethods:
    """Mixin: the test side of getUpdates; state lives on FakeBotAPI."""

    _cond: threading.Condition
    _updates: list[dict[str, Any]]
    _next_update: int
    _chats: dict[int, dict[str, Any]]
    _messages: dict[tuple[int, int], dict[str, Any]]
    _user_messages: dict[tuple[int, int], dict[str, Any]]
    _callback_ids: set[str]

    # next_message_id, chat, bot_user and _bot_message come from BotMethods.

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (update_id is assigned if missing); returns the update_id."""
        with self._cond:
            update = dict(update)
            update.setdefault("update_id", self._next_update)
            self._next_update = max(self._next_update, update["update_id"]) + 1
            self._updates.append(update)
            self._cond.notify_all()
            return update["update_id"]

    def _chat_of(self, chat_id: int, chat_type: str, chat_title: str | None) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = f"User{chat_id}"
        else:
            chat["title"] = chat_title or f"Chat {chat_id}"
        self._chats[chat_id] = chat
        return chat

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        language_code: str | None = None,
    ) -> int:
        """Queue a user's text message; a leading "/word" gets a bot_command entity."""
        with self._cond:
            message: dict[str, Any] = {
                "message_id": self.next_message_id(chat_id),
                "date": int(time.time()),
                "chat": self._chat_of(chat_id, chat_type, chat_title),
                "from": _user(_sender(chat_id, chat_type, user_id), language_code),
                "text": text,
            }
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            self._user_messages[(chat_id, message["message_id"])] = message
            return self.push_update({"message": message})

    def push_edit(self, chat_id: int, message_id: int, text: str) -> int:
        """Queue the edit of a message the user sent earlier (``edited_message``)."""
        with self._cond:
            original = self._user_messages[(chat_id, message_id)]
            message = {**original, "text": text, "edit_date": int(time.time())}
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            else:
                message.pop("entities", None)
            return self.push_update({"edited_message": message})

    def push_callback(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = None,
    ) -> int:
        """Queue a button press on a message the bot sent (a stub if it was never sent)."""
        with self._cond:
            self._chats.setdefault(chat_id, {**self.chat(chat_id), "type": chat_type})
            stored = self._messages.get((chat_id, message_id))
            message = (
                stored["message"]
                if stored
                else self._bot_message(chat_id, message_id, "(unknown message)", None)
            )
            query_id = str(len(self._callback_ids) + 1)
            self._callback_ids.add(query_id)
            sender = _user(_sender(chat_id, chat_type, user_id), language_code)
            return self.push_update(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": sender,
                        "chat_instance": str(chat_id),
                        "data": data,
                        "message": message,
                    }
                }
            )

    def push_member_change(
        self,
        chat_id: int,
        *,
        old: str = "left",
        new: str = "member",
        chat_type: str = "supergroup",
        user_id: int = DEFAULT_GROUP_USER_ID,
        language_code: str | None = None,
    ) -> int:
        """Queue ``my_chat_member``: the bot's status in a chat went from ``old`` to ``new``
        ("left", "member", "administrator", "kicked"), by ``user_id``'s doing."""
        with self._cond:
            bot = self.bot_user()

            def member(status: str) -> dict[str, Any]:
                out: dict[str, Any] = {"status": status, "user": bot}
                if status == "kicked":
                    out["until_date"] = 0
                if status == "administrator":
                    out.update(
                        can_be_edited=False,
                        is_anonymous=False,
                        can_manage_chat=True,
                        can_delete_messages=True,
                        can_manage_video_chats=True,
                        can_restrict_members=True,
                        can_promote_members=False,
                        can_change_info=True,
                        can_invite_users=True,
                        can_post_stories=False,
                        can_edit_stories=False,
                        can_delete_stories=False,
                    )
                return out

            return self.push_update(
                {
                    "my_chat_member": {
                        "chat": self._chat_of(chat_id, chat_type, None),
                        "from": _user(user_id, language_code),
                        "date": int(time.time()),
                        "old_chat_member": member(old),
                        "new_chat_member": member(new),
                    }
                }
            )
