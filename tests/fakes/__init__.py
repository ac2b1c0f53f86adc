"""Loopback test fakes: a fake Telegram Bot API and a fake web site for feeds/articles."""
