"""The ledger application: the event store (SQLite file or PostgreSQL) behind every command.

``open_ledger()`` opens the store and brings the seed record into it on first use, idempotently:
record events already stored are checked, never rewritten (a changed one is an error: events are
immutable, fix them with a correction), new ones are appended in one transaction. ``add()``
validates reports completely before writing, so a bad report writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import (
    DatetimeAsISO,
    IntegrityError,
    InterfaceError,
    JSONTranscoder,
    OperationalError,
    ProgrammingError,
)

from control.errors import UserError
from control.events import Event
from control.sources import record_digest
from control.streams import stream_id

if TYPE_CHECKING:
    from control.record import Context

if TYPE_CHECKING:
    from control.domain import Ledger

DEFAULT_STORE = "control.db"
STORE_ENV = "CONTROL_STORE"
RECORD = "record"


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
        return env
    path = Path(store)
    if path.parent and not path.parent.exists():
        raise UserError(f"--store: folder {str(path.parent)!r} does not exist")
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


class LedgerApp(Application):
    """eventsourcing Application holding the record and scenario ledgers."""

    name = "Control"
    env: Mapping[str, str] = {"AGGREGATE_CACHE_MAXSIZE": "64", "IS_SNAPSHOTTING_ENABLED": "n"}

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        # Event timestamps come from datetime.now(); under a test clock (freezegun) that is a
        # datetime subclass the transcoder would not know. Register whatever class "now" has.
        now_type = type(datetime.now())
        if now_type not in transcoder.types:
            transcoding = type("NowAsISO", (DatetimeAsISO,), {"type": now_type})()
            transcoder.register(transcoding)
            transcoder.names[DatetimeAsISO.name] = DatetimeAsISO()

    def ledger(self, name: str) -> Ledger | None:
        """The aggregate behind a named ledger (for writing), or None if it has no stream yet."""
        try:
            return self.repository.get(stream_id(name))
        except AggregateNotFoundError:
            return None

    def payloads(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        """(topic, decoded state) of every stored event of ledger ``name``, read in bulk.

        Reads the recorder directly: no aggregate is rebuilt and the domain classes need not be
        imported, which keeps read-only commands fast. Always read afresh: another process may
        have written since.
        """
        mapper = self.mapper
        out = []
        for stored in self.recorder.select_events(stream_id(name)):
            state = stored.state
            if mapper.cipher:
                state = mapper.cipher.decrypt(state)
            if mapper.compressor:
                state = mapper.compressor.decompress(state)
            out.append((stored.topic, mapper.transcoder.decode(state)))
        return out

    def read(self, name: str = RECORD) -> list[Event]:
        """Every report in ledger ``name``, in the order they were appended."""
        return [Event.from_dict(state["report"]) for _, state in self.payloads(name) if "report" in state]

    def stored_digest(self, name: str = RECORD) -> str:
        """Digest of the record files last checked into ledger ``name`` ("" if never)."""
        digests = [state["digest"] for _, state in self.payloads(name) if "digest" in state]
        return digests[-1] if digests else ""

    def append(self, name: str, events: Sequence[Event], digest: str | None = None) -> int:
        """Append ``events`` to ledger ``name`` in one transaction; returns how many."""
        from control.domain import Ledger

        ledger = self.ledger(name) or Ledger.open(name)
        for event in events:
            ledger.report(event)
        if digest is not None:
            ledger.record_loaded(digest)
        if ledger.pending_events:
            self.save(ledger)
        return len(events)

    def sync_record(self) -> int:
        """Bring the seed record into the store; return how many events were added (0 if in sync).

        Fast path: the ledger remembers the digest of the record files it last checked, so an
        unchanged record costs one hash, not a parse and validation of every event.
        """
        digest = record_digest()
        if self.stored_digest(RECORD) == digest:
            return 0
        from control.record import load_record

        ledger = self.ledger(RECORD)
        record = load_record()
        stored = {e.id: e for e in (ledger.events() if ledger else [])}
        for event in record.events:
            if event.id in stored and stored[event.id].to_dict() != event.to_dict():
                raise UserError(
                    f"seeds/record.toml: event {event.id!r} differs from the one in the store; "
                    "stored events are immutable: add a correction instead of editing"
                )
        missing = [e for e in record.events if e.id not in stored]
        try:
            return self.append(RECORD, missing, digest)
        except IntegrityError:  # another process loaded it at the same moment: look again
            if self.repository.cache is not None:
                self.repository.cache.clear()
            return self.sync_record()


def resolve_store(store: str | None) -> str:
    return store or os.environ.get(STORE_ENV) or DEFAULT_STORE


def open_app(store: str | None = None) -> LedgerApp:
    """Open the store (default ``control.db``, or ``$CONTROL_STORE``) and sync the record."""
    where = resolve_store(store)
    try:
        app = LedgerApp(env=store_env(where))
        app.sync_record()
    except (OperationalError, InterfaceError, ProgrammingError) as exc:
        raise UserError(f"--store: cannot use {_public(where)}: {exc}") from None
    return app


def _public(store: str) -> str:
    """A store address fit for messages: any password removed."""
    url = urlparse(store)
    if url.password:
        return store.replace(f":{url.password}@", ":***@")
    return store


def context(
    app: LedgerApp,
    now: datetime,
    base: Path | None = None,
    scenario: str | None = None,
    extra: Sequence[Event] = (),
) -> Context:
    """A validation context that knows every record event (and ``extra`` ones)."""
    from control.record import Context, load_record

    record = load_record()
    known = {e.id: e for e in app.read(RECORD)}
    known.update({e.id: e for e in extra})
    return Context(record.campaign_start, record.published, known, now=now, base=base, scenario=scenario)


def add_reports(
    app: LedgerApp,
    tables: Sequence[Mapping[str, Any]],
    now: datetime,
    path: str = "options",
    text: str | None = None,
    base: Path | None = None,
) -> list[Event]:
    """Validate every report, then append them all to the record in one transaction."""
    from control.record import build_event, build_events

    ctx = context(app, now, base)
    if path == "options":
        events = [build_event(tables[0], ctx, "options")]
    else:
        events = build_events(tables, ctx, path, text)
    app.append(RECORD, events)
    return events
