"""Everything that imports python-telegram-bot: the app, commands, admin, sender."""
