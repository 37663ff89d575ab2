"""The ledger application: the event store (SQLite file or PostgreSQL) behind every command.

:class:`LedgerApp` appends already-validated events (and the read model's rows, in the same
transaction), keeps the read model and the stored states current, and stores a checked
gazetteer. What it answers comes from its bases: reports by index (:mod:`control.store.reports`)
and the questions answered place by place (:mod:`control.store.questions`). Validation, the seed
record's sync and the gazetteer's checks live above the store, in :mod:`control.service`; where
the store is and how writes retry, in :mod:`control.store.config` and :mod:`control.store.retry`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import (
    DatabaseError,
    DatetimeAsISO,
    InternalError,
    JSONTranscoder,
    OperationalError,
    StoredEvent,
)

from control.model.events import OTHER_VERSION, REPORT_VERSION, Event
from control.model.times import iso, parse_instant
from control.store.config import LOCK_TIMEOUT, RECORD, public, write_deadline
from control.store.questions import PlaceQuestions
from control.store.readmodel import (
    DERIVED,
    META,
    PLACE_INDEX,
    READ_MODEL_VERSION,
    TABLE,
    event_row,
    extra_tables,
    fewer_collections,
    place_index,
    prepare_sqlite,
    stream_key,
)
from control.store.readmodel import row as readmodel_row
from control.store.reports import ReportReads
from control.store.retry import is_transient
from control.store.streams import stream_id
from control.store.writelock import writer_lock

if TYPE_CHECKING:
    from control.model.gazetteer import Gazetteer


#: :meth:`LedgerApp.append_batches` starts a writer process for this many batches or more: it
#: takes about 0.4 s to start, about what encoding one batch of 50k reports takes, so two
#: batches of 50k were appended no faster through it (2.73-2.84 s against 2.63-2.75 s).
PIPELINED = 3
#: What works a writer process's task (:func:`control.store.workers.insert`, named for the pool).
INSERT_TASK = "control.store.workers:insert"
#: A batch of :meth:`LedgerApp.append_batches`, encoded: its size, stored events and rows.
Batch = tuple[int, list[StoredEvent], list[tuple[Any, ...]]]


class LedgerApp(ReportReads, PlaceQuestions, Application):
    """eventsourcing Application holding the record and scenario ledgers.

    ``clock`` is the store's own clock (system time for ``recorded_at``); tests inject one.
    """

    name = "Control"
    env: Mapping[str, str] = {
        "AGGREGATE_CACHE_MAXSIZE": "64",
        "IS_SNAPSHOTTING_ENABLED": "n",
        # Busy waits are bounded: a writer gives up within WRITE_DEADLINE in all, retries included.
        "SQLITE_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
        "POSTGRES_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
    }

    def __init__(self, env: Mapping[str, str] | None = None, clock: Callable[[], datetime] | None = None):
        settings = self.construct_env(self.name, env)  # as eventsourcing will read them
        path = settings.get("SQLITE_DBNAME")
        if path and "sqlite" in settings.get("PERSISTENCE_MODULE", ""):
            prepare_sqlite(path, LOCK_TIMEOUT)
        super().__init__(env)
        self.clock = clock or _utc_now
        self.env_settings: Mapping[str, str] = dict(env or {})
        self._read_model_checked = False
        self._gazetteer_cache: tuple[int, Gazetteer | None] | None = None

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        # Event timestamps come from datetime.now(); under a test clock (freezegun) that is a
        # datetime subclass the transcoder would not know. Register whatever class "now" has.
        now_type = type(datetime.now())
        if now_type not in transcoder.types:
            transcoding = type("NowAsISO", (DatetimeAsISO,), {"type": now_type})()
            transcoder.register(transcoding)
            transcoder.names[DatetimeAsISO.name] = DatetimeAsISO()

    def aggregate(self, name: str) -> Any:
        """The aggregate behind a named stream (rebuilt from its events, for writing), or None if
        it has no stream yet. Appending reports does not need it (see :meth:`append`)."""
        try:
            return self.repository.get(stream_id(name))
        except AggregateNotFoundError:
            return None

    def payloads(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        """(topic, state) of every stored event of ledger ``name``, read in bulk.

        Reads the recorder directly (no aggregate is rebuilt); see :meth:`decoded`. Always read
        afresh: another process may have written since.
        """
        return [
            (stored.topic, self.decoded(stored)) for stored in self.recorder.select_events(stream_id(name))
        ]

    def decoded(self, stored: Any) -> dict[str, Any]:
        """One stored event's state. An event stored at its class's current version (reports:
        ``REPORT_VERSION``; every other class: 1) is decoded as it is; anything older goes
        through eventsourcing's mapper, which upcasts it. The domain classes (slow to import)
        are loaded only then."""
        mapper = self.mapper
        state = stored.state
        if mapper.cipher:
            state = mapper.cipher.decrypt(state)
        if mapper.compressor:
            state = mapper.compressor.decompress(state)
        decoded: dict[str, Any] = mapper.transcoder.decode(state)
        current = REPORT_VERSION if "report" in decoded else OTHER_VERSION
        if decoded.get("class_version", 1) != current:
            decoded = dict(mapper.to_domain_event(stored).__dict__)  # upcast
        return decoded

    def read_events(self, name: str = RECORD) -> list[Event]:
        """Every report in ledger ``name``, decoded from the events themselves (not the read
        model): what the read model is checked and rebuilt against."""
        with fewer_collections():
            return [
                Event.from_dict(state["report"] | {"recorded_at": state["recorded_at"]})
                for _, state in self.payloads(name)
                if "report" in state
            ]

    def ensure_read_model(self, where: str) -> bool:
        """Rebuild the read model if this store has none yet, or an older one. True if rebuilt."""
        self._read_model_checked = True
        if self._read_model_current():
            return False
        with writer_lock(self.env_settings, write_deadline(), public(where)):
            if self._read_model_current():  # another process did it meanwhile
                return False
            self.rebuild_read_model()
        return True

    def _read_model_ready(self) -> None:
        """:meth:`ensure_read_model`, once per app (every read of the read model starts here)."""
        if not self._read_model_checked:
            self.ensure_read_model(self.env_settings.get("SQLITE_DBNAME") or "store")

    def _read_model_current(self) -> bool:
        rows = self.recorder.query(f"SELECT value FROM {self.recorder.meta} WHERE key = %s", ["version"])
        return bool(rows) and rows[0][0] == READ_MODEL_VERSION

    def rebuild_read_model(self) -> int:
        """Rewrite the read model from the events (through the mapper: older versions are upcast),
        in one transaction. Idempotent. Returns the number of rows."""
        sid = stream_id(RECORD)
        key = stream_key(sid)

        def convert(page: list[Any]) -> list[tuple[Any, ...]]:
            states = ((stored, self.decoded(stored)) for stored in page)
            return [
                readmodel_row(key, stored.originator_version, state["report"], state["recorded_at"])
                for stored, state in states
                if "report" in state
            ]

        name = self.recorder.name
        digest = self._latest_digest_from_events(RECORD)
        digest_key = f"digest:{stream_key(sid)}"
        count = self.recorder.rewrite(
            [
                (f"DELETE FROM {name(TABLE)}", ()),
                # an older store's index by place may have another shape (read model 12's)
                (f"DROP INDEX IF EXISTS {name(PLACE_INDEX)}", ()),
                (place_index(name), ()),
                # the derived tables are made anew: an older store's may have another shape
                *((f"DROP TABLE IF EXISTS {name(t)}", ()) for t in DERIVED),
                *((sql, ()) for sql in extra_tables(name, sqlite=self.recorder.sqlite)),
                (f"DELETE FROM {name(META)} WHERE key IN (%s, %s)", ("version", digest_key)),
                (f"DELETE FROM {name(META)} WHERE key LIKE %s OR key LIKE %s", ("begins:%", "ends:%")),
                (f"INSERT INTO {name(META)} (key, value) VALUES (%s, %s)", ("version", READ_MODEL_VERSION)),
                *(
                    [(f"INSERT INTO {name(META)} (key, value) VALUES (%s, %s)", (digest_key, digest))]
                    if digest
                    else []
                ),
            ],
            sid,
            convert,
        )
        self.refresh_states()
        return count

    def stored_digest(self, name: str = RECORD) -> str:
        """Digest of the record files last checked into ledger ``name`` ("" if never).

        Only the newest ``RecordLoaded`` event is decoded (found by its topic, newest first).
        """
        return self._latest_digest(name)

    def _latest_digest(self, name: str = RECORD) -> str:
        """From the read model's meta table (written with the RecordLoaded event): O(1)."""
        self._read_model_ready()
        rows = self.recorder.query(
            f"SELECT value FROM {self.recorder.meta} WHERE key = %s",
            [f"digest:{stream_key(stream_id(name))}"],
        )
        return str(rows[0][0]) if rows else ""

    def _latest_digest_from_events(self, name: str = RECORD) -> str:
        lte = None
        while True:  # newest first, a page at a time (not the whole stream in memory)
            page = self.recorder.select_events(stream_id(name), desc=True, lte=lte, limit=1000)
            for stored in page:
                if stored.topic.endswith(".RecordLoaded") or stored.topic.endswith(":Ledger.RecordLoaded"):
                    return str(self.decoded(stored)["digest"])
            if len(page) < 1000:
                return ""
            lte = page[-1].originator_version - 1

    def stored_gazetteer(
        self, recorded_at: datetime | None = None, version: int | None = None
    ) -> Gazetteer | None:
        """The gazetteer this store is bound to (its latest version), or None: the built-in one.

        ``recorded_at``: the version in force then, by the store's clock (each version's event is
        stamped with the time its places' baselines are recorded): what the store answered with
        at that instant. Before the first version, the first (the store had no other).
        ``version``: that version (a worker process folding for an answer given with it)."""
        from control.model.gazetteer import Gazetteer

        found = [state for _, state in self.payloads("gazetteer") if "definition" in state]
        if recorded_at is not None:
            bound = iso(recorded_at) or ""
            found = [s for s in found if iso(s["timestamp"]) <= bound] or found[:1]
        if version is not None:
            found = [s for s in found if s["definition"].get("version") == version] or found
        return Gazetteer.from_dict(found[-1]["definition"]) if found else None

    def store_gazetteer(self, bound: Gazetteer, baselines: Sequence[Event], changed: Sequence[str]) -> None:
        """Store a gazetteer version already checked (``bound``, its version set: see
        :func:`control.service.sync.bind_gazetteer`) with ``baselines``, the baseline events of
        its new places, in one transaction; ``changed``: places whose stored states are folded
        again (they gained a field)."""
        from control.store.domain import Atlas, Ledger

        # the store's clock never runs back (see :meth:`append`): the version and its baselines
        # are recorded at one instant
        self._read_model_ready()
        stamp = parse_instant(max(iso(self.clock()) or "", self.last_recorded(RECORD)))
        atlas = self.aggregate("gazetteer") or Atlas.start(bound.name)
        atlas.define(bound.to_dict(), stamp)  # in force from the instant its baselines are recorded
        ledger = self.aggregate(RECORD) or Ledger.open(RECORD)
        for event in baselines:
            ledger.report(event, stamp)
        if changed:
            self._mark_dirty(changed)
        self.save(atlas, ledger)
        self._gazetteer_cache = (atlas.version, bound)  # as stored: not decoded again
        self.refresh_states()

    def _mark_dirty(self, places: Sequence[str]) -> None:
        """Mark the record's ``places`` as behind their reports (refolded by the next refresh;
        readers fold them themselves until then)."""
        from control.store.readmodel import DIRTY

        self._read_model_ready()
        rows = [(stream_key(stream_id(RECORD)), p) for p in places]
        sql = (
            f"INSERT INTO {self.recorder.name(DIRTY)} VALUES (%s, %s) ON CONFLICT (stream, place) DO NOTHING"
        )
        self.recorder.execute_script([], (sql, rows))

    def append(
        self, name: str, events: Sequence[Event], digest: str | None = None, refresh: bool = True
    ) -> int:
        """Append ``events`` to ledger ``name`` in one transaction; returns how many.

        Then (``refresh``) the stored states of the places they touch are re-folded: call it
        holding the writer lock. Batches pass ``refresh=False`` and call :meth:`refresh_states`
        once at the end (or use :meth:`append_batches`); until then readers fold the dirty
        places themselves.

        O(1) in the ledger's size: the stream's head and the last recorded time are read by
        index, no aggregate is rebuilt. Raises eventsourcing's IntegrityError if another writer
        appended first or an id is taken (see :func:`retrying`): the caller re-reads,
        re-validates and tries again.
        """
        from control.store.domain import Ledger, new_event

        sid = stream_id(name)
        new, version = self._head(sid, name)
        stamp = max(iso(self.clock()) or "", self.last_recorded(name))
        stored, rows, version = self._stored(sid, events, version, stamp)
        new += stored
        if digest is not None and (events or digest != self._latest_digest(name)):
            version += 1
            loaded = new_event(Ledger.RecordLoaded, sid, version, digest=digest)
            new.append(self.mapper.to_stored_event(loaded))
        if new:
            self.recorder.insert_events(new, read_rows=rows)
        if refresh and name == RECORD:
            self.refresh_states()
        return len(events)

    def append_batches(
        self, name: str, batches: Iterable[Sequence[Event]], done: Callable[[int], None] | None = None
    ) -> int:
        """Append each batch as :meth:`append` would (``refresh=False``), each in a transaction
        of its own, pipelined: a writer process inserts one batch while this one encodes the
        next (eventsourcing's stored events and the read model's rows), so the two halves of
        an append share the machine's cores. Call it holding the writer lock throughout: each
        batch's versions follow the last's. ``done``: called with each batch's size once it is
        committed. Returns how many reports were appended.

        A batch that fails (an id taken) raises as :meth:`append` does, the batches before it
        stay appended, none after it is sent. A writer that cannot start, or dies, leaves the
        rest to this process: what it committed is read back from the stream's head."""
        from control.store import pool

        sid = stream_id(name)
        opening, version = self._head(sid, name)
        if opening:
            self.recorder.insert_events(opening, read_rows=[])
        stamp = self.last_recorded(name)
        pending: list[Batch] = []  # sent, not answered
        count = 0

        def prepared(source: Iterable[Sequence[Event]]) -> Iterator[Batch]:
            nonlocal version, stamp
            for batch in source:
                if not batch:
                    continue
                stamp = max(iso(self.clock()) or "", stamp)
                stored, rows, version = self._stored(sid, batch, version, stamp)
                yield len(batch), stored, rows

        def tasks(source: Iterator[Batch]) -> Iterator[tuple[Any, ...]]:
            env = dict(self.env, CREATE_TABLE="no")  # the tables exist (see states.in_chunks)
            for size, stored, rows in source:
                pending.append((size, stored, rows))
                yield (
                    INSERT_TASK,
                    env,
                    sid.hex,
                    [(e.originator_version, e.topic, e.state) for e in stored],
                    rows,
                )

        def answered(size: int) -> None:
            nonlocal count
            count += size
            if done is not None:
                done(size)

        given = iter(batches)
        ahead = list(itertools.islice((b for b in given if b), PIPELINED))
        source = prepared(itertools.chain(ahead, given))
        if len(ahead) == PIPELINED:  # a writer process only where it gains more than its start
            try:
                for _ in pool.run_tasks(tasks(source), 1):
                    answered(pending.pop(0)[0])
                return count
            except pool.Broken:  # here, the rest: first what the writer committed unanswered
                head = self._head(sid, name)[1]
                while pending and pending[0][1][-1].originator_version <= head:
                    answered(pending.pop(0)[0])
        for size, stored, rows in itertools.chain(pending, source):  # sent, not committed; then the rest
            self.recorder.insert_events(stored, read_rows=rows)
            answered(size)
        return count

    def _head(self, sid: UUID, name: str) -> tuple[list[StoredEvent], int]:
        """The stream's last version, and the stored events that open it if it has none yet."""
        from control.store.domain import Ledger

        head = list(self.recorder.select_events(sid, desc=True, limit=1))
        if head:
            return [], head[0].originator_version
        opened = Ledger.open(name)
        return [self.mapper.to_stored_event(e) for e in opened.collect_events()], opened.version

    def _stored(
        self, sid: UUID, events: Sequence[Event], version: int, stamp: str
    ) -> tuple[list[StoredEvent], list[tuple[Any, ...]], int]:
        """``events`` as stored events after ``version`` and as the read model's rows (made from
        the very texts stored, not decoded back from them), recorded at ``stamp``; and the last
        version."""
        from control.store.domain import EVENT_CLASSES, StoredReports

        key = stream_key(sid)
        stored = StoredReports(self.mapper, sid, stamp)
        new, rows = [], []
        for event in events:
            version += 1
            times = (iso(event.window.earliest), iso(event.window.latest), iso(event.reported_at))
            text = event.report_json(*times)  # once, for the event and its row
            new.append(stored.stored(EVENT_CLASSES[event.kind], version, event, text))
            rows.append(event_row(key, version, event, times, stamp, text))  # type: ignore[arg-type]
        return new, rows, version

    def refresh_states(self) -> int:
        """Re-fold and store the states of the record's dirty places (under the writer lock).
        Best effort: the append is already committed, and a refresh that fails or is cut short
        leaves the places marked dirty, which readers fold themselves (control.store.states)."""
        from control.model import gazetteer
        from control.store import states

        try:
            with gazetteer.using(self.bound_gazetteer()):  # the store's places, whoever calls
                return states.refresh(self, stream_key(stream_id(RECORD)))
        except (OperationalError, InternalError, DatabaseError) as exc:
            if not is_transient(exc):
                raise  # not a busy store: a fault to see, not to hide
            return 0

    def unrefreshed(self) -> int:
        """How many of the record's places are behind their reports (a refresh that met a busy
        store, or a writer killed before its refresh): readers fold them, at a cost."""
        from control.store import placereads

        return len(placereads.dirty_places(self, stream_key(stream_id(RECORD))))

    def bound_gazetteer(self) -> Gazetteer | None:
        """:meth:`stored_gazetteer`, decoded again only when its stream has grown."""
        head = list(self.recorder.select_events(stream_id("gazetteer"), desc=True, limit=1))
        version = head[0].originator_version if head else 0
        if self._gazetteer_cache is None or self._gazetteer_cache[0] != version:
            self._gazetteer_cache = (version, self.stored_gazetteer() if version else None)
        return self._gazetteer_cache[1]

    def forget(self) -> None:
        """Drop cached aggregates (after losing a race: the next read sees the winner's events)."""
        if self.repository.cache is not None:
            self.repository.cache.clear()


def _utc_now() -> datetime:
    return datetime.now(UTC)
