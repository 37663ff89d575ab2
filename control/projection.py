"""The projection: a pure fold from events to who controls each capital at an instant.

No store, no I/O: ``replay(events, at, known_at)`` is a function of its arguments, so it is tested
without a database and gives the same answer from the record file or from any store.

Rules (README "Time and uncertainty" has the reader's version):

* **Two clocks.** ``known_at`` keeps only events reported at or before it; ``at`` is the instant
  whose state is wanted.
* **Corrections** (known at ``known_at``) retract their targets; retracted events stay in history.
* **Several reports of one change** (same capital, same new controller, no other change between
  them) corroborate: the change's window is the intersection of theirs. If that is empty they
  conflict: the window falls back to their union, the conflict is reported, and in every case the
  window ends no later than the change's first report (nothing occurs after it is reported).
* **Fold.** Changes apply in the order they were certainly complete (window end). At ``at``
  before a change's window: no effect; inside it: status ``uncertain``, the last confirmed
  controller stays, the candidate is named; after it: the new controller holds. A withdrawal by a
  force that no longer holds the capital changes nothing (the capture already explains it).
  After a withdrawal with no successor the capital is ``vacated``.
* **Denials and claims** never flip control. From the moment a statement was certainly made (its
  window's end), a denial, or a claim by anyone other than the controller, marks the capital
  ``contested`` until a change reported after the statement settles it.
* Holdings count distinct capital cities per controller; Rif Dimashq's seat is a setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from control import gazetteer
from control.events import Event
from control.times import Window, iso

STATUSES = ("held", "uncertain", "contested", "vacated", "unknown")


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


class CapitalState(NamedTuple):
    """Who held one governorate's capital at the instant asked, and on what evidence."""

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "governorate": self.governorate,
            "capital": self.capital,
            "controller": self.controller,
            "status": self.status,
            "since": iso(self.since),
            "since_latest": iso(self.since_latest),
            "sources": [_source(e) for e in self.sources],
            "candidates": [
                {
                    "controller": c.new_controller,
                    "change": c.describe(),
                    "window": c.window.to_dict(),
                    "events": [e.id for e in c.reports],
                }
                for c in self.candidates
            ],
            "contested_by": [_source(e) | {"kind": e.kind, "actor": e.actor} for e in self.contested_by],
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


def _source(event: Event) -> dict[str, Any]:
    return {"file": event.source.file, "quote": event.source.quote, "event": event.id}


class Holdings(NamedTuple):
    controller: str
    capitals: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.capitals)


