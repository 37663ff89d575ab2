"""A busy store is recognised by the database's error code, never by its message's words.

PostgreSQL localises its messages (``lc_messages``); SQLite's are English but say nothing a
table's name cannot also say. So ``is_transient`` reads SQLite's result code and psycopg's
SQLSTATE, through eventsourcing's wrapping (``raise OperationalError(...) from e``).
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from eventsourcing.persistence import OperationalError, ProgrammingError

from control.model.errors import UserError
from control.store.retry import is_transient, retrying

PG_URL = os.environ.get("CONTROL_TEST_POSTGRES")


def wrapped(error: BaseException) -> BaseException:
    """``error`` as eventsourcing raises it: its own class, ``from`` the driver's."""
    try:
        try:
            raise error
        except BaseException as exc:
            raise OperationalError(str(exc)) from exc
    except OperationalError as outer:
        return outer


def test_a_locked_sqlite_store_is_transient_by_its_code(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError) as busy:
        other.execute("INSERT INTO t VALUES (1)")
    holder.execute("ROLLBACK")
    assert busy.value.sqlite_errorcode & 0xFF == 5  # SQLITE_BUSY
    assert is_transient(busy.value) and is_transient(wrapped(busy.value))
    # a fault whose words merely mention locking is a fault, not a busy store
    with pytest.raises(sqlite3.OperationalError) as missing:
        other.execute("SELECT * FROM database_is_locked_busy_deadlock")
    assert not is_transient(missing.value) and not is_transient(wrapped(missing.value))


def test_localised_postgresql_messages_are_classified_by_sqlstate() -> None:
    errors = pytest.importorskip("psycopg.errors")
    french = errors.SerializationFailure(
        "impossible de sérialiser l'accès à cause de mises à jour en parallèle"
    )
    deadlock = errors.DeadlockDetected("blocage mortel détecté")
    lock = errors.LockNotAvailable("n'a pas pu obtenir un verrou sur la relation")
    duplicate = errors.UniqueViolation("la valeur d'une clé dupliquée rompt la contrainte unique")
    for error in (french, deadlock, lock, duplicate):
        assert is_transient(error) and is_transient(wrapped(error)), error
    # English words of a lock in a message of another kind change nothing
    syntax = errors.UndefinedTable('relation "locked busy deadlock could not serialize" does not exist')
    assert not is_transient(syntax) and not is_transient(wrapped(syntax))


def test_retrying_retries_a_localised_race_and_raises_a_fault_at_once() -> None:
    errors = pytest.importorskip("psycopg.errors")
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise wrapped(errors.SerializationFailure("impossible de sérialiser l'accès"))
        return "done"

    assert retrying(None, flaky, "store.db", deadline=time.monotonic() + 10) == "done"
    assert len(calls) == 3

    def broken() -> str:
        calls.append(1)
        raise ProgrammingError("la relation « locked » n'existe pas")

    calls.clear()
    with pytest.raises(ProgrammingError):
        retrying(None, broken, "store.db", deadline=time.monotonic() + 10)
    assert len(calls) == 1


def test_retrying_gives_up_on_a_store_that_stays_busy_with_one_line() -> None:
    def busy() -> str:
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = 5  # type: ignore[attr-defined]
        raise wrapped(error)

    with pytest.raises(UserError, match="gave up after"):
        retrying(None, busy, "store.db", deadline=time.monotonic() + 0.3)


@pytest.mark.skipif(not PG_URL, reason="CONTROL_TEST_POSTGRES is not set (.ci/run sets it)")
def test_a_real_postgresql_serialization_failure_is_transient() -> None:
    psycopg = pytest.importorskip("psycopg")
    assert PG_URL is not None
    with psycopg.connect(PG_URL, autocommit=True) as setup:
        setup.execute("DROP TABLE IF EXISTS transient_probe")
        setup.execute("CREATE TABLE transient_probe (id int PRIMARY KEY, n int)")
        setup.execute("INSERT INTO transient_probe VALUES (1, 0)")
    first, second = psycopg.connect(PG_URL), psycopg.connect(PG_URL)
    try:
        for con in (first, second):
            con.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            con.execute("SELECT n FROM transient_probe WHERE id = 1").fetchone()
        first.execute("UPDATE transient_probe SET n = 1 WHERE id = 1")
        first.commit()
        with pytest.raises(psycopg.Error) as race:
            second.execute("UPDATE transient_probe SET n = 2 WHERE id = 1")
        assert race.value.sqlstate == "40001"
        assert is_transient(race.value)
    finally:
        first.close()
        second.close()
        with psycopg.connect(PG_URL, autocommit=True) as setup:
            setup.execute("DROP TABLE IF EXISTS transient_probe")
