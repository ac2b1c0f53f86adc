"""newsbot on Telegram. Only adapter, app, errors, gates, runtime and sender import
python-telegram-bot; the handlers (commands, prefs, fallbacks, alertpress, admin and
its parts) are plain newsbot code behind ``conversation``'s ``Command`` and
``Conversation``, in the chat's language (``bot.core.i18n``)."""
