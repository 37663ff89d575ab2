"""The projection: a pure fold from events to who controls each capital at an instant.

No store, no I/O: ``replay(events, at, known_at, recorded_at)`` is a function of its arguments, so
it is tested without a database and gives the same answer from the record file or from any store.
No answer depends on the order events were appended or on their ids (property-tested).

Rules (README "Rules of the fold" has the reader's version):

* **Three clocks.** ``recorded_at`` keeps only events the store had learned by then (system
  time); ``known_at`` only events reported (published) by then; ``at`` is the instant whose state
  is wanted (valid time).
* **Corrections** (in force at ``known_at``) retract their targets; a correction retracted by a
  later correction is no longer in force, so its target is restored. Retracted events stay in
  history.
* **Several reports of one change** (same capital, same new controller or, for a withdrawal, the
  same force, no other change certainly between them) corroborate: the change's window is the
  intersection of theirs. If that is empty they conflict: each report is narrowed by those it
  agrees with and the change lies in the union of those; in every case the window ends no later
  than the change's first report. "Certainly between" sees every other change with its window as
  the reports taken before (in content order) made it, whenever that change was created.
* **Order.** A change is certainly before another when its window ends before the other's begins.
  Changes whose windows overlap are in an order the evidence cannot fix; every order is taken
  into account by an exact rule (:func:`_outcomes`, no enumeration): one outcome is ``held``,
  several are ``conflicting`` (counted for no controller, every candidate named).
* **At ``at``**: before a change's window: no effect; inside it: status ``uncertain``, the last
  confirmed controller stays, the candidate is named; after it: the new controller holds. A
  withdrawal by a force that no longer holds the capital changes nothing; after a withdrawal with
  no successor the capital is ``vacated``.
* **Denials and claims** never flip control. A claim by anyone but the controller, or a denial of
  a change of control (no targets, or targets that change the capital's control), marks the
  capital ``contested`` from the moment it was certainly made until a change reported after it
  settles the matter, or until the contest horizon (default 7 days) passes with nothing following:
  then it has ``lapsed``, and the answer says so. Statements about a person (``scope = "person"``)
  and about the surroundings (``scope = "area"``) contest nothing.
* **Before the baseline** nothing is known ("before the record begins"); **after the last
  report** the state is carried forward, and the snapshot says from when.
* Holdings count distinct capital cities per controller; Rif Dimashq's seat is a setting.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
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
            "pcode": _pcode(self.governorate),
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


def _pcode(place: str) -> str | None:
    """The place's p-code (OCHA's for the built-in gazetteer), else its id, else None."""
    found = gazetteer.current().index().get(gazetteer._key(place))
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form. ``recorded_at`` is left out on purpose: an answer asked for "as the
        store had it at R" is byte for byte the answer the store gave at R."""
        with self._own():
            return self._dict()

    def _dict(self) -> dict[str, Any]:
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
            "capitals": [c.to_dict() for c in self.capitals],
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


def canonical_order(event: Event) -> tuple[Any, ...]:
    """The documented order of every event listing: report time, then window, then id."""
    return (event.reported_at, event.window.earliest, event.window.latest, event.id)


def known(
    events: Iterable[Event], known_at: datetime | None, recorded_at: datetime | None = None
) -> list[Event]:
    """Events reported at or before ``known_at`` and stored by ``recorded_at`` (all if ``None``).

    An event without a recorded time (read from the record file, not a store) counts as recorded.
    """
    return [
        e
        for e in events
        if (known_at is None or e.reported_at <= known_at)
        and (recorded_at is None or e.recorded_at is None or e.recorded_at <= recorded_at)
    ]


def retracting(events: Iterable[Event]) -> dict[str, str]:
    """Retracted event id -> the correction in force that retracts it.

    A correction is in force unless a correction in force retracts it, so retracting a correction
    restores its target. Targets always exist before their correction, so the graph has no cycle;
    it is walked without recursion.
    """
    corrections = {e.id: e for e in events if e.kind == "correction"}
    if not corrections:
        return {}
    by_target: dict[str, list[str]] = {}
    for c in corrections.values():
        for t in c.targets:
            by_target.setdefault(t, []).append(c.id)
    in_force: dict[str, bool] = {}

    def settle(start: str) -> None:
        stack = [start]
        while stack:
            cid = stack[-1]
            pending = [r for r in by_target.get(cid, ()) if r not in in_force and r != cid]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            in_force[cid] = not any(in_force.get(r, False) for r in by_target.get(cid, ()))

    for cid in sorted(corrections):
        if cid not in in_force:
            settle(cid)
    out: dict[str, str] = {}
    for target, retractors in by_target.items():
        live = sorted(r for r in retractors if in_force[r])
        if live:
            out[target] = min(live, key=lambda r: (corrections[r].reported_at, r))
    return out


