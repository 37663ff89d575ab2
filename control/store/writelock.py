"""One writer at a time per store, waiting in line instead of racing.

Optimistic concurrency (the stream version) already makes a lost race harmless: the loser re-reads
and retries. But sixteen writers racing redo each other's reading and validation again and again.
Writers therefore queue on a lock first (a lock file beside a SQLite store, a PostgreSQL advisory
lock for a server), within the overall write deadline, and the lock records who holds it, so a
writer that gives up can say who is in the way. Readers never take it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

from control.model.errors import UserError

#: Advisory lock key (two int4s): "territorial-control" writers, one lock per database schema.
PG_LOCK_CLASS = 0x7C0117
#: A SQLite store's lock file is the store's path with this suffix (no output may replace it).
LOCK_SUFFIX = ".lock"


def _holder_text() -> str:
    import socket

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"control (pid {os.getpid()} on {socket.gethostname()}, since {stamp})"


@contextmanager
def writer_lock(env: Mapping[str, str], deadline: float, label: str) -> Iterator[None]:
    """Hold the store's writer lock; give up with a UserError at ``deadline`` (time.monotonic)."""
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        with _pg_lock(env, deadline, label):
            yield
        return
    name = env.get("SQLITE_DBNAME", "")
    if not name or name == ":memory:" or name.startswith("file:"):
        yield
        return
    with _file_lock(f"{name}{LOCK_SUFFIX}", deadline, label):
        yield


@contextmanager
def _file_lock(path: str, deadline: float, label: str) -> Iterator[None]:
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise UserError(f"--store: {label}: cannot create its lock file {path!r} ({exc.strerror})") from None
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 300, 0).decode("utf-8", "replace").strip() or "another process"
                    raise UserError(
                        f"--store: {label} is busy: {holder} is writing to it; nothing was written. "
                        "Wait for it to finish (or stop it) and try again"
                    ) from None
                time.sleep(0.005 + (os.getpid() % 7) * 0.004)
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder_text().encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _pg_lock(env: Mapping[str, str], deadline: float, label: str) -> Iterator[None]:
    import zlib

    import psycopg

    schema = env.get("POSTGRES_SCHEMA", "public")
    key = zlib.crc32(schema.encode()) & 0x7FFFFFFF
    conn = psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
        autocommit=True,
        application_name=_holder_text()[:63],
    )
    try:
        # Wait in the server's queue (no polling), at most until the deadline.
        left_ms = max(int((deadline - time.monotonic()) * 1000), 1)
        conn.execute(f"SET lock_timeout = {left_ms}")
        try:
            conn.execute("select pg_advisory_lock(%s, %s)", (PG_LOCK_CLASS, key))
        except psycopg.errors.LockNotAvailable:
            conn.execute("SET lock_timeout = 0")
            found = conn.execute(
                "select a.application_name, a.pid, a.client_addr from pg_locks l "
                "join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' "
                "and l.classid = %s and l.objid = %s and l.granted limit 1",
                (PG_LOCK_CLASS, key),
            ).fetchone()
            holder = (
                f"{found[0] or 'a client'} (server pid {found[1]}, from {found[2] or 'local socket'})"
                if found
                else "another writer"
            )
            raise UserError(
                f"--store: {label} is busy: {holder} is writing to it; nothing was written. "
                "Wait for it to finish (or stop it) and try again"
            ) from None
        yield
    finally:
        conn.close()  # ends the session: the advisory lock is released with it
