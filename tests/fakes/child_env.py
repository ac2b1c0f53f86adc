"""The environment for a ``newsbot`` child process started by tests and benchmarks."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def child_env(token: str) -> dict[str, str]:
    """Ours without NEWSBOT_* or proxy settings (they would override the config), plus ``token``;
    the web console off."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NEWSBOT_") and k.lower() not in PROXY_VARS
    }
    env.update(
        TELEGRAM_BOT_TOKEN=token,
        NO_PROXY="*",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
        # The web console is off in children unless a test asks for it (port 8080 is
        # one per machine; replicas and parallel runs would fight over it).
        NEWSBOT_WEB__PORT="0",
    )
    return env