def retracted_ids(events: Iterable[Event]) -> set[str]:
    return set(retracting(events))


def _content_order(e: Event) -> tuple[Any, ...]:
    """Sort key from an event's content: ids decide only between otherwise identical reports."""
    return (
        e.window.earliest,
        e.window.latest,
        e.kind,
        e.actor or "",
        e.previous or "",
        e.reported_at,
        e.source.file,
        e.source.quote,
        e.id,
    )


def changes(events: Sequence[Event]) -> list[Change]:
    """Group one capital's change reports into corroborated changes (see module rules).

    Reports are taken in content order; each joins the last group of its change (same capital,
    same new controller) unless another change lies certainly between that group's window and the
    report, else it starts a new group. "Another change" is any group of another change, whenever
    it was created, with its window as narrowed so far (a group made before ``home`` may have
    narrowed to after it). Only the last group of each change can still grow, so every other group
    is final ("frozen"): reports come by start, so the frozen groups ending by the report's start
    only accumulate, and the question is answered from their latest starts (the best two of
    different changes) plus the few growing groups, in O(log n) per report instead of a scan.
    """
    reports = sorted((e for e in events if e.changes_control), key=_content_order)
    groups: _Groups = _Groups()
    last_of: dict[tuple[str, str | None, str | None], int] = {}
    for report in reports:
        key = _change_key(report)
        home = last_of.get(key)
        if home is not None and not groups.between(home, report.window.earliest):
            groups.append(home, report)
            continue
        if home is not None:
            groups.freeze(home)
        last_of[key] = groups.new(report, key)
    return [g.change() for g in groups.groups]


