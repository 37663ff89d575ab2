"""Opening a store and keeping it in step: the seed record brought into it on first use
(idempotently: stored record events are checked, never rewritten; new ones are appended in one
transaction), and a gazetteer bound to it once checked against the version stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from eventsourcing.persistence import DatabaseError, InterfaceError, OperationalError, ProgrammingError

from control.ingest.gazetteers import check_extension
from control.ingest.sources import record_digest
from control.model import gazetteer
from control.model.errors import UserError
from control.model.gazetteer import Gazetteer
from control.store.config import RECORD, public, resolve_store, store_env, write_deadline
from control.store.ledger import LedgerApp
from control.store.retry import retrying
from control.store.streams import stream_id
from control.store.writelock import writer_lock


def sync_record(app: LedgerApp) -> int:
    """Bring the seed record into the store; return how many events were added (0 if in sync).

    Fast path: the ledger remembers the digest of the record files it last checked, so an
    unchanged record costs one hash, not a parse and validation of every event. Idempotent
    under concurrent first use: a writer that loses the race re-reads and finds it done.
    """
    digest = record_digest()
    if app.stored_digest(RECORD) == digest:
        return 0
    from control.ingest.record import load_record  # here: an unchanged record needs no parser

    record = load_record()
    stored = {e.id: e for e in app.read(RECORD)}
    for event in record.events:
        if event.id in stored and stored[event.id].report_dict() != event.report_dict():
            raise UserError(
                f"seeds/record.toml: event {event.id!r} differs from the one in the store; "
                "stored events are immutable: add a correction instead of editing"
            )
    missing = [e for e in record.events if e.id not in stored]
    return app.append(RECORD, missing, digest)


def bind_gazetteer(app: LedgerApp, atlas: Gazetteer, where: str) -> int:
    """Store ``atlas`` (a first version, or a later one that only adds), with baseline events for
    its new places, in one transaction. Returns the number of places added."""
    stored = app.stored_gazetteer()
    changed: list[str] = []
    if stored is None:
        if any(True for _ in app.recorder.select_events(stream_id(RECORD), limit=1)):
            raise UserError(
                f"{where}: this store already holds a ledger on the built-in Syrian gazetteer "
                "(the seed record); use a new store for this gazetteer"
            )
        new_places = atlas.places
        version = 1
    else:
        check_extension(stored, atlas, where)
        if atlas.to_dict() | {"version": 0} == stored.to_dict() | {"version": 0}:
            return 0
        known = {p.name: p for p in stored.places}
        new_places = tuple(p for p in atlas.places if p.name not in known)
        # places that gained a field (an alias, the city they are counted at): their stored
        # states are folded again
        changed = [p.name for p in atlas.places if p.name in known and p != known[p.name]]
        version = stored.version + 1
    bound = Gazetteer.from_dict(atlas.to_dict() | {"version": version})
    from control.ingest.record import baseline_events

    app.store_gazetteer(bound, baseline_events(bound.baseline_as_of, new_places, bound), changed)
    return len(new_places)


def open_app(
    store: str | None = None,
    clock: Callable[[], datetime] | None = None,
    sync: bool = True,
    recorded_at: datetime | None = None,
) -> LedgerApp:
    """Open the store (default ``control.db``, or ``$CONTROL_STORE``) and sync the record.

    Its gazetteer is made the one in use (``app.gazetteer``): the latest version, or with
    ``recorded_at`` the version in force then (an answer as the store gave it at that instant).

    First use of a store (creating its tables, loading the record) is idempotent: many processes
    may do it at once, and each ends with the same single copy of the record.
    """
    where = resolve_store(store)
    from control.store.storecheck import check_store

    check_store(where)  # a foreign, damaged or unreachable store is refused before it is opened
    env = store_env(where)
    holder: list[LedgerApp] = []

    def first_use() -> LedgerApp:
        if not holder:
            holder.append(LedgerApp(env=env, clock=clock))
        app = holder[0]
        if not app._read_model_current():  # first use (or an older store): one turn at the lock
            app._read_model_checked = True
            with writer_lock(env, write_deadline(), public(where)):
                if not app._read_model_current():
                    app.rebuild_read_model()
                if sync and app.stored_gazetteer() is None and app.stored_digest(RECORD) != record_digest():
                    sync_record(app)
        app._read_model_checked = True
        # cached: refresh_states asks again; with recorded_at the version in force then
        bound = app.bound_gazetteer() if recorded_at is None else app.stored_gazetteer(recorded_at)
        app.gazetteer = bound or gazetteer.builtin()  # a value of the app: nothing process-wide
        if bound is not None or not sync:  # the seed record syncs only into built-in ledgers
            return app
        if app.stored_digest(RECORD) != record_digest():  # the record grew
            with writer_lock(env, write_deadline(), public(where)):
                sync_record(app)
        return app

    try:
        return retrying(None, first_use, where)
    except (OperationalError, InterfaceError, ProgrammingError, DatabaseError) as exc:
        raise UserError(f"--store: cannot use {public(where)}: {exc}") from None
