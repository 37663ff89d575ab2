"""The event schema: one immutable, sourced report about one governorate's capital.

A report is never edited. A capture, withdrawal or handover changes who controls a capital once
its occurrence window has passed; a denial or a claim only contests; a correction retracts
earlier events by id (they stay in the log and in ``history``, marked as retracted).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from control.model.times import Window, iso, parse_instant

#: The stored version of every report event class (``class_version`` in control.store.domain). Reads
#: decode events at this version directly; older ones go through eventsourcing's mapper, which
#: upcasts them (``upcast_v1_v2``). One constant, so the two can never disagree.
REPORT_VERSION = 2
#: The version of every other stored event class (ledger opened, record loaded, scenario branch).
OTHER_VERSION = 1

#: kind -> what it does. "baseline" is who held the capital on 26 Nov 2024 (from the gazetteer).
KINDS: dict[str, str] = {
    "baseline": "who held the capital before the offensive",
    "capture": "actor takes the capital (from another controller)",
    "withdrawal": "actor leaves the capital with no named successor (incl. 'redeployed')",
    "handover": "actor receives the capital from another without a fight",
    "denial": "actor denies reported change(s); contests, never flips control",
    "claim": "actor claims control, an encirclement or a 'security ring'; contests only",
    "correction": "retracts earlier event(s) by id",
}
CHANGE_KINDS = ("capture", "withdrawal", "handover")
STATEMENT_KINDS = ("denial", "claim")
#: scope "city": about the capital's control; "area": about its surroundings (context, never flips);
#: "person": a statement about a person there (a leader fled, is in his office): shown in history,
#: never flips control and never contests it.
SCOPES = ("city", "area", "person")


class Source(NamedTuple):
    """Provenance: the file a report comes from and the exact words it uses."""

    file: str
    quote: str


#: How ``json`` writes a text when not escaping to ASCII (its C function, where it has one).
_ENCODE_TEXT = json.encoder.c_encode_basestring or json.encoder.py_encode_basestring  # type: ignore[attr-defined]


def _json_text(value: str | None) -> str:
    return "null" if value is None else _ENCODE_TEXT(value)


class Event(NamedTuple):
    """One report, as recorded. ``window`` is when it happened, ``reported_at`` when it was known."""

    id: str
    kind: str
    place: str
    window: Window
    reported_at: datetime
    source: Source
    actor: str | None = None
    previous: str | None = None
    targets: tuple[str, ...] = ()
    scope: str = "city"
    when: str = ""
    note: str = ""
    scenario: str | None = None
    #: when the store learned it (system time); None for events read from a file, not a store
    recorded_at: datetime | None = None

    @property
    def new_controller(self) -> str | None:
        """Who controls the capital after this change (``None`` after a withdrawal)."""
        if self.kind in ("capture", "handover", "baseline"):
            return self.actor
        return None

    @property
    def changes_control(self) -> bool:
        return self.kind in CHANGE_KINDS and self.scope == "city"

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready form: the report, and ``recorded_at`` once the event is stored."""
        data = self.report_dict()
        if self.recorded_at is not None:
            data["recorded_at"] = iso(self.recorded_at)
        return data

    def report_dict(self) -> dict[str, Any]:
        """The report as stored in the event store (the store's own clock is kept beside it)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "place": self.place,
            "actor": self.actor,
            "previous": self.previous,
            "targets": list(self.targets),
            "scope": self.scope,
            "window": self.window.to_dict(),
            "when": self.when,
            "reported_at": iso(self.reported_at),
            "file": self.source.file,
            "quote": self.source.quote,
            "note": self.note,
            "scenario": self.scenario,
        }

    def report_json(self, earliest: str, latest: str, reported_at: str) -> str:
        """:meth:`report_dict` as the store writes it (compact JSON, not ASCII-escaped: the read
        model's ``report_json``), made directly (the instants given as ``iso`` texts): the same
        text (tested), without building the dict and walking it, the hot path of a bulk append."""
        q = _json_text
        targets = ",".join(q(t) for t in self.targets)
        return (
            f'{{"id":{q(self.id)},"kind":{q(self.kind)},"place":{q(self.place)},'
            f'"actor":{q(self.actor)},"previous":{q(self.previous)},"targets":[{targets}],'
            f'"scope":{q(self.scope)},"window":{{"earliest":{q(earliest)},"latest":{q(latest)}}},'
            f'"when":{q(self.when)},"reported_at":{q(reported_at)},"file":{q(self.source.file)},'
            f'"quote":{q(self.source.quote)},"note":{q(self.note)},"scenario":{q(self.scenario)}}}'
        )

    @classmethod
    def from_stored(cls, data: dict[str, Any], recorded_at: str | None = None) -> Event:
        """:meth:`from_dict` for a report read back from the store: its instants were validated
        when it was written and are canonical, so they are read without checks (the hot path of
        every read of a large ledger). ``recorded_at``: the store's clock, kept beside the report
        (the read model's column), when ``data`` does not carry it."""
        return cls._from(data, datetime.fromisoformat, recorded_at)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return cls._from(data, parse_instant)

    @classmethod
    def _from(
        cls, data: dict[str, Any], instant: Callable[[str], datetime], recorded: str | None = None
    ) -> Event:
        get = data.get
        window = data["window"]
        recorded = recorded or get("recorded_at")
        # tuple.__new__: what a NamedTuple's own __new__ does, without its call (an answer reads
        # thousands of reports; the fields are in the classes' order)
        new = tuple.__new__
        return new(
            cls,
            (
                data["id"],
                data["kind"],
                data["place"],
                new(Window, (instant(window["earliest"]), instant(window["latest"]))),
                instant(data["reported_at"]),
                new(Source, (data["file"], data["quote"])),
                get("actor"),
                get("previous"),
                tuple(get("targets") or ()),
                get("scope") or "city",
                get("when", ""),
                get("note", ""),
                get("scenario"),
                instant(recorded) if recorded else None,
            ),
        )