class _Merging:
    """One group of reports of a change as it grows, reports coming by window start: its
    :func:`_merge` window kept up to date in O(log k) per report (amortised), not recomputed.

    With a conflict, each report's window is narrowed by the reports it overlaps (its friends),
    and the change lies in the union. Reports come by start, so once the latest start ``E`` has
    reached a report's end, no later report overlaps it: it is *closed*, its narrowed window final.
    A report not closed whose start is at or after every closed end (``M``) is *open*: its friends
    are exactly the reports not closed, so its narrowed window is ``(E, least end not closed)``,
    the same for all open reports. One whose start is before ``M`` (*spoilt*) overlaps a closed
    report ending by ``E``: its friends' intersection is empty, for good, so it counts with its
    own window. A report closing with the arrival of a report starting at or after its end counts
    with ``(E before, least end not closed before)``. An instant (a window of no length) at ``t``
    is closed as it comes, ends at ``t`` (so the open reports starting before it are spoilt), and
    its friends are the reports not closed that start before it: the spoilt ones.
    """

    __slots__ = (
        "_window",
        "cap",
        "closed_end",
        "end",
        "ends",
        "high",
        "latest_start",
        "low",
        "open",
        "reports",
        "spoilt",
        "spoilt_ends",
        "spoilt_starts",
        "start",
        "starts",
    )

    def __init__(self, report: Event) -> None:
        self.reports: list[Event] = []
        self.start = report.window.earliest  # latest start of the group's reports
        self.end = report.window.latest  # earliest end
        self.cap = report.reported_at  # first report time
        self.latest_start = report.window.earliest  # E
        self.closed_end: datetime | None = None  # M
        self.ends: list[tuple[datetime, int]] = []  # reports not closed, by end (a heap)
        self.starts: list[tuple[datetime, int]] = []  # open reports, by start (a heap)
        self.open: set[int] = set()
        self.spoilt: set[int] = set()  # spoilt reports not closed, by start (latest first), by end
        self.spoilt_starts: list[tuple[float, int]] = []
        self.spoilt_ends: list[tuple[datetime, int]] = []
        self.low: datetime | None = None  # narrowed windows of reports no longer open: union
        self.high: datetime | None = None
        self._window: Window | None = None
        self.add(report)

    def _count(self, start: datetime, end: datetime) -> None:
        self.low = start if self.low is None or start < self.low else self.low
        self.high = end if self.high is None or end > self.high else self.high

    def _closed(self, end: datetime) -> None:
        """``M`` is at least ``end`` now: open reports starting before it are spoilt."""
        if self.closed_end is not None and end <= self.closed_end:
            return
        self.closed_end = end
        starts = self.starts
        while starts and starts[0][0] < end:
            _, other = heapq.heappop(starts)
            if other in self.open:  # overlaps a closed report ending by E: its own window
                self.open.discard(other)
                window = self.reports[other].window
                self._count(*window)
                self.spoilt.add(other)
                heapq.heappush(self.spoilt_starts, (-window.earliest.timestamp(), other))
                heapq.heappush(self.spoilt_ends, (window.latest, other))

    def _first_spoilt(self, heap: list[Any]) -> int | None:
        while heap and heap[0][1] not in self.spoilt:
            heapq.heappop(heap)
        return heap[0][1] if heap else None

    def add(self, report: Event) -> None:
        earliest, latest = report.window
        index = len(self.reports)
        self.reports.append(report)
        self.start = max(self.start, earliest)
        self.end = min(self.end, latest)
        self.cap = min(self.cap, report.reported_at)
        self._window = None
        before = self.latest_start
        ends = self.ends
        if ends and ends[0][0] <= earliest:  # reports closing: their friends are those before
            least = ends[0][0]
            while ends and ends[0][0] <= earliest:
                end, closing = heapq.heappop(ends)
                if closing in self.open:
                    self.open.discard(closing)
                    self._count(before, least)
                self.spoilt.discard(closing)
            self._closed(end)  # the last closed ends latest; then the open ones it spoils
        self.latest_start = earliest
        if latest <= earliest:  # an instant: closed at once
            self._closed(latest)
            first = self._first_spoilt(self.spoilt_starts)
            if first is None:
                self._count(earliest, latest)
            else:  # overlapped by the spoilt reports, and only them
                least = self._first_spoilt(self.spoilt_ends)
                assert least is not None
                self._count(self.reports[first].window.earliest, self.reports[least].window.latest)
            return
        heapq.heappush(ends, (latest, index))
        heapq.heappush(self.starts, (earliest, index))
        self.open.add(index)

    @property
    def conflict(self) -> bool:
        return self.end < self.start or (self.end == self.start and len(self.reports) > 1)

    def window(self) -> Window:
        """``_merge(self.reports).window``."""
        if self._window is None:
            start, end = self.start, self.end
            if not self.conflict:
                self._window = Window(start, max(min(end, self.cap), start))
            else:
                low, high = self.low, self.high
                if self.open:
                    least = self.ends[0][0]
                    low = self.latest_start if low is None or self.latest_start < low else low
                    high = least if high is None or least > high else high
                assert low is not None and high is not None
                self._window = Window(low, max(min(high, self.cap), low))
        return self._window

    def change(self) -> Change:
        """The group as a :class:`Change` (what :func:`_merge` makes of its reports)."""
        first = self.reports[0]
        return Change(
            place=first.place,
            kind=first.kind if first.kind == "withdrawal" else "capture",
            new_controller=first.new_controller,
            actor=first.actor,
            window=self.window(),
            reports=tuple(sorted(self.reports, key=_report_order)),
            conflict=self.conflict,
        )


