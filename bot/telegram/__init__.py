"""newsbot on Telegram. Only adapter, app, gates, runtime and sender import
python-telegram-bot; the command handlers (commands, prefs, admin) are plain
newsbot code behind ``conversation``'s ``Command`` and ``Conversation``."""
