"""The web console: archive, feeds, topics, rules (tried on past news), subscribers.

Server-rendered HTML (Starlette + Jinja2) served by uvicorn inside the bot's own
event loop; admins log in through one-time links the ``/console`` command sends.
"""