class _Groups:
    """The groups of :func:`changes` as they are built, with what "certainly between" needs."""

    def __init__(self) -> None:
        self.groups: list[_Merging] = []
        self.key: list[tuple[str, str | None, str | None]] = []
        self.growing: set[int] = set()
        self.pending: list[tuple[datetime, int]] = []  # frozen groups, by merged end (a heap)
        # the latest merged start among frozen groups ending by the current report's start, of
        # two different changes (so that the best of a change other than any one is at hand)
        self.best: list[tuple[datetime, tuple[str, str | None, str | None]]] = []

    def new(self, report: Event, key: tuple[str, str | None, str | None]) -> int:
        index = len(self.groups)
        self.groups.append(_Merging(report))
        self.key.append(key)
        self.growing.add(index)
        return index

    def append(self, index: int, report: Event) -> None:
        self.groups[index].add(report)

    def merged(self, index: int) -> Window:
        """``_merge(group).window``, kept up to date as the group grows."""
        return self.groups[index].window()

    def freeze(self, index: int) -> None:
        self.growing.discard(index)
        heapq.heappush(self.pending, (self.merged(index).latest, index))

    def _keep(self, start: datetime, key: tuple[str, str | None, str | None]) -> None:
        best = [b for b in self.best if b[1] != key]
        mine = [b for b in self.best if b[1] == key]
        if mine and mine[0][0] >= start:
            return
        self.best = sorted([*best, (start, key)], key=lambda b: b[0], reverse=True)[:2]

    def between(self, home: int, until: datetime) -> bool:
        """Is a group of another change certainly between ``home``'s window and ``until``?"""
        while self.pending and self.pending[0][0] <= until:
            _, index = heapq.heappop(self.pending)
            self._keep(self.merged(index).earliest, self.key[index])
        key = self.key[home]
        latest_start = next((start for start, k in self.best if k != key), None)
        for index in self.growing:
            if index != home and self.key[index] != key:
                window = self.merged(index)
                if window.latest <= until and (latest_start is None or window.earliest > latest_start):
                    latest_start = window.earliest
        return latest_start is not None and latest_start >= self.merged(home).latest


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


def _outcome(change: Change, controller: str | None) -> str | None:
    """Who holds the capital after ``change``, if ``controller`` held it before. A withdrawal by
    a force that no longer holds it, or a capture by the holder, changes nothing."""
    if change.kind == "withdrawal":
        return None if controller == change.actor else controller
    return change.new_controller


def _flips(change: Change, controller: str | None) -> bool:
    return _outcome(change, controller) != controller


def _before(a: Change, b: Change) -> bool:
    """``a`` certainly happened before ``b`` (its window ends before b's begins)."""
    return a.window.latest <= b.window.earliest and not b.window.latest <= a.window.earliest


def _report_order(event: Event) -> tuple[Any, ...]:
    return (event.reported_at, event.source.file, event.source.quote, event.id)


def _change_order(change: Change) -> tuple[Any, ...]:
    """A linear extension of "certainly before" that uses no id."""
    return (
        change.window.latest,
        change.window.earliest,
        change.kind != "withdrawal",
        change.new_controller or "",
        change.actor or "",
        tuple(_content_order(e) for e in change.reports),
    )


def _clusters(items: Sequence[Change], order: Callable[[Change], Any] = _change_order) -> list[list[Change]]:
    """Split changes into runs whose members' order is fixed between runs (interval components).
    ``order``: :func:`_change_order`, or any key ordering changes as it does (ties included)."""
    ordered = sorted(items, key=lambda c: (c.window.earliest, order(c)))
    out: list[list[Change]] = []
    end: datetime | None = None
    for c in ordered:
        if (
            out
            and end is not None
            and (c.window.earliest < end or c.window.latest <= end == c.window.earliest)
        ):
            out[-1].append(c)
            end = max(end, c.window.latest)
        else:
            out.append([c])
            end = c.window.latest
    return [sorted(group, key=order) for group in out]


def _key_after(c: Change) -> tuple[datetime, bool]:
    """``c``'s place among the changes that may follow another: its start, then "has length"."""
    return (c.window.earliest, c.window.latest > c.window.earliest)


def _threshold(c: Change) -> tuple[datetime, bool]:
    """The changes certainly after ``c`` (:func:`_before`) are exactly those whose
    :func:`_key_after` is at least this: they start at or after its end (two instants at the same
    moment are not ordered)."""
    return (c.window.latest, c.window.latest == c.window.earliest)


def _unseats(change: Change, holder: str | None) -> bool:
    """Can ``change`` take the capital from ``holder``, whatever happened before it?"""
    if change.kind == "withdrawal":
        return holder is not None and change.actor == holder
    return change.new_controller != holder


