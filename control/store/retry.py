"""Retrying writes that lost a race with another writer or met a busy store, bounded by the
write deadline; such errors are recognised by their codes (SQLite's result codes, PostgreSQL's
SQLSTATEs), never by their localised text.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from eventsourcing.persistence import (
    DatabaseError,
    IntegrityError,
    InternalError,
    OperationalError,
    ProgrammingError,
)

from control.model.errors import DuplicateId, UserError
from control.store.config import LOCK_TIMEOUT, public, write_deadline

T = TypeVar("T")


class Forgetful(Protocol):
    """An app whose cached aggregates a lost race makes stale (:meth:`LedgerApp.forget`)."""

    def forget(self) -> None: ...


#: SQLite's primary result codes for a store another connection is writing (the extended codes
#: carry them in their low byte): SQLITE_BUSY, SQLITE_LOCKED.
_SQLITE_TRANSIENT = frozenset({5, 6})
#: PostgreSQL SQLSTATEs of a race with another writer. The server localises its messages
#: (lc_messages), never its codes: class 40 (serialization failure, deadlock), lock not
#: available, and the unique/duplicate-object errors two first uses of a store meet when both
#: create the same table, type or index; XX000 is "tuple concurrently updated" from the same race.
_PG_TRANSIENT = frozenset({"55P03", "23505", "42P07", "42710", "XX000"})


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or the driver's error it wraps: eventsourcing raises its own classes
    ``from`` the driver's) is a busy store or a race with another writer, by error code."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        code = getattr(error, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in _SQLITE_TRANSIENT:
            return True
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str) and (state.startswith("40") or state in _PG_TRANSIENT):
            return True
        error = error.__cause__ or error.__context__
    return False


def retrying(app: Forgetful | None, action: Callable[[], T], store: str, deadline: float | None = None) -> T:
    """Run a write ``action`` (read, validate, append), retrying races with other writers.

    A lost optimistic-concurrency race (IntegrityError) or a busy store is retried with jittered
    back-off until ``WRITE_DEADLINE``; then one clear message. Nothing is written by a failed try.
    """
    if deadline is None:
        deadline = write_deadline()
    allowed = deadline - time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        try:
            return action()
        except (IntegrityError, DuplicateId):  # lost a race: re-read, re-validate, try again
            reason = "other writers kept appending to the ledger at the same moment"
        except (OperationalError, InternalError, ProgrammingError, DatabaseError, sqlite3.Error) as exc:
            # sqlite3's own: eventsourcing lets "database is locked" out of a new connection's
            # first PRAGMA unwrapped (seen with sixteen writers on a fresh store)
            if not is_transient(exc):
                raise
            reason = f"the store is locked by another writer ({str(exc).splitlines()[0]})"
        if app is not None:
            app.forget()
        left = deadline - time.monotonic()
        if left <= (LOCK_TIMEOUT if "locked" in reason else 0.05):
            raise UserError(
                f"--store: {public(store)}: gave up after {attempts} attempt(s) in "
                f"{allowed:.0f} s: {reason}; nothing was written. Wait for the other "
                "process to finish (or stop it) and try again"
            )
        import random

        time.sleep(random.uniform(0.005, min(0.02 * 2 ** min(attempts, 5), 0.4, left)))
