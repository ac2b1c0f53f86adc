"""Update-level gates that run before any command: the allow-list and chat migration."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config.settings import TelegramSettings
from bot.core.i18n import pick, texts
from bot.store import Store
from bot.telegram.adapter import UpdateConversation

log = logging.getLogger(__name__)


def install_gates(app: Application, store: Store, settings: TelegramSettings) -> None:
    """Register the gates in handler group -1, ahead of every command."""

    async def allow_list(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        user = update.effective_user
        if chat is None or chat.id in settings.allowed_chats:
            return
        if user is not None and user.id in settings.admins:
            return
        log.info("chat_refused", extra={"chat_id": chat.id})
        if update.effective_message and update.effective_message.text:
            t = texts(pick(user.language_code if user else None))
            await UpdateConversation(update, context).reply(
                t._("This is a private newsbot instance; ask its admin to add this chat.")
            )
        raise ApplicationHandlerStop

    async def migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message and message.migrate_to_chat_id:
            store.subs.migrate(message.chat_id, message.migrate_to_chat_id)
            log.info(
                "chat_migrated",
                extra={"chat_id": message.chat_id, "new_chat_id": message.migrate_to_chat_id},
            )

    if settings.allowed_chats:
        app.add_handler(TypeHandler(Update, allow_list), group=-2)
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, migrated), group=-1)