def _outcomes(cluster: Sequence[Change], start: frozenset[str | None]) -> frozenset[str | None]:
    """Every holder the cluster can leave, over every order the evidence allows (every order of
    its changes in which no change comes before one certainly before it), without enumerating
    them; O(n log n) in the cluster's changes. Exact (property-tested against enumeration):

    * a controller X can end the cluster when some capture by X has, among the changes certainly
      after it, only changes that cannot unseat X (captures by X, withdrawals by others): put it
      last but for those; or when X held it before and no change of the cluster can unseat X;
    * nobody can end it when some capture (by Y) has no capture certainly after it and some
      withdrawal by Y is certainly before no capture: that capture last among the captures, the
      withdrawal after it; or, with no capture at all, when nobody held it or its holder withdrew.
    """
    captures = [c for c in cluster if c.kind != "withdrawal"]
    out: set[str | None] = set()
    for holder in start:
        if not any(_unseats(c, holder) for c in cluster):
            out.add(holder)
        elif not captures:
            out.add(None)  # only withdrawals, one of them by the holder
    if not captures:
        return frozenset(out)
    # per controller, the latest _key_after of its captures; per actor, of its withdrawals
    latest_capture: dict[str | None, tuple[datetime, bool]] = {}
    latest_withdrawal: dict[str | None, tuple[datetime, bool]] = {}
    for c in cluster:
        table = latest_withdrawal if c.kind == "withdrawal" else latest_capture
        who = c.actor if c.kind == "withdrawal" else c.new_controller
        key = _key_after(c)
        if who not in table or table[who] < key:
            table[who] = key
    ranked = sorted(latest_capture.items(), key=lambda kv: kv[1], reverse=True)[:2]
    last_capture = ranked[0][1]
    # actors with a withdrawal certainly before no capture (it may follow every capture)
    free = {w.actor for w in cluster if w.kind == "withdrawal" and last_capture < _threshold(w)}
    for c in captures:
        x, after = c.new_controller, _threshold(c)
        rival = next((key for who, key in ranked if who != x), None)
        own = latest_withdrawal.get(x)
        if (rival is None or rival < after) and (own is None or own < after):
            out.add(x)
        if last_capture < after and x in free:  # c may be the last capture, a withdrawal by x after
            out.add(None)
    return frozenset(out)


def _holder_order(holder: str | None) -> tuple[bool, str]:
    return (holder is None, holder or "")


def _baseline_and_changes(events: Sequence[Event]) -> tuple[Event | None, list[Change]]:
    """One capital's baseline (None if retracted) and its changes, windows clamped to start at
    the baseline (events stored before windows were bounded by it are clamped, never dropped)."""
    baselines = [e for e in events if e.kind == "baseline"]
    base = max(baselines, key=lambda e: (e.window.earliest, e.actor or "", e.id)) if baselines else None
    found = changes(events)
    if base is None:
        return None, found
    origin = base.window.earliest
    return base, [
        c._replace(window=Window(max(c.window.earliest, origin), max(c.window.latest, origin))) for c in found
    ]


def status_of(
    holders: int, under_way: bool, contested: bool, known_start: bool, controller: str | None
) -> str:
    """The status, by precedence: conflicting > uncertain > contested > unknown > vacated > held.
    (One rule for the fold at an instant and for the sweep in control.fold.phases.)"""
    if holders > 1:
        return "conflicting"
    if under_way:
        return "uncertain"
    if contested:
        return "contested"
    if not known_start:
        return "unknown"
    return "vacated" if controller is None else "held"


class _Folded(NamedTuple):
    """The fold after a cluster: holders, whether the start is known, and (for full states) the
    window since which, the sources and the rivals, as :func:`place_state` keeps them."""

    holders: frozenset[str | None]
    known_start: bool
    since: Window | None = None
    sources: tuple[Event, ...] = ()
    rivals: tuple[Change, ...] = ()
    #: the changes ``sources`` come from (what made the holder(s), and what corroborated it since)
    made: tuple[Change, ...] = ()

    @classmethod
    def at_baseline(cls, base: Event | None, full: bool = True) -> _Folded:
        """The fold before any change: the baseline's holder (``None`` if there is none)."""
        known = base is not None and full
        return cls(
            frozenset({base.actor if base else None}),
            base is not None,
            base.window if known else None,
            (base,) if known else (),
        )


class _Flip(NamedTuple):
    """A change of a cluster that flips the capital (:func:`_walk`)."""

    index: int  # its place in the cluster
    change: Change
    before: str | None
    after: str | None
    disputed: bool