@dataclass(frozen=True)
class Snapshot:
    """The state of all 14 capitals at ``at``, as known at ``known_at``."""

    at: datetime
    known_at: datetime | None
    events_used: int
    seat: str
    capitals: tuple[CapitalState, ...]
    holdings: tuple[Holdings, ...] = field(default=())

    def holding(self, controller: str) -> Holdings:
        for h in self.holdings:
            if h.controller == controller:
                return h
        return Holdings(controller, ())

    def capital(self, name: str) -> CapitalState:
        place = gazetteer.resolve_place(name).name
        return next(c for c in self.capitals if c.governorate == place)

    def to_dict(self) -> dict[str, Any]:
        return {
            "basis": {
                "at": iso(self.at),
                "known_at": iso(self.known_at),
                "events_used": self.events_used,
                "seat_of_rif_dimashq": self.seat,
            },
            "capitals": [c.to_dict() for c in self.capitals],
            "holdings": {
                h.controller: {"count": h.count, "capitals": list(h.capitals)} for h in self.holdings
            },
            "total_capitals": len(self.capitals),
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


def known(events: Iterable[Event], known_at: datetime | None) -> list[Event]:
    """Events reported at or before ``known_at`` (all if ``None``)."""
    return [e for e in events if known_at is None or e.reported_at <= known_at]


def retracted_ids(events: Iterable[Event]) -> set[str]:
    return {t for e in events if e.kind == "correction" for t in e.targets}


def changes(events: Sequence[Event]) -> list[Change]:
    """Group one capital's change reports into corroborated changes (see module rules)."""
    reports = sorted(
        (e for e in events if e.changes_control),
        key=lambda e: (e.window.earliest, e.window.latest, e.id),
    )
    groups: list[list[Event]] = []
    for report in reports:
        key = _change_key(report)
        home = None
        for i in range(len(groups) - 1, -1, -1):
            if _change_key(groups[i][0]) == key:
                home = i
                break
        if home is not None:
            hull_end = max(e.window.latest for e in groups[home])
            between = any(
                _change_key(g[0]) != key
                and min(e.window.earliest for e in g) >= hull_end
                and max(e.window.latest for e in g) <= report.window.earliest
                for g in groups[home + 1 :]
            )
            if not between:
                groups[home].append(report)
                continue
        groups.append([report])
    return [_merge(g) for g in groups]


def _change_key(event: Event) -> tuple[str, str | None, str | None]:
    if event.kind == "withdrawal":
        return ("withdrawal", None, event.actor)
    return ("takeover", event.new_controller, None)


def _merge(reports: list[Event]) -> Change:
    first = reports[0]
    start = max(e.window.earliest for e in reports)
    end = min(e.window.latest for e in reports)
    conflict = end < start or (end == start and len(reports) > 1)
    if conflict:
        # Each report, narrowed by the reports it agrees with; the change lies in one of them.
        narrowed = [_agreeing(r, reports) for r in reports]
        start = min(w.earliest for w in narrowed)
        end = max(w.latest for w in narrowed)
    cap = min(e.reported_at for e in reports)
    end = max(min(end, cap), start)
    return Change(
        place=first.place,
        kind=first.kind if first.kind == "withdrawal" else "capture",
        new_controller=first.new_controller,
        actor=first.actor,
        window=Window(start, end),
        reports=tuple(sorted(reports, key=_report_order)),
        conflict=conflict,
    )


def _agreeing(report: Event, reports: list[Event]) -> Window:
    friends = [e.window for e in reports if e.window.overlaps(report.window)] or [report.window]
    start = max(w.earliest for w in friends)
    end = min(w.latest for w in friends)
    return Window(start, end) if start < end else report.window


def _flips(change: Change, controller: str | None) -> bool:
    """Would ``change`` alter a capital now held by ``controller``? (A withdrawal by a force
    that no longer holds it, or a capture by the holder, changes nothing.)"""
    if change.kind == "withdrawal":
        return controller == change.actor
    return controller != change.new_controller


def _report_order(event: Event) -> tuple[datetime, str]:
    return (event.reported_at, event.id)


def _change_order(change: Change) -> tuple[Any, ...]:
    return (
        change.window.latest,
        change.window.earliest,
        change.kind != "withdrawal",
        change.reports[0].id,
    )


def place_state(
    governorate: gazetteer.Governorate, events: Sequence[Event], at: datetime, seat: str
) -> CapitalState:
    """Fold one capital's (already filtered) events into its state at ``at``."""
    baseline = [e for e in events if e.kind == "baseline" and e.window.earliest <= at]
    capital = governorate.seat(seat)
    if not baseline:
        return CapitalState(governorate.name, capital, None, "unknown", None, None, ())
    base = max(baseline, key=lambda e: (e.window.earliest, e.id))
    controller: str | None = base.actor
    since: Window = base.window
    sources: tuple[Event, ...] = (base,)
    candidates: list[Change] = []
    all_changes = sorted(changes(events), key=_change_order)
    for change in all_changes:
        if change.window.earliest < base.window.earliest:
            continue
        effective = _flips(change, controller)
        if change.window.latest <= at:
            if effective:
                controller, since, sources = change.new_controller, change.window, change.reports
                candidates = [c for c in candidates if c.new_controller != controller]
            elif change.kind != "withdrawal" and controller == change.new_controller:
                sources = tuple(sorted({*sources, *change.reports}, key=_report_order))
        elif change.window.earliest <= at and effective:
            candidates.append(change)
    contested = tuple(
        e
        for e in events
        if e.kind in ("denial", "claim")
        and e.window.latest <= at
        and (e.kind == "denial" or e.actor != controller)
        and not any(
            c.window.latest <= at and c.first_reported > e.reported_at and c.window.latest > e.window.earliest
            for c in all_changes
        )
    )
    if candidates:
        status = "uncertain"
    elif contested:
        status = "contested"
    elif controller is None:
        status = "vacated"
    else:
        status = "held"
    return CapitalState(
        governorate=governorate.name,
        capital=capital,
        controller=controller,
        status=status,
        since=since.earliest,
        since_latest=since.latest,
        sources=sources,
        candidates=tuple(candidates),
        contested_by=tuple(sorted(contested, key=_report_order)),
        conflicts=tuple(c for c in all_changes if c.conflict and c.window.earliest <= at),
    )


class Transition(NamedTuple):
    """A change that did flip a capital's controller, with the window it happened in."""

    governorate: str
    capital: str
    before: str | None
    after: str | None
    change: Change

    @property
    def window(self) -> Window:
        return self.change.window

    def to_dict(self) -> dict[str, Any]:
        return {
            "governorate": self.governorate,
            "capital": self.capital,
            "from": self.before,
            "to": self.after,
            "window": self.window.to_dict(),
            "conflict": self.change.conflict,
            "sources": [_source(e) for e in self.change.reports],
        }


def live_events(events: Iterable[Event], known_at: datetime | None = None) -> list[Event]:
    """Known at ``known_at``, minus corrections and what they retract."""
    usable = known(events, known_at)
    dropped = retracted_ids(usable)
    return [e for e in usable if e.id not in dropped and e.kind != "correction"]


def _by_place(events: Iterable[Event]) -> dict[str, list[Event]]:
    by_place: dict[str, list[Event]] = {}
    for event in events:
        by_place.setdefault(event.place, []).append(event)
    return by_place


def _deciding_events(
    governorate: gazetteer.Governorate, by_place: dict[str, list[Event]], seat: str
) -> list[Event]:
    """The events that decide a governorate's capital. Where the capital counted is another
    governorate's city (Rif Dimashq counted as Damascus), that city's changes of control decide;
    the governorate's own reports still contest, and stay in its history."""
    mine = by_place.get(governorate.name, [])
    city = governorate.seat(seat)
    if city == governorate.capital:
        return mine
    host = next(g for g in gazetteer.governorates() if g.capital == city)
    return [e for e in mine if not e.changes_control] + [
        e for e in by_place.get(host.name, []) if e.changes_control
    ]


def transitions(
    events: Iterable[Event],
    known_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
) -> list[Transition]:
    """Every effective change of control in the record, ordered by when it was complete."""
    by_place = _by_place(live_events(events, known_at))
    out: list[Transition] = []
    for g in gazetteer.governorates():
        mine = _deciding_events(g, by_place, seat)
        base = [e for e in mine if e.kind == "baseline"]
        if not base:
            continue
        start = max(base, key=lambda e: (e.window.earliest, e.id))
        controller = start.actor
        for change in sorted(changes(mine), key=_change_order):
            if change.window.earliest < start.window.earliest:
                continue
            if _flips(change, controller):
                out.append(Transition(g.name, g.seat(seat), controller, change.new_controller, change))
                controller = change.new_controller
    return sorted(out, key=lambda t: (t.window.latest, t.window.earliest, t.governorate))


def replay(
    events: Iterable[Event],
    at: datetime,
    known_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
) -> Snapshot:
    """State of every capital at ``at`` (valid time) as known at ``known_at`` (report time)."""
    usable = known(events, known_at)
    by_place = _by_place(live_events(usable))
    states = tuple(
        place_state(g, _deciding_events(g, by_place, seat), at, seat) for g in gazetteer.governorates()
    )
    cities: dict[str, set[str]] = {}
    for state in states:
        if state.controller:
            cities.setdefault(state.controller, set()).add(state.capital)
    holdings = tuple(
        Holdings(name, tuple(sorted(cities[name])))
        for name in sorted(cities, key=lambda n: (n != "government", n))
    )
    used = sum(1 for e in usable if e.window.earliest <= at)
    return Snapshot(at, known_at, used, seat, states, holdings)


__all__ = [
    "CapitalState",
    "Change",
    "Holdings",
    "Snapshot",
    "Transition",
    "live_events",
    "replay",
    "transitions",
]
