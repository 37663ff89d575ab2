"""The fold's rules, in one public module: which reports count (clocks, corrections), the orders,
how reports of a change merge, when a change is certainly before another, a change's outcome,
clusters and the holders a cluster can leave, the walk of a cluster, the status, and contests.

The fold at an instant (control.fold.projection), the sweep along time (control.fold.phases) and
the transitions (control.fold.transitions) all call these, so each rule is written once.

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
  into account by an exact rule (:func:`outcomes`, no enumeration): one outcome is ``held``,
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

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from control.fold.records import Change
from control.model import gazetteer
from control.model.events import Event
from control.model.times import Window


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


def content_order(e: Event) -> tuple[Any, ...]:
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


def merge(reports: list[Event]) -> Change:
    first = reports[0]
    start = max(e.window.earliest for e in reports)
    end = min(e.window.latest for e in reports)
    conflict = end < start or (end == start and len(reports) > 1)
    if conflict:
        # Each report, narrowed by the reports it agrees with; the change lies in one of them.
        narrowed = [agreeing(r, reports) for r in reports]
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
        reports=tuple(sorted(reports, key=report_order)),
        conflict=conflict,
    )


def agreeing(report: Event, reports: list[Event]) -> Window:
    friends = [e.window for e in reports if e.window.overlaps(report.window)] or [report.window]
    start = max(w.earliest for w in friends)
    end = min(w.latest for w in friends)
    return Window(start, end) if start < end else report.window


def outcome(change: Change, controller: str | None) -> str | None:
    """Who holds the capital after ``change``, if ``controller`` held it before. A withdrawal by
    a force that no longer holds it, or a capture by the holder, changes nothing."""
    if change.kind == "withdrawal":
        return None if controller == change.actor else controller
    return change.new_controller


def flips(change: Change, controller: str | None) -> bool:
    return outcome(change, controller) != controller


def before(a: Change, b: Change) -> bool:
    """``a`` certainly happened before ``b`` (its window ends before b's begins)."""
    return a.window.latest <= b.window.earliest and not b.window.latest <= a.window.earliest


def report_order(event: Event) -> tuple[Any, ...]:
    return (event.reported_at, event.source.file, event.source.quote, event.id)


def change_order(change: Change) -> tuple[Any, ...]:
    """A linear extension of "certainly before" that uses no id."""
    return (
        change.window.latest,
        change.window.earliest,
        change.kind != "withdrawal",
        change.new_controller or "",
        change.actor or "",
        tuple(content_order(e) for e in change.reports),
    )


def clusters(items: Sequence[Change], order: Callable[[Change], Any] = change_order) -> list[list[Change]]:
    """Split changes into runs whose members' order is fixed between runs (interval components).
    ``order``: :func:`change_order`, or any key ordering changes as it does (ties included)."""
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


def key_after(c: Change) -> tuple[datetime, bool]:
    """``c``'s place among the changes that may follow another: its start, then "has length"."""
    return (c.window.earliest, c.window.latest > c.window.earliest)


def threshold(c: Change) -> tuple[datetime, bool]:
    """The changes certainly after ``c`` (:func:`before`) are exactly those whose
    :func:`key_after` is at least this: they start at or after its end (two instants at the same
    moment are not ordered)."""
    return (c.window.latest, c.window.latest == c.window.earliest)


def unseats(change: Change, holder: str | None) -> bool:
    """Can ``change`` take the capital from ``holder``, whatever happened before it?"""
    if change.kind == "withdrawal":
        return holder is not None and change.actor == holder
    return change.new_controller != holder


def outcomes(cluster: Sequence[Change], start: frozenset[str | None]) -> frozenset[str | None]:
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
        if not any(unseats(c, holder) for c in cluster):
            out.add(holder)
        elif not captures:
            out.add(None)  # only withdrawals, one of them by the holder
    if not captures:
        return frozenset(out)
    # per controller, the latest key_after of its captures; per actor, of its withdrawals
    latest_capture: dict[str | None, tuple[datetime, bool]] = {}
    latest_withdrawal: dict[str | None, tuple[datetime, bool]] = {}
    for c in cluster:
        table = latest_withdrawal if c.kind == "withdrawal" else latest_capture
        who = c.actor if c.kind == "withdrawal" else c.new_controller
        key = key_after(c)
        if who not in table or table[who] < key:
            table[who] = key
    ranked = sorted(latest_capture.items(), key=lambda kv: kv[1], reverse=True)[:2]
    last_capture = ranked[0][1]
    # actors with a withdrawal certainly before no capture (it may follow every capture)
    free = {w.actor for w in cluster if w.kind == "withdrawal" and last_capture < threshold(w)}
    for c in captures:
        x, after = c.new_controller, threshold(c)
        rival = next((key for who, key in ranked if who != x), None)
        own = latest_withdrawal.get(x)
        if (rival is None or rival < after) and (own is None or own < after):
            out.add(x)
        if last_capture < after and x in free:  # c may be the last capture, a withdrawal by x after
            out.add(None)
    return frozenset(out)


def holder_order(holder: str | None) -> tuple[bool, str]:
    return (holder is None, holder or "")


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


class Folded(NamedTuple):
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
    def at_baseline(cls, base: Event | None, full: bool = True) -> Folded:
        """The fold before any change: the baseline's holder (``None`` if there is none)."""
        kept = base is not None and full
        return cls(
            frozenset({base.actor if base else None}),
            base is not None,
            base.window if kept else None,
            (base,) if kept else (),
        )


class Flip(NamedTuple):
    """A change of a cluster that flips the capital (:func:`walk`)."""

    index: int  # its place in the cluster
    change: Change
    before: str | None
    after: str | None
    disputed: bool


def walk(
    cluster: Sequence[Change], holders: frozenset[str | None], after: frozenset[str | None]
) -> list[Flip]:
    """The one walk of a cluster (its changes in order), from the ``holders`` before it to those
    ``after`` it (:func:`outcomes`): the changes that flip the capital. With one holder before and
    one after, step by step (each flip from the holder it found); with rivals, every change that
    can flip a holder before, from the holder before if there was only one (``disputed`` when
    several holders are left); when the cluster changes nothing, none."""
    if len(holders) == 1 and len(after) == 1:
        holder = next(iter(holders))
        found = []
        for i, c in enumerate(cluster):
            if flips(c, holder):
                nxt = outcome(c, holder)
                found.append(Flip(i, c, holder, nxt, False))
                holder = nxt
        return found
    if after == holders:
        return []
    prior = next(iter(holders)) if len(holders) == 1 else None
    return [
        Flip(i, c, prior, outcome(c, prior), len(after) > 1)
        for i, c in enumerate(cluster)
        if any(flips(c, h) for h in holders)
    ]


def fold_step(cluster: Sequence[Change], state: Folded, full: bool) -> Folded:
    """:func:`place_state`'s fold over one cluster (``full``: keeping since, sources, rivals)."""
    holders, known_start, since, sources, rivals, made = state
    after = outcomes(cluster, holders)
    flipped = walk(cluster, holders, after)
    if len(holders) == 1 and len(after) == 1:
        rest = 0  # where the captures corroborating the holder begin: after the last flip
        if flipped:
            last = flipped[-1]
            known_start, rest = True, last.index + 1
            if full:
                since, sources, made = last.change.window, last.change.reports, (last.change,)
        if full:
            holder = next(iter(after))
            added = [c for c in cluster[rest:] if c.kind != "withdrawal" and c.new_controller == holder]
            if added:  # sorted once, not once per corroborating capture
                sources = tuple(sorted({*sources, *(e for c in added for e in c.reports)}, key=report_order))
                made = (*made, *added)
        rivals = ()
    elif after != holders:
        known_start = True
        if full:
            since = Window(min(c.window.earliest for c in cluster), max(c.window.latest for c in cluster))
            sources = tuple(sorted({e for c in cluster for e in c.reports}, key=report_order))
            rivals = tuple(f.change for f in flipped) if len(after) > 1 else ()
            made = tuple(cluster)
    return Folded(after, known_start, since, sources, rivals, made)


def bearing_conflicts(
    made: Iterable[Change], candidates: Iterable[Change], rivals: Iterable[Change], at: datetime
) -> tuple[Change, ...]:
    """The conflicts (changes whose reports do not all overlap) that bear on the state at ``at``:
    among the changes its sources come from, its candidates and its rivals; in change order."""
    found = {id(c): c for group in (made, candidates, rivals) for c in group if c.conflict}
    return tuple(sorted((c for c in found.values() if c.window.earliest <= at), key=change_order))


def starts_at_baseline(sources: Sequence[Event]) -> bool:
    """Is the first source of a state the baseline (control unchanged since it)?"""
    return bool(sources) and sources[0].kind == "baseline"


def denies_control(event: Event, place_events: Sequence[Event]) -> bool:
    """Does this statement bear on the capital's control (rather than a person or the area)?"""
    return bears_on_control(event, control_ids(place_events))


def control_ids(place_events: Iterable[Event]) -> dict[str, bool]:
    """Event id -> does that event change control (the last event of an id decides)."""
    return {e.id: e.changes_control for e in place_events}


def bears_on_control(event: Event, control: dict[str, bool]) -> bool:
    """:func:`denies_control`, given :func:`control_ids` of the capital's events."""
    if event.scope != "city":
        return False
    if event.kind == "claim" or not event.targets:
        return True
    return any(control.get(t, False) for t in event.targets)


class Settling(NamedTuple):
    """Complete changes by first report, with the latest end of those reported after each:
    "a change reported after a statement, ending after its start" in O(log n)."""

    firsts: list[datetime]
    latest_after: list[datetime]

    @classmethod
    def of(cls, complete: Iterable[Change]) -> Settling:
        pairs = sorted((c.first_reported, c.window.latest) for c in complete)
        latest_after = [p[1] for p in pairs]
        for i in range(len(latest_after) - 2, -1, -1):
            latest_after[i] = max(latest_after[i], latest_after[i + 1])
        return cls([p[0] for p in pairs], latest_after)

    def settles(self, statement: Event) -> bool:
        i = bisect_right(self.firsts, statement.reported_at)
        return i < len(self.firsts) and self.latest_after[i] > statement.window.earliest


def contests(
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
    control = control_ids(events)
    statements = [e for e in said if bears_on_control(e, control)]
    if not statements:
        return [], []
    settling = Settling.of(c for c in all_changes if c.window.latest <= at)
    contested, lapsed = [], []
    for e in statements:
        if settling.settles(e):
            continue
        (contested if at < e.window.latest + horizon else lapsed).append(e)
    return contested, lapsed


def live_events(
    events: Iterable[Event], known_at: datetime | None = None, recorded_at: datetime | None = None
) -> list[Event]:
    """Known at ``known_at`` (and stored by ``recorded_at``), minus corrections and what they retract."""
    usable = known(events, known_at, recorded_at)
    dropped = retracted_ids(usable)
    return [e for e in usable if e.id not in dropped and e.kind != "correction"]


def by_place(events: Iterable[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = {}
    for event in events:
        grouped.setdefault(event.place, []).append(event)
    return grouped


def deciding_events(
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