def _walk(
    cluster: Sequence[Change], holders: frozenset[str | None], after: frozenset[str | None]
) -> list[_Flip]:
    """The one walk of a cluster (its changes in order), from the ``holders`` before it to those
    ``after`` it (:func:`_outcomes`): the changes that flip the capital. With one holder before and
    one after, step by step (each flip from the holder it found); with rivals, every change that
    can flip a holder before, from the holder before if there was only one (``disputed`` when
    several holders are left); when the cluster changes nothing, none."""
    if len(holders) == 1 and len(after) == 1:
        holder = next(iter(holders))
        flips = []
        for i, c in enumerate(cluster):
            if _flips(c, holder):
                nxt = _outcome(c, holder)
                flips.append(_Flip(i, c, holder, nxt, False))
                holder = nxt
        return flips
    if after == holders:
        return []
    before = next(iter(holders)) if len(holders) == 1 else None
    return [
        _Flip(i, c, before, _outcome(c, before), len(after) > 1)
        for i, c in enumerate(cluster)
        if any(_flips(c, h) for h in holders)
    ]


def _fold_step(cluster: Sequence[Change], state: _Folded, full: bool) -> _Folded:
    """:func:`place_state`'s fold over one cluster (``full``: keeping since, sources, rivals)."""
    holders, known_start, since, sources, rivals, made = state
    after = _outcomes(cluster, holders)
    flips = _walk(cluster, holders, after)
    if len(holders) == 1 and len(after) == 1:
        rest = 0  # where the captures corroborating the holder begin: after the last flip
        if flips:
            last = flips[-1]
            known_start, rest = True, last.index + 1
            if full:
                since, sources, made = last.change.window, last.change.reports, (last.change,)
        if full:
            holder = next(iter(after))
            added = [c for c in cluster[rest:] if c.kind != "withdrawal" and c.new_controller == holder]
            if added:  # sorted once, not once per corroborating capture
                sources = tuple(sorted({*sources, *(e for c in added for e in c.reports)}, key=_report_order))
                made = (*made, *added)
        rivals = ()
    elif after != holders:
        known_start = True
        if full:
            since = Window(min(c.window.earliest for c in cluster), max(c.window.latest for c in cluster))
            sources = tuple(sorted({e for c in cluster for e in c.reports}, key=_report_order))
            rivals = tuple(f.change for f in flips) if len(after) > 1 else ()
            made = tuple(cluster)
    return _Folded(after, known_start, since, sources, rivals, made)


def bearing_conflicts(
    made: Iterable[Change], candidates: Iterable[Change], rivals: Iterable[Change], at: datetime
) -> tuple[Change, ...]:
    """The conflicts (changes whose reports do not all overlap) that bear on the state at ``at``:
    among the changes its sources come from, its candidates and its rivals; in change order."""
    found = {id(c): c for group in (made, candidates, rivals) for c in group if c.conflict}
    return tuple(sorted((c for c in found.values() if c.window.earliest <= at), key=_change_order))


def place_state(
    governorate: gazetteer.Governorate,
    events: Sequence[Event],
    at: datetime,
    seat: str,
    horizon: timedelta = DEFAULT_HORIZON,
) -> CapitalState:
    """Fold one capital's (already filtered) events into its state at ``at``."""
    capital = governorate.seat(seat)
    base, all_changes = _baseline_and_changes(events)
    if base is not None and at < base.window.earliest:
        return CapitalState(governorate.name, capital, None, "unknown", None, None, ())
    complete = [c for c in all_changes if c.window.latest <= at]
    state = _Folded.at_baseline(base)
    for cluster in _clusters(complete):
        state = _fold_step(cluster, state, full=True)
    holders, known_start, since, sources, rivals, made = state
    possible = tuple(sorted(holders, key=_holder_order))
    controller = possible[0] if len(possible) == 1 else None
    candidates = [
        c
        for c in sorted(all_changes, key=_change_order)
        if c.window.earliest <= at < c.window.latest and any(_flips(c, h) for h in holders)
    ]
    contested, lapsed = _contests(events, all_changes, at, controller, horizon)
    status = status_of(len(possible), bool(candidates), bool(contested), known_start, controller)
    return CapitalState(
        governorate=governorate.name,
        capital=capital,
        controller=controller,
        status=status,
        since=since.earliest if since and known_start else None,
        since_latest=since.latest if since and known_start else None,
        sources=sources,
        candidates=tuple(candidates),
        contested_by=tuple(sorted(contested, key=_report_order)),
        conflicts=bearing_conflicts(made, candidates, rivals if len(possible) > 1 else (), at),
        rivals=tuple(rivals) if len(possible) > 1 else (),
        possible=possible if len(possible) > 1 else (),
        lapsed=tuple(sorted(lapsed, key=_report_order)),
        horizon=horizon,
        since_baseline=starts_at_baseline(sources),
    )


