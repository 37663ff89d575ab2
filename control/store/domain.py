"""The write side's domain model: a ledger is an eventsourcing aggregate, one stream of reports.

The record is one ledger; each what-if scenario is another, so a branch can never leak into the
record. Each kind of report is an explicit, versioned event class (``class_version``); stored
payloads are plain strings and lists, so the stored form is stable and readable by any tool.

Version 2 of every report event carries ``recorded_at``: the store's own clock (system time),
taken when the report is appended and never earlier than the ledger's previous ``recorded_at``.
Appends to one ledger are serialised by its stream version (optimistic concurrency: a writer that
lost the race re-reads and retries), so ``recorded_at`` never decreases in commit order. Version 1
events (stored before this clock existed) are upcast by eventsourcing's mapper, through
``upcast_v1_v2``, from the event's own stored ``timestamp``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import register_topic

from control.model.errors import DuplicateId
from control.model.events import REPORT_VERSION, Event
from control.model.times import iso
from control.store.readmodel import report_json
from control.store.streams import stream_id


def new_event(cls: type[Aggregate.Event], sid: UUID, version: int, **state: Any) -> Aggregate.Event:
    """An event of ``cls`` at ``version`` of stream ``sid``, stamped now, made without the
    aggregate (appended as it is: the stream's head is read by index, never rebuilt)."""
    return cls(originator_id=sid, originator_version=version, timestamp=cls.create_timestamp(), **state)


class Ledger(Aggregate):
    """An append-only list of reports with unique ids."""

    class Opened(Aggregate.Created):
        class_version = 1
        name: str

    class Reported(Aggregate.Event):
        """Base of every report event: the report's fields, as stored, and when it was stored."""

        class_version = REPORT_VERSION
        kind: ClassVar[str] = ""
        report: dict[str, Any]
        recorded_at: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 events had no ``recorded_at``: the best evidence is the event's own timestamp."""
            state["recorded_at"] = iso(state["timestamp"])

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Ledger)
            aggregate.ids.add(self.report["id"])
            aggregate.last_recorded = max(aggregate.last_recorded, self.recorded_at)

    class BaselineRecorded(Reported):
        kind = "baseline"

    class CaptureReported(Reported):
        kind = "capture"

    class WithdrawalReported(Reported):
        kind = "withdrawal"

    class HandoverReported(Reported):
        kind = "handover"

    class DenialReported(Reported):
        kind = "denial"

    class ClaimReported(Reported):
        kind = "claim"

    class CorrectionReported(Reported):
        kind = "correction"

    class RecordLoaded(Aggregate.Event):
        """The seed record (files with this digest) was checked into this ledger."""

        class_version = 1
        digest: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Ledger)
            aggregate.record_digest = self.digest

    def __init__(self, name: str) -> None:
        self.name = name
        self.ids: set[str] = set()
        #: the latest recorded_at in the stream (ISO text, so it compares in time order)
        self.last_recorded = ""
        self.record_digest = ""

    def record_loaded(self, digest: str) -> None:
        if digest != self.record_digest:
            self.trigger_event(self.RecordLoaded, digest=digest)

    @classmethod
    def open(cls, name: str) -> Ledger:
        return cls._create(cls.Opened, id=stream_id(name), name=name)

    def report(self, event: Event, recorded_at: datetime) -> None:
        """Append one report; a duplicate id is refused (events are never replaced)."""
        if event.id in self.ids:
            raise DuplicateId(f"duplicate event id {event.id!r}")
        stamp = max(iso(recorded_at) or "", self.last_recorded)
        self.trigger_event(EVENT_CLASSES[event.kind], report=event.report_dict(), recorded_at=stamp)


class Definitions(Aggregate):
    """A stream of whole definitions: each version is one ``Defined`` event holding it complete.

    One event is one transaction, so a reader sees the old definition or the new one, never a mix;
    old definitions stay in the stream as history. A subclass's events are its own classes
    (eventsourcing subclasses nested events per aggregate), so their stored topics name the
    subclass: ``control.store.domain:Atlas.Defined``, as before this base existed.
    """

    class Started(Aggregate.Created):
        class_version = 1
        name: str

    class Defined(Aggregate.Event):
        class_version = 1
        definition: dict[str, Any]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Definitions)
            aggregate.definition = self.definition

    def __init__(self, name: str) -> None:
        self.name = name
        self.definition: dict[str, Any] = {}

    def define(self, definition: dict[str, Any]) -> None:
        if definition != self.definition:
            self.trigger_event(self.Defined, definition=definition)


