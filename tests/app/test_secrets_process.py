"""The bot token never reaches the output of ``newsbot``, on any path, tracebacks included.

Found in issue 17: when Telegram answered ``getMe`` with 401, python-telegram-bot's
"The token `…` was rejected by the server." reached stderr as a traceback,
past the redacting log formatter. Here the fake Bot API answers 401 to a revoked
token, at start-up and while running, and stdout and stderr are searched for it.
"""

from __future__ import annotations

import signal

import pytest

from tests.helpers.harness import Harness, rss
from tests.helpers.process import Bot, newsbot, wait_until

pytestmark = pytest.mark.process
REVOKED = "654321:REVOKED-token_abcdefghijklmnopqrstuvwxyz98"
SECRET_PART = REVOKED.split(":", 1)[1]


@pytest.mark.parametrize("log_json", [False, True], ids=["text logs", "json logs"])
@pytest.mark.parametrize("command", ["run", "once"])
def test_a_revoked_token_is_refused_by_name_and_never_printed(
    harness: Harness, command: str, log_json: bool
) -> None:
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"], log_json=log_json)
    done = newsbot(harness, command, token=REVOKED)
    output = done.stdout + done.stderr
    assert SECRET_PART not in output, output[-3000:]
    assert done.returncode == 2, output[-3000:]
    assert "TELEGRAM_BOT_TOKEN" in done.stderr and "refused" in done.stderr, done.stderr
    assert "Traceback" not in output


def test_a_token_revoked_while_running_is_never_printed(harness: Harness, bot: Bot) -> None:
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"], log_json=True)
    bot.start()
    api = harness.telegram
    api.wait_for(lambda a: len(a.calls("getUpdates")) >= 1, 30)
    real = api.token
    api.token = "999999:another-token_abcdefghijklmnopqrstuvwxyz"  # the bot's is revoked
    calls = len(api.requests)
    api.wait_for(lambda a: len(a.requests) >= calls + 1, 30)  # a refused call
    api.token = real
    code, _ = bot.stop(signal.SIGTERM)
    wait_until(lambda: bot.log.exists(), "the log")
    text = bot.log.read_text(errors="replace")
    assert code == 0, bot.tail()
    assert real.split(":", 1)[1] not in text, bot.tail()
