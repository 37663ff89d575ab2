"""The fold's answers as immutable records: a change of control, a capital's state, a snapshot, a
transition, with their JSON forms.

Apart from the rules (control.fold.rules) so that the store, the views and the CLI name and encode
answers without the rules that make them, and the rules' module holds rules only.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from control.model import gazetteer
from control.model.events import Event
from control.model.times import Window, iso

STATUSES = ("held", "uncertain", "conflicting", "contested", "vacated", "unknown")
#: How long a claim or denial that nothing follows keeps a capital contested.
DEFAULT_HORIZON = timedelta(days=7)


class Change(NamedTuple):
    """One change of control at one capital, as corroborated by one or more reports."""

    place: str
    kind: str
    new_controller: str | None
    actor: str | None
    window: Window
    reports: tuple[Event, ...]
    conflict: bool = False

    @property
    def first_reported(self) -> datetime:
        return min(e.reported_at for e in self.reports)

    def describe(self) -> str:
        if self.kind == "withdrawal":
            return f"{self.actor} withdrew from {self.place}"
        return f"{self.new_controller} took {self.place}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "controller": self.new_controller,
            "change": self.describe(),
            "window": self.window.to_dict(),
            "events": [e.id for e in self.reports],
        }


class CapitalState(NamedTuple):
    """Who held one governorate's capital at the instant asked, and on what evidence.

    ``since`` is ``None`` only when nothing is known (``status == "unknown"``).
    ``possible`` lists the controllers a ``conflicting`` capital may have (``None``: vacated).
    """

    governorate: str
    capital: str
    controller: str | None
    status: str
    since: datetime | None
    since_latest: datetime | None
    sources: tuple[Event, ...]
    candidates: tuple[Change, ...] = ()
    contested_by: tuple[Event, ...] = ()
    conflicts: tuple[Change, ...] = ()
    rivals: tuple[Change, ...] = ()
    possible: tuple[str | None, ...] = ()
    lapsed: tuple[Event, ...] = ()
    horizon: timedelta = DEFAULT_HORIZON
    #: control unchanged since the baseline (``since`` is the baseline's date): kept apart from
    #: ``sources`` so that a one-line answer needs no source read
    since_baseline: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "governorate": self.governorate,
            "pcode": pcode_of(self.governorate),
            "capital": self.capital,
            "controller": self.controller,
            "status": self.status,
            "since": iso(self.since),
            "since_latest": iso(self.since_latest),
            "sources": [_source(e) for e in self.sources],
            "candidates": [c.to_dict() for c in self.candidates],
            "rivals": [c.to_dict() for c in self.rivals],
            "possible_controllers": [p or "(vacated)" for p in self.possible],
            "contested_by": [_source(e) | {"kind": e.kind, "actor": e.actor} for e in self.contested_by],
            "lapsed": [
                _source(e)
                | {"kind": e.kind, "actor": e.actor, "lapsed_at": iso(e.window.latest + self.horizon)}
                for e in self.lapsed
            ],
            "conflicts": [
                {
                    "change": c.describe(),
                    "window": c.window.to_dict(),
                    "reports": [
                        {"event": e.id, "when": e.when, "window": e.window.to_dict()} for e in c.reports
                    ],
                    "resolution": "reports' windows do not overlap: using their union, "
                    "capped at the first report",
                }
                for c in self.conflicts
            ],
        }


def pcode_of(place: str) -> str | None:
    """The place's p-code (OCHA's for the built-in gazetteer), else its id, else None. By its
    exact name first (every place in an answer is named so): the index of every label costs a
    one-off answer over thousands of places more than the answer's own look-ups."""
    atlas = gazetteer.current()
    found = atlas.by_name().get(place) or atlas.index().get(gazetteer._key(place))
    return (found.pcode or found.id or None) if found is not None else None


def _source(event: Event) -> dict[str, Any]:
    return {"file": event.source.file, "quote": event.source.quote, "event": event.id}


class Holdings(NamedTuple):
    """The capitals (places) one controller holds in a snapshot, in the gazetteer's order."""

    controller: str
    capitals: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.capitals)


class Disputed(NamedTuple):
    """A capital city whose controller the evidence cannot decide: counted for nobody."""

    capital: str
    possible: tuple[str | None, ...]

    def label(self) -> str:
        return " or ".join(p or "nobody" for p in self.possible)