def starts_at_baseline(sources: Sequence[Event]) -> bool:
    """Is the first source of a state the baseline (control unchanged since it)?"""
    return bool(sources) and sources[0].kind == "baseline"


def denies_control(event: Event, place_events: Sequence[Event]) -> bool:
    """Does this statement bear on the capital's control (rather than a person or the area)?"""
    return _bears_on_control(event, _control_ids(place_events))


def _control_ids(place_events: Iterable[Event]) -> dict[str, bool]:
    """Event id -> does that event change control (the last event of an id decides)."""
    return {e.id: e.changes_control for e in place_events}


def _bears_on_control(event: Event, control: dict[str, bool]) -> bool:
    """:func:`denies_control`, given :func:`_control_ids` of the capital's events."""
    if event.scope != "city":
        return False
    if event.kind == "claim" or not event.targets:
        return True
    return any(control.get(t, False) for t in event.targets)


class _Settling(NamedTuple):
    """Complete changes by first report, with the latest end of those reported after each:
    "a change reported after a statement, ending after its start" in O(log n)."""

    firsts: list[datetime]
    latest_after: list[datetime]

    @classmethod
    def of(cls, complete: Iterable[Change]) -> _Settling:
        pairs = sorted((c.first_reported, c.window.latest) for c in complete)
        latest_after = [p[1] for p in pairs]
        for i in range(len(latest_after) - 2, -1, -1):
            latest_after[i] = max(latest_after[i], latest_after[i + 1])
        return cls([p[0] for p in pairs], latest_after)

    def settles(self, statement: Event) -> bool:
        i = bisect_right(self.firsts, statement.reported_at)
        return i < len(self.firsts) and self.latest_after[i] > statement.window.earliest


def _contests(
    events: Sequence[Event],
    all_changes: Sequence[Change],
    at: datetime,
    controller: str | None,
    horizon: timedelta,
) -> tuple[list[Event], list[Event]]:
    """Statements contesting the capital at ``at``, and those that lapsed unanswered."""
    said = [
        e
        for e in events
        if e.kind in ("denial", "claim")
        and e.window.latest <= at
        and (e.kind == "denial" or e.actor != controller)
        and e.scope == "city"
    ]
    if not said:
        return [], []
    control = _control_ids(events)
    statements = [e for e in said if _bears_on_control(e, control)]
    if not statements:
        return [], []
    settling = _Settling.of(c for c in all_changes if c.window.latest <= at)
    contested, lapsed = [], []
    for e in statements:
        if settling.settles(e):
            continue
        (contested if at < e.window.latest + horizon else lapsed).append(e)
    return contested, lapsed


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
            "pcode": _pcode(self.governorate),
            "capital": self.capital,
            "from": self.before,
            "to": self.after,
            "window": self.window.to_dict(),
            "conflict": self.change.conflict,
            "disputed": self.disputed,
            "sources": [_source(e) for e in self.change.reports],
        }


def live_events(
    events: Iterable[Event], known_at: datetime | None = None, recorded_at: datetime | None = None
) -> list[Event]:
    """Known at ``known_at`` (and stored by ``recorded_at``), minus corrections and what they retract."""
    usable = known(events, known_at, recorded_at)
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
    host = gazetteer.host_of(governorate, seat)
    if host is None:
        return mine
    return [e for e in mine if not e.changes_control] + [
        e for e in by_place.get(host.name, []) if e.changes_control
    ]


def transitions(
    events: Iterable[Event],
    known_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
    recorded_at: datetime | None = None,
) -> list[Transition]:
    """Every effective change of control in the record, ordered by when it was complete.

    Rival changes (order unfixable, outcomes differ) are all listed, marked ``disputed``.
    """
    by_place = _by_place(live_events(events, known_at, recorded_at))
    out = [
        t
        for g in gazetteer.governorates()
        for t in place_transitions(g, _deciding_events(g, by_place, seat), seat)
    ]
    return sorted(out, key=transition_order)


