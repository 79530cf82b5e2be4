"""Whose fault is a failed store: the message's, or the database's? (DESIGN invariant 8)

Only a failure that follows the message itself may dead-letter it: a value the schema refuses
(too long, out of range, a NUL byte in text), a type the driver cannot bind, or an exception our
own code raised on that message's content. Anything that says the database cannot take writes
right now (down, locked, timed out, deadlocked, read-only, disk full, a table or column missing
because the schema is older than the code) is never the message's fault: the batch is not
acknowledged, the broker keeps it, and health turns red until the database is back.
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum

import sqlalchemy.exc as sa_exc

# SQLSTATE classes that describe the data sent, not the state of the server:
# 22 data exception (too long, out of range, bad encoding, NUL), 23 integrity constraint violation.
_MESSAGE_SQLSTATE_CLASSES = frozenset({"22", "23"})


class Fault(StrEnum):
    MESSAGE = "message"  # the message's own content: isolate it, dead-letter it
    DATABASE = "database"  # the database or the process: keep everything, acknowledge nothing


def _sqlstate(orig: BaseException | None) -> str | None:
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code if isinstance(code, str) and len(code) == 5 else None


def classify(exc: BaseException) -> Fault:
    """The fault behind an exception raised while storing one batch of messages."""
    if isinstance(exc, sa_exc.DBAPIError):
        if isinstance(exc, sa_exc.DataError | sa_exc.IntegrityError):
            return Fault.MESSAGE
        orig = exc.orig
        state = _sqlstate(orig)
        if state is not None:
            return Fault.MESSAGE if state[:2] in _MESSAGE_SQLSTATE_CLASSES else Fault.DATABASE
        if isinstance(orig, sqlite3.OperationalError | sqlite3.InternalError | sqlite3.NotSupportedError):
            return Fault.DATABASE  # locked, disk full, read-only, I/O error, no such table/column
        if isinstance(orig, sqlite3.ProgrammingError | sqlite3.InterfaceError):
            return Fault.MESSAGE  # a parameter the driver cannot bind
        if isinstance(exc, sa_exc.ProgrammingError | sa_exc.InterfaceError) and not exc.connection_invalidated:
            # psycopg's client-side refusals (a type it cannot adapt) carry no SQLSTATE
            return Fault.MESSAGE if orig is not None and "adapt" in str(orig) else Fault.DATABASE
        return Fault.DATABASE  # operational: connection lost, timeouts, corrupt file, ...
    if isinstance(exc, sa_exc.DisconnectionError | sa_exc.TimeoutError | sa_exc.ResourceClosedError):
        return Fault.DATABASE  # the pool: no connection to be had
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        return Fault.DATABASE  # raised outside SQLAlchemy's wrapping (e.g. at connect)
    if isinstance(exc, MemoryError | OSError):
        return Fault.DATABASE  # the process or the machine, not the message
    return Fault.MESSAGE  # our own code failed on this message's content: isolate it