class Snapshot(NamedTuple):
    """The state of all capitals at ``at``, as known at ``known_at``, as recorded by ``recorded_at``.

    An immutable record like the rest of the fold's answers (a NamedTuple, not a dataclass: a
    frozen dataclass costs every command that replays about 2 ms to define)."""

    at: datetime
    known_at: datetime | None
    events_used: int
    seat: str
    capitals: tuple[CapitalState, ...]
    holdings: tuple[Holdings, ...] = ()
    disputed: tuple[Disputed, ...] = ()
    recorded_at: datetime | None = None
    #: report time of the last report used (the record's end as known), None for an empty ledger
    record_ends: datetime | None = None
    record_begins: datetime | None = None
    horizon: timedelta = DEFAULT_HORIZON
    #: places in the answer before any --place/--controller filter (0: all of ``capitals``)
    total: int = 0
    #: the gazetteer the answer is of, when the caller gave it (``control.replay``, ``Ledger``):
    #: names, p-codes and words are then its own, whichever gazetteer is in use when asked
    gazetteer: Any = None

    @property
    def carried_forward(self) -> bool:
        """True when ``at`` is past the last report: the state shown is carried forward from it."""
        return self.record_ends is not None and self.at > self.record_ends

    @property
    def before_record(self) -> bool:
        return self.record_begins is not None and self.at < self.record_begins

    def holding(self, controller: str) -> Holdings:
        for h in self.holdings:
            if h.controller == controller:
                return h
        return Holdings(controller, ())

    def _own(self) -> Any:
        """Answer for the snapshot's own gazetteer (when it has one)."""
        return gazetteer.using(self.gazetteer) if self.gazetteer is not None else nullcontext()

    def capital(self, name: str) -> CapitalState:
        with self._own():
            place = gazetteer.resolve_place(name).name
        return next(c for c in self.capitals if c.governorate == place)

    def to_dict(self, places: bool = True) -> dict[str, Any]:
        """JSON-ready form. ``recorded_at`` is left out on purpose: an answer asked for "as the
        store had it at R" is byte for byte the answer the store gave at R. ``places=False``:
        ``capitals`` left empty, for a writer that makes each place's text itself."""
        with self._own():
            return self._dict(places)

    def _dict(self, places: bool = True) -> dict[str, Any]:
        seat = gazetteer.current().labels.get("seat_key", "seat")
        return {
            "basis": {
                "at": iso(self.at),
                "known_at": iso(self.known_at),
                "events_used": self.events_used,
                seat: self.seat,
                "record_begins": iso(self.record_begins),
                "record_ends": iso(self.record_ends),
                "carried_forward": self.carried_forward,
                "before_record": self.before_record,
                "contest_horizon_days": self.horizon / timedelta(days=1),
            },
            "capitals": [c.to_dict() for c in self.capitals] if places else [],
            "holdings": {
                h.controller: {"count": h.count, "capitals": list(h.capitals)} for h in self.holdings
            },
            "disputed": [
                {"capital": d.capital, "possible_controllers": [p or "(vacated)" for p in d.possible]}
                for d in self.disputed
            ],
            "total_capitals": self.total or len(self.capitals),
        }

    def to_records(self) -> list[dict[str, Any]]:
        """One flat row per capital, for ``pandas.DataFrame(snapshot.to_records())``."""
        return [
            {
                "at": self.at,
                "known_at": self.known_at,
                "governorate": c.governorate,
                "capital": c.capital,
                "controller": c.controller,
                "status": c.status,
                "since": c.since,
                "since_latest": c.since_latest,
                "events": ";".join(e.id for e in c.sources),
                "files": ";".join(sorted({e.source.file for e in c.sources})),
            }
            for c in self.capitals
        ]


class Transition(NamedTuple):
    """A change that did flip a capital's controller, with the window it happened in.

    ``disputed``: the change is one of rival changes whose order the evidence cannot fix; the
    capital's holder after it is one of several (``after`` is then this change's own outcome).
    """

    governorate: str
    capital: str
    before: str | None
    after: str | None
    change: Change
    disputed: bool = False

    @property
    def window(self) -> Window:
        return self.change.window

    def to_dict(self) -> dict[str, Any]:
        return {
            "governorate": self.governorate,
            "pcode": pcode_of(self.governorate),
            "capital": self.capital,
            "from": self.before,
            "to": self.after,
            "window": self.window.to_dict(),
            "conflict": self.change.conflict,
            "disputed": self.disputed,
            "sources": [_source(e) for e in self.change.reports],
        }
