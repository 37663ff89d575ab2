"""Where the store is and how long a write may wait: the store's address (a file path or a
``postgresql://`` URL, ``$CONTROL_STORE``) as eventsourcing settings, the write deadline and
the busy-wait bound, and a store's address fit for messages.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from control.model.errors import UserError
from control.store.recorder import RECORDERS

DEFAULT_STORE = "control.db"
STORE_ENV = "CONTROL_STORE"
RECORD = "record"
#: A writer gives up after this long in all (busy waits and retries included).
WRITE_DEADLINE = 10.0


def write_deadline() -> float:
    """The instant (time.monotonic) a write starting now must give up by. ``$CONTROL_WRITE_DEADLINE``
    (seconds, 0.1-60) overrides the 10 s default, for tests and slow shared servers."""
    try:
        seconds = float(os.environ.get("CONTROL_WRITE_DEADLINE", WRITE_DEADLINE))
    except ValueError:
        seconds = WRITE_DEADLINE
    return time.monotonic() + min(max(seconds, 0.1), 60.0)


#: The longest one busy wait on a lock may take (seconds; whole seconds for eventsourcing).
LOCK_TIMEOUT = 3


def store_env(store: str) -> dict[str, str]:
    """eventsourcing settings for a store given as a file path or a ``postgresql://`` URL."""
    if store.startswith(("postgresql://", "postgres://")):
        url = urlparse(store)
        query = parse_qs(url.query)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
            "POSTGRES_HOST": url.hostname or "localhost",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": query.get("connect_timeout", ["5"])[0],
            "POSTGRES_POOL_SIZE": "2",
        }
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"][0]
        env["APPLICATION_RECORDER_TOPIC"] = RECORDERS["eventsourcing.postgres"]
        return env
    path = Path(store)
    if path.parent and not path.parent.exists():
        raise UserError(f"--store: folder {str(path.parent)!r} does not exist")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "APPLICATION_RECORDER_TOPIC": RECORDERS["eventsourcing.sqlite"],
    }


def resolve_store(store: str | None) -> str:
    return store or os.environ.get(STORE_ENV) or DEFAULT_STORE


def public(store: str) -> str:
    """A store address fit for messages: any password removed."""
    url = urlparse(store)
    if url.password:
        return store.replace(f":{url.password}@", ":***@")
    return store
