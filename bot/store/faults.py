"""What a store error means: one value the backend refuses, or the store itself failing.

The two call for opposite answers. A value the backend refuses (a NUL for
PostgreSQL, a string past a column's length) fails the same way on every
retry: it must cost its item only. A store that cannot write (disk full,
read-only, the server gone) fails every write alike: nothing may be sent whose
sending cannot be recorded, and the admins must hear of it::

    StoreFault.kind   disk_full    SQLITE_FULL, PostgreSQL 53100 (disk full)
                      read_only    SQLITE_READONLY, PostgreSQL 25006 (read-only transaction)
                      unavailable  cannot connect, connection lost, locked beyond the busy timeout
                      io_error     SQLITE_IOERR and other errors of the medium
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

DISK_FULL, READ_ONLY, UNAVAILABLE, IO_ERROR = "disk_full", "read_only", "unavailable", "io_error"
_SIGNS = (  # (kind, what the driver's message says), checked in order
    (DISK_FULL, ("database or disk is full", "no space left on device", "disk full")),
    (READ_ONLY, ("readonly database", "read-only transaction", "read-only file system")),
    (IO_ERROR, ("disk i/o error", "input/output error")),
)
_SQLSTATE = {"53100": DISK_FULL, "25006": READ_ONLY}


@dataclass(frozen=True, slots=True)
class StoreFault:
    """The store cannot be written: ``kind`` (above) and the driver's own words."""

    kind: str
    detail: str

    def describe(self) -> str:
        """A sentence for logs and admins."""
        what = {
            DISK_FULL: "the disk holding the database is full",
            READ_ONLY: "the database is read-only",
            UNAVAILABLE: "the database cannot be reached",
            IO_ERROR: "the database's disk reports I/O errors",
        }[self.kind]
        return f"{what} ({self.detail})"


def refused_value(exc: BaseException) -> bool:
    """True when the backend refused a value of this one write (the item's data)."""
    if isinstance(exc, sa.exc.DataError | sa.exc.IntegrityError):
        return True
    # An error raised while binding a value, before any database was involved.
    return isinstance(exc, sa.exc.StatementError) and not isinstance(exc, sa.exc.DBAPIError)


def store_fault(exc: BaseException) -> StoreFault | None:
    """The fault behind ``exc`` when it says the store itself cannot be written, else None."""
    if not isinstance(exc, sa.exc.DBAPIError) or refused_value(exc):
        return None
    detail = " ".join(str(exc.orig).split())[:300]
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in _SQLSTATE:
        return StoreFault(_SQLSTATE[code], detail)
    lowered = detail.lower()
    for kind, signs in _SIGNS:
        if any(sign in lowered for sign in signs):
            return StoreFault(kind, detail)
    lost = isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
    if lost or exc.connection_invalidated:
        return StoreFault(UNAVAILABLE, detail)
    return None
