"""A worker process's entry point: ``python -m bot.analysis.worker FD``.

Deliberately tiny: it imports only the standard library it needs here, and each
job's function is imported when its first job arrives (unpickling names its
module). A worker that only parses feeds never loads trafilatura, and none loads
the CLI, pydantic, SQLAlchemy, PTB or YAML (tests/analysis/test_pool.py checks).
"""

from __future__ import annotations

import contextlib
import pickle
import signal
import socket
import sys

HEADER = 8  # bytes of a message's length prefix
READY = b"\x01"  # sent once at start-up: the parent's deadlines start after it


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    buf = bytearray(size)
    view, got = memoryview(buf), 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            return None
        got += n
    return bytes(buf)


def serve(sock: socket.socket) -> None:
    """A worker's life: run each job that arrives, answer, exit when the socket closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    sock.setblocking(True)
    sock.sendall(READY)
    while True:
        head = _recv_exact(sock, HEADER)
        data = _recv_exact(sock, int.from_bytes(head, "big")) if head else None
        if data is None:
            return
        fn, job = pickle.loads(data)  # our own parent's bytes
        try:
            answer: tuple[bool, object] = (True, fn(job))
        except Exception as exc:  # the job's own error goes back to the caller
            answer = (False, exc)
        try:
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an unpicklable result or error
            payload = pickle.dumps((False, RuntimeError(f"{fn.__name__}: {exc!r}")))
        sock.sendall(len(payload).to_bytes(HEADER, "big") + payload)


def main(argv: list[str]) -> None:
    """Serve jobs on the inherited socket whose descriptor is ``argv[0]``."""
    sock = socket.socket(fileno=int(argv[0]))
    with sock, contextlib.suppress(BrokenPipeError, ConnectionResetError):  # parent gone
        serve(sock)


if __name__ == "__main__":
    main(sys.argv[1:])