class Branch(Definitions):
    """A what-if scenario's branch: its whole definition (branch point, suppressions, hypothetical
    reports), replaced atomically by each run that finds the scenario file changed."""

    @classmethod
    def start(cls, name: str) -> Branch:
        return cls._create(cls.Started, id=stream_id(f"scenario:{name}"), name=name)


class Atlas(Definitions):
    """The gazetteer a ledger is bound to: each version is one ``Defined`` event holding it whole.

    A later version may add places, aliases and controllers (checked before it is stored); the
    earlier versions stay in the stream as history.
    """

    @classmethod
    def start(cls, name: str) -> Atlas:
        return cls._create(cls.Started, id=stream_id("gazetteer"), name=name)

    def define(self, definition: dict[str, Any], timestamp: datetime | None = None) -> None:
        """Store a version, in force from ``timestamp`` (the store's clock; default: now)."""
        if definition != self.definition:
            self.trigger_event(self.Defined, definition=definition, timestamp=timestamp)


EVENT_CLASSES: dict[str, type[Ledger.Reported]] = {
    cls.kind: cls
    for cls in (
        Ledger.BaselineRecorded,
        Ledger.CaptureReported,
        Ledger.WithdrawalReported,
        Ledger.HandoverReported,
        Ledger.DenialReported,
        Ledger.ClaimReported,
        Ledger.CorrectionReported,
    )
}


class StoredReports:
    """The stored form of report events, each report encoded once for the event and its row.

    eventsourcing's mapper encodes an event's whole state (its report included) to JSON; the read
    model keeps the report's own JSON beside it. For a batch, the mapper encodes one event per
    class whose report is a marker; every report's JSON (:func:`report_json`, the transcoder's
    own form of a plain dict) is then put where the marker was. Same bytes as the mapper's for an
    event of the batch's timestamp (tested), half the encoding. A mapper that compresses or
    encrypts, whose transcoder writes a dict otherwise, or whose output does not hold the marker
    once, is used as it is, event by event.
    """

    MARK = "\x1fcontrol:report\x1f"

    def __init__(self, mapper: Any, originator_id: UUID, recorded_at: str) -> None:
        self.mapper = mapper
        self.originator_id = originator_id
        self.recorded_at = recorded_at
        self.timestamp = Ledger.Reported.create_timestamp()
        probe = {"id": "é\x1f", "targets": [1, None], "window": {"earliest": "t"}}
        self.plain = (  # neither compressed nor encrypted, and JSON of report_json's very form
            mapper.compressor is None
            and mapper.cipher is None
            and mapper.transcoder.encode(probe) == report_json(probe).encode()
        )
        self.forms: dict[type, tuple[str, str, str] | None] = {}

    def event(self, cls: type[Ledger.Reported], version: int, report: dict[str, Any]) -> Ledger.Reported:
        return cls(
            originator_id=self.originator_id,
            originator_version=version,
            timestamp=self.timestamp,
            report=report,
            recorded_at=self.recorded_at,
        )

    def stored(self, cls: type[Ledger.Reported], version: int, event: Event, text: str) -> StoredEvent:
        """The stored event of ``event``'s report (whose JSON is ``text``) at ``version``."""
        form = self.forms[cls] if cls in self.forms else self._form(cls)
        if form is None:
            return self.mapper.to_stored_event(self.event(cls, version, event.report_dict()))
        topic, before, after = form
        return StoredEvent(self.originator_id, version, topic, (before + text + after).encode())

    def _form(self, cls: type[Ledger.Reported]) -> tuple[str, str, str] | None:
        form = None
        if self.plain:
            stored = self.mapper.to_stored_event(self.event(cls, 1, self.MARK))  # type: ignore[arg-type]
            parts = stored.state.decode().split(report_json(self.MARK))
            if len(parts) == 2:
                form = (stored.topic, parts[0], parts[1])
        self.forms[cls] = form
        return form


# Events stored before control/ was grouped into parts name their classes ``control.domain:...``;
# eventsourcing resolves a registered topic's nested names from the class registered for it.
for _old, _cls in (("control.domain:Ledger", Ledger), ("control.domain:Branch", Branch),
                   ("control.domain:Atlas", Atlas)):  # fmt: skip
    register_topic(_old, _cls)
