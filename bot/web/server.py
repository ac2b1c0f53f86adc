"""The console's HTTP server: uvicorn's ``Server.serve()`` as a task in the bot's loop.

uvicorn is kept by the Starlette authors and handles HTTP/1.1 (keep-alive, limits,
slow clients) so newsbot does not; run inside the service's loop, the pages read
the same store and rules objects as the pipeline, with no second process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn

from bot.core.errors import StartupError

log = logging.getLogger(__name__)
START_TIMEOUT = 10.0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the service owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class ConsoleServer:
    """Start and stop the console's server; ``port`` is the one it listens on."""

    def __init__(self, app: object, host: str, port: int) -> None:
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=2,
        )
        self.host = host
        self._server = _Server(config)
        self._task: asyncio.Task | None = None
        self.port = port

    def _bind(self) -> socket.socket:
        """The listening socket, bound here so a bind failure is ours to word."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise StartupError(
                f"web console cannot listen on {self.host}:{self.port}: {exc.strerror or exc} "
                "(set web.port / NEWSBOT_WEB__PORT to a free port, or 0 to turn it off)"
            ) from None
        return sock

    async def start(self) -> None:
        """Listen; a port in use (or any bind failure) is a StartupError naming the setting."""
        sock = self._bind()
        self.port = sock.getsockname()[1]
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        async with asyncio.timeout(START_TIMEOUT):
            while not self._server.started:
                if self._task.done():
                    break
                await asyncio.sleep(0.01)
        if not self._server.started:
            raise StartupError(
                f"web console cannot listen on {self.host}:{self.port} "
                "(set web.port / NEWSBOT_WEB__PORT to a free port, or 0 to turn it off)"
            )
        log.info("web_console_started", extra={"host": self.host, "port": self.port})

    async def stop(self) -> None:
        """Stop listening and finish open requests (briefly)."""
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(self._task, 5)
        self._task = None
