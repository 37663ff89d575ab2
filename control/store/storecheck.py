"""Checks of a store address before the event store opens it.

eventsourcing opens whatever it is given: it would create its tables inside someone else's SQLite
database, block forever on a FIFO, fail deep inside on random bytes or a truncated copy, take a
URL's port "abc" for a crash, and report a refused password as a pool timeout after 5 seconds.
:func:`check_store` turns each of these into one :class:`UserError` naming ``--store``, and
never writes anything.

A SQLite store is accepted only if the file does not exist yet, is empty (zero bytes or a database
without tables), or already holds the project's table ``stored_events``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import ParseResult, parse_qs, unquote, urlparse

from control.model.errors import UserError

OPTION = "--store"
SQLITE_HEADER = b"SQLite format 3\x00"
#: The table eventsourcing's SQLite recorder keeps events in.
STORE_TABLES = ("stored_events",)


def check_store(address: str) -> None:
    """Refuse a store address that cannot be (or must not be) opened as this project's store."""
    if address.startswith(("postgresql://", "postgres://")):
        check_postgres(address)
    elif address != ":memory:" and not address.startswith("file:"):
        check_sqlite(Path(address))


# --- SQLite ------------------------------------------------------------------------------------


def check_sqlite(path: Path) -> None:
    """A new file, an empty one, or a SQLite database that is whole and holds this project's tables."""
    name = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return  # a new store (its folder is checked by config.store_env)
    except OSError as exc:
        raise UserError(f"{OPTION}: cannot use {name!r} ({exc.strerror}); give a SQLite file") from None
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{OPTION}: {name!r} is a folder; give a file, e.g. {str(path / 'control.db')!r}")
    if not stat.S_ISREG(info.st_mode):
        raise UserError(
            f"{OPTION}: {name!r} is not a regular file (a device or pipe); give a SQLite file name"
        )
    if info.st_size == 0:
        return  # an empty file: eventsourcing makes a store of it
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise UserError(f"{OPTION}: cannot read {name!r} ({exc.strerror})") from None
    if len(header) < 100 or not header.startswith(SQLITE_HEADER):
        raise UserError(
            f"{OPTION}: {name!r} is not a SQLite database (no SQLite header); "
            "give a control store or the name of a new file"
        )
    _check_size(path, header, info.st_size)
    tables = _tables(path)
    if tables and not set(STORE_TABLES) <= set(tables):
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise UserError(
            f"{OPTION}: {name!r} is a SQLite database of another program (tables: {shown}), not a "
            "control store; it is left untouched: give the name of a new file"
        )


def _check_size(path: Path, header: bytes, size: int) -> None:
    """Refuse a file shorter than its own header says (a truncated copy)."""
    page_size = int.from_bytes(header[16:18], "big")
    if page_size == 1:
        page_size = 65536
    if page_size < 512 or page_size & (page_size - 1):
        raise UserError(f"{OPTION}: {str(path)!r} is a damaged SQLite database (bad page size); restore it")
    pages = int.from_bytes(header[28:32], "big")
    header_size_valid = header[92:96] == header[24:28]  # SQLite's rule for the in-header size
    expected = pages * page_size if header_size_valid and pages else 0
    if size % page_size or size < expected:
        whole = f" of {expected}" if expected else ""
        raise UserError(
            f"{OPTION}: {str(path)!r} is a truncated SQLite database ({size}{whole} bytes); "
            "restore it from a backup or give the name of a new file"
        )


def _tables(path: Path) -> list[str]:
    """The tables of a SQLite database, read through a read-only connection."""
    import sqlite3

    uri = path.absolute().as_uri() + "?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=2)
        try:
            rows = connection.execute("select name from sqlite_master where type = 'table'").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise UserError(
            f"{OPTION}: {str(path)!r} is a damaged or unreadable SQLite database ({exc}); "
            "restore it or give the name of a new file"
        ) from None
    return [r[0] for r in rows if not str(r[0]).startswith("sqlite_")]


# --- PostgreSQL --------------------------------------------------------------------------------


def check_postgres(address: str) -> None:
    """A well-formed URL (port 1-65535) naming a server that accepts its user and password."""
    url = _parse(address)
    host = url.hostname or "localhost"
    port = url.port or 5432
    user = unquote(url.username or "postgres")
    dbname = url.path.lstrip("/") or "postgres"
    timeout = parse_qs(url.query).get("connect_timeout", ["5"])[0]
    if not timeout.isdigit():
        raise UserError(f"{OPTION}: connect_timeout {timeout!r} is not a number of seconds; e.g. 5")
    shown = address.replace(f":{url.password}@", ":***@") if url.password else address
    probe(shown, host, port, user, unquote(url.password or ""), dbname, int(timeout))


def _parse(address: str) -> ParseResult:
    try:
        url = urlparse(address)
        port = url.port
    except ValueError as exc:
        if str(exc).startswith("Port"):  # urllib: "Port could not be cast ...", "Port out of range ..."
            hostport = address.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
            raise _bad_port(hostport.rpartition(":")[2]) from None
        raise UserError(
            f"{OPTION}: malformed PostgreSQL URL ({exc}); use postgresql://user:password@host:5432/db"
        ) from None
    if port == 0:
        raise _bad_port("0")
    return url


def _bad_port(raw: str) -> UserError:
    return UserError(
        f"{OPTION}: port {raw!r} in the PostgreSQL URL is invalid; give a number from 1 to 65535 "
        "(PostgreSQL's default is 5432)"
    )


def probe(shown: str, host: str, port: int, user: str, password: str, dbname: str, timeout: int) -> None:
    """Connect once, directly: a refused password is "authentication failed" at once, not a pool
    timeout; an unreachable server or a missing database is said plainly. ``shown`` is the
    address without its password, for messages."""
    try:
        import psycopg
    except ImportError:
        raise UserError(
            f"{OPTION}: PostgreSQL stores need the postgres extra: "
            "pip install 'territorial-control[postgres]' (or -e '.[postgres]' in a checkout)"
        ) from None

    try:
        connection = psycopg.connect(
            host=host, port=port, user=user, password=password, dbname=dbname, connect_timeout=max(1, timeout)
        )
    except psycopg.OperationalError as exc:
        raise UserError(f"{OPTION}: cannot use {shown}: {_explain(str(exc), user, dbname)}") from None
    connection.close()


def _explain(message: str, user: str, dbname: str) -> str:
    lowered = message.casefold()
    if "authentication failed" in lowered or "no password supplied" in lowered:
        return f"authentication failed for user {user!r}; check the user name and password in the URL"
    if "does not exist" in lowered and "database" in lowered:
        return f"database {dbname!r} does not exist; create it or name another"
    first = next((line.strip() for line in message.splitlines() if line.strip()), "no answer")
    return f"{first[:200]}; is the server running there?"