def transition_order(t: Transition) -> tuple[Any, ...]:
    """The order of :func:`transitions`: by when complete, then start, place and change."""
    return (t.window.latest, t.window.earliest, t.governorate, _change_order(t.change))


def place_transitions(
    g: gazetteer.Governorate,
    mine: Sequence[Event],
    seat: str = gazetteer.DEFAULT_SEAT,
    *,
    changes: tuple[Event | None, list[Change]] | None = None,
) -> list[Transition]:
    """:func:`transitions` of one governorate, from the events that decide it (``changes``:
    ``_baseline_and_changes(mine)``, when the caller has it already)."""
    start, found = _baseline_and_changes(mine) if changes is None else changes
    holders: frozenset[str | None] = frozenset({start.actor if start else None})
    steps = []
    for cluster in _clusters(found):
        holders = _outcomes(cluster, holders)
        steps.append((cluster, holders))
    return transitions_of(g, seat, start, steps)


def transitions_of(
    g: gazetteer.Governorate,
    seat: str,
    start: Event | None,
    steps: Iterable[tuple[Sequence[Change], frozenset[str | None]]],
) -> list[Transition]:
    """The transitions of one governorate from its clusters of changes in order, each with the
    holders it leaves (``_outcomes``), from the baseline ``start``'s holder: what
    :func:`place_transitions` computes, and the sweep of ``control.fold.phases`` has at its end."""
    holders: frozenset[str | None] = frozenset({start.actor if start else None})
    out: list[Transition] = []
    for cluster, after in steps:
        out += [
            Transition(g.name, g.seat(seat), f.before, f.after, f.change, disputed=f.disputed)
            for f in _walk(cluster, holders, after)
        ]
        holders = after
    return out


def replay(
    events: Iterable[Event],
    at: datetime,
    known_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
    recorded_at: datetime | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
) -> Snapshot:
    """State of every capital at ``at`` (valid time) as known at ``known_at`` (report time), as
    the store had it at ``recorded_at`` (system time)."""
    usable = known(events, known_at, recorded_at)
    by_place = _by_place(live_events(usable))
    states = [
        place_state(g, _deciding_events(g, by_place, seat), at, seat, horizon)
        for g in gazetteer.governorates()
    ]
    baselines = [e.window.earliest for e in usable if e.kind == "baseline"]
    return snapshot_of(
        states,
        at,
        known_at,
        used=sum(1 for e in usable if e.window.earliest <= at),
        seat=seat,
        recorded_at=recorded_at,
        record_ends=max((e.reported_at for e in usable), default=None),
        record_begins=min(baselines, default=None),
        horizon=horizon,
    )


def snapshot_of(
    states: Sequence[CapitalState],
    at: datetime,
    known_at: datetime | None = None,
    *,
    used: int,
    seat: str,
    record_ends: datetime | None,
    record_begins: datetime | None,
    recorded_at: datetime | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
) -> Snapshot:
    """The snapshot of the places' ``states`` at ``at``: holdings (distinct cities per
    controller) and disputed cities counted from them (shared by the fold and the read model)."""
    cities: dict[str, set[str]] = {}
    disputed: dict[str, set[str | None]] = {}
    for state in states:
        if state.status == "conflicting":
            disputed.setdefault(state.capital, set()).update(state.possible)
        elif state.controller:
            cities.setdefault(state.controller, set()).add(state.capital)
    holdings = tuple(
        Holdings(name, tuple(sorted(cities[name])))
        for name in sorted(cities, key=lambda n: (n != "government", n))
    )
    return Snapshot(
        at,
        known_at,
        used,
        seat,
        tuple(states),
        holdings,
        disputed=tuple(
            Disputed(city, tuple(sorted(p, key=_holder_order))) for city, p in sorted(disputed.items())
        ),
        recorded_at=recorded_at,
        record_ends=record_ends,
        record_begins=record_begins,
        horizon=horizon,
    )


__all__ = [
    "CapitalState",
    "Change",
    "Disputed",
    "Holdings",
    "Snapshot",
    "Transition",
    "live_events",
    "replay",
    "transitions",
]
