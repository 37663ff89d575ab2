"""A capital's state at every one of its own breakpoints, in one sweep (what charts and pages draw).

The rules of :mod:`control.fold.rules`, as :func:`control.fold.projection.place_state` applies them
at an instant, applied incrementally along time so a chart costs one pass per capital over its own
reports, not one replay of the whole ledger per change point; tests check it against
``place_state`` at every breakpoint.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from control.fold.merging import baseline_and_changes
from control.fold.records import DEFAULT_HORIZON, CapitalState, Change, Transition
from control.fold.rules import (
    Folded,
    bearing_conflicts,
    bears_on_control,
    by_place,
    change_order,
    clusters,
    control_ids,
    deciding_events,
    flips,
    fold_step,
    holder_order,
    known,
    live_events,
    report_order,
    starts_at_baseline,
    status_of,
)
from control.fold.transitions import place_transitions, transitions_of
from control.model import gazetteer
from control.model.events import Event


class Phase(NamedTuple):
    """A capital's controller and status from one instant on (what the charts draw)."""

    controller: str | None
    status: str


def place_phases(
    events: Sequence[Event],
    start: datetime,
    end: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
) -> list[tuple[datetime, Phase]]:
    """One capital's step function on ``[start, end]``: ``(instant, phase)`` pairs, the first at
    ``start``, then one at each of the capital's own breakpoints up to ``end`` (its baseline,
    its changes' window edges, its statements' times and their horizon lapses), each phase
    holding until the next pair. The phase at ``t`` is ``place_state(...)``'s controller and
    status at ``t`` (property-tested); it is computed in one sweep over the capital's own events,
    so its cost grows with them, not with the number of breakpoints times the events.
    """
    return _sweep(events, start, end, horizon, None, "")  # type: ignore[return-value]


def place_states(
    governorate: gazetteer.Governorate,
    events: Sequence[Event],
    start: datetime,
    end: datetime,
    seat: str = gazetteer.DEFAULT_SEAT,
    horizon: timedelta = DEFAULT_HORIZON,
) -> list[tuple[datetime, CapitalState]]:
    """:func:`place_phases` with the whole state: at each breakpoint, the ``CapitalState``
    ``place_state(governorate, events, t, seat, horizon)`` gives for every ``t`` until the next
    (property-tested), in the same one sweep."""
    return _sweep(events, start, end, horizon, governorate, seat)  # type: ignore[return-value]


def place_states_and_transitions(
    g: gazetteer.Governorate, events: Sequence[Event], start: datetime, end: datetime, seat: str
) -> tuple[list[tuple[datetime, CapitalState]], list[Transition]]:
    """``place_states(g, events, start, end, seat)`` and ``place_transitions(g, events, seat)``
    in the same one sweep: once every change has completed by ``end``, the sweep's clusters and
    the holders each leaves are those ``place_transitions`` computes again (what the read model
    stores per place)."""
    moves: list[Transition] = []
    pairs = _sweep(events, start, end, DEFAULT_HORIZON, g, seat, moves)
    return pairs, moves  # type: ignore[return-value]


class _Complete:
    """The complete changes of a place, clustered as ``clusters(complete)`` would have them,
    with the fold after each cluster: one kind of event of the sweep, a change completing."""

    def __init__(self, initial: Folded, order: Callable[[Change], int], full: bool) -> None:
        self.clusters: list[list[Change]] = []
        self.ends: list[datetime] = []
        self.folded: list[Folded] = []
        self.initial, self.order, self.full = initial, order, full

    def add(self, c: Change) -> None:
        """``c`` completes: the clusters it overlaps (at the end) are made again with it."""
        i = bisect_left(self.ends, c.window.earliest)
        regrouped = clusters([x for group in self.clusters[i:] for x in group] + [c], self.order)
        del self.clusters[i:], self.ends[i:], self.folded[i:]
        state = self.now()
        for group in regrouped:
            state = fold_step(group, state, self.full)
            self.clusters.append(group)
            self.ends.append(max(x.window.latest for x in group))
            self.folded.append(state)

    def now(self) -> Folded:
        return self.folded[-1] if self.folded else self.initial


class _Statements:
    """A place's claims and denials as the sweep meets them: made (their window's end), settled
    (by a change complete, first reported after one and ending after its start), lapsed (a
    horizon after they were made, unsettled). The settling index: complete changes by first
    report, a Fenwick tree of the latest end among those reported after each report time."""

    def __init__(self, all_changes: Sequence[Change], horizon: timedelta, full: bool) -> None:
        self.firsts = sorted({c.first_reported for c in all_changes})
        self.tree: list[datetime | None] = [None] * (len(self.firsts) + 1)
        self.live: dict[int, Event] = {}  # statements made, not settled, not lapsed
        self.lapsed: dict[int, Event] = {}  # statements lapsed unanswered, not settled since
        self.lapse: list[tuple[datetime, int]] = []
        self.denials = 0
        self.claims: dict[str | None, int] = {}
        self.changed = 0  # bumped whenever ``live`` or ``lapsed`` changes
        self.horizon, self.full = horizon, full

    def _forget(self, index: int) -> None:
        self.changed += 1
        e = self.live.pop(index)
        if e.kind == "denial":
            self.denials -= 1
        else:
            self.claims[e.actor] -= 1

    def settle(self, c: Change) -> None:
        """``c`` completes: it settles the statements made before its first report that it
        does not end before."""
        first, latest = c.first_reported, c.window.latest
        firsts, tree = self.firsts, self.tree
        j = len(firsts) - bisect_left(firsts, first)  # reversed: later reports, smaller j
        while j <= len(firsts):
            if tree[j] is None or tree[j] < latest:  # type: ignore[operator]
                tree[j] = latest
            j += j & -j
        for index, e in list(self.live.items()):
            if first > e.reported_at and latest > e.window.earliest:
                self._forget(index)
        for index, e in list(self.lapsed.items()):
            if first > e.reported_at and latest > e.window.earliest:
                del self.lapsed[index]
                self.changed += 1

    def make(self, index: int, e: Event, at: datetime) -> None:
        """Statement ``e`` (the ``index``-th) is made by ``at``: it contests unless a change
        complete already settles it, or lapsed already."""
        best: datetime | None = None
        firsts, tree = self.firsts, self.tree
        j = len(firsts) - bisect_right(firsts, e.reported_at)  # changes reported after it
        while j > 0:
            if tree[j] is not None and (best is None or tree[j] > best):  # type: ignore[operator]
                best = tree[j]
            j -= j & -j
        if best is not None and best > e.window.earliest:
            return
        if at >= e.window.latest + self.horizon:
            if self.full:
                self.lapsed[index] = e
                self.changed += 1
            return
        self.live[index] = e
        self.changed += 1
        heapq.heappush(self.lapse, (e.window.latest + self.horizon, index))
        if e.kind == "denial":
            self.denials += 1
        else:
            self.claims[e.actor] = self.claims.get(e.actor, 0) + 1

    def lapse_until(self, at: datetime) -> None:
        """The statements whose horizon has passed by ``at`` stop contesting."""
        lapse = self.lapse
        while lapse and lapse[0][0] <= at:
            _, index = heapq.heappop(lapse)
            if index in self.live:
                if self.full:
                    self.lapsed[index] = self.live[index]
                    self.changed += 1
                self._forget(index)

    def contesting(self, controller: str | None) -> bool:
        return bool(self.denials or sum(self.claims.values()) - self.claims.get(controller, 0))

    def listed(self, controller: str | None) -> tuple[tuple[Event, ...], tuple[Event, ...]]:
        """The statements contesting ``controller``, and those lapsed, in report order."""

        def against(found: Iterable[Event]) -> tuple[Event, ...]:
            mine = (e for e in found if e.kind == "denial" or e.actor != controller)
            return tuple(sorted(mine, key=report_order))

        return against(self.live.values()), against(self.lapsed.values())


def _breakpoints(
    start: datetime,
    end: datetime,
    horizon: timedelta,
    origin: datetime | None,
    all_changes: Sequence[Change],
    statements: Sequence[Event],
) -> list[datetime]:
    """The instants of ``[start, end]`` where a place's state may change: ``start``, its
    baseline, its changes' window edges, its statements' times and their horizon lapses."""
    edges = {start}
    for c in all_changes:
        edges.update((c.window.earliest, c.window.latest))
    for e in statements:
        edges.update((e.window.latest, e.window.latest + horizon))
    if origin is not None:
        edges.add(origin)
    return sorted(t for t in edges if start <= t <= end)


def _ranked(all_changes: Sequence[Change]) -> Callable[[Change], int]:
    """Each change's place in change_order, made once (equal keys, equal ranks: ties keep their
    order in every sort, as under change_order itself)."""
    rank: dict[int, int] = {}
    last_key: Any = None
    for n, (key, c) in enumerate(sorted(((change_order(c), c) for c in all_changes), key=lambda p: p[0])):
        if n == 0 or key != last_key:
            number, last_key = n, key
        rank[id(c)] = number

    def order(c: Change) -> int:
        return rank[id(c)]

    return order


def _sweep(
    events: Sequence[Event],
    start: datetime,
    end: datetime,
    horizon: timedelta,
    governorate: gazetteer.Governorate | None,
    seat: str,
    moves: list[Transition] | None = None,
) -> list[tuple[datetime, Phase | CapitalState]]:
    """The sweep behind :func:`place_phases` (``governorate`` None) and :func:`place_states`;
    ``moves``: filled with the place's transitions (:func:`place_states_and_transitions`).
    At each instant, in turn: changes complete (:class:`_Complete`, and they settle statements),
    statements are made and lapse (:class:`_Statements`), changes begin; then the state."""
    full = governorate is not None
    capital = governorate.seat(seat) if governorate is not None else ""
    base, all_changes = baseline_and_changes(events)
    origin = base.window.earliest if base is not None else None
    control = control_ids(events)
    statements = sorted(
        (e for e in events if e.kind in ("denial", "claim") and bears_on_control(e, control)),
        key=lambda e: e.window.latest,
    )
    instants = _breakpoints(start, end, horizon, origin, all_changes, statements)
    order = _ranked(all_changes)
    by_end = sorted(all_changes, key=lambda c: c.window.latest)
    by_start = sorted(all_changes, key=lambda c: c.window.earliest)
    complete = _Complete(Folded.at_baseline(base, full), order, full)
    said = _Statements(all_changes, horizon, full)
    active: list[Change] = []
    conflicts: tuple[Change, ...] = ()
    done = begun = made = 0
    out: list[tuple[datetime, Phase | CapitalState]] = []
    # what a state lists is made again only when what it is made of changed since the last
    # instant (most instants change one thing): the same tuples then, which encode once
    active_changed = 0  # bumped whenever ``active`` changes
    last_now: Folded | None = None
    holders: frozenset[str | None] = frozenset()
    possible: list[str | None] = []
    controller: str | None = None
    candidates: tuple[Change, ...] = ()
    contested: tuple[Event, ...] = ()
    gone: tuple[Event, ...] = ()
    made_candidates: tuple[Any, ...] | None = None
    made_contested: tuple[Any, ...] | None = None

    for at in instants:
        while done < len(by_end) and by_end[done].window.latest <= at:
            complete.add(by_end[done])
            said.settle(by_end[done])
            done += 1
        while made < len(statements) and statements[made].window.latest <= at:
            made += 1
            said.make(made, statements[made - 1], at)
        said.lapse_until(at)
        while begun < len(by_start) and by_start[begun].window.earliest <= at:
            active.append(by_start[begun])
            active_changed += 1
            begun += 1
        if active:
            kept = [c for c in active if at < c.window.latest]
            if len(kept) != len(active):
                active, active_changed = kept, active_changed + 1
        if origin is not None and at < origin:
            if governorate is None:
                out.append((at, Phase(None, "unknown")))
            else:
                out.append((at, CapitalState(governorate.name, capital, None, "unknown", None, None, ())))
            continue
        now = complete.now()
        if now is not last_now:
            last_now, holders = now, now.holders
            possible = sorted(holders, key=holder_order)
            controller = possible[0] if len(possible) == 1 else None
        if governorate is None:
            status = status_of(
                len(possible),
                any(flips(c, h) for c in active for h in holders),
                said.contesting(controller),
                now.known_start,
                controller,
            )
            out.append((at, Phase(controller, status)))
            continue
        if made_candidates != (active_changed, now):
            made_candidates = (active_changed, now)
            candidates = tuple(sorted((c for c in active if any(flips(c, h) for h in holders)), key=order))
            conflicts = bearing_conflicts(now.made, candidates, now.rivals if len(possible) > 1 else (), at)
        if made_contested != (said.changed, controller):
            made_contested = (said.changed, controller)
            contested, gone = said.listed(controller)
        since = now.since if now.known_start else None
        out.append(
            (
                at,
                CapitalState(
                    governorate=governorate.name,
                    capital=capital,
                    controller=controller,
                    status=status_of(
                        len(possible), bool(candidates), bool(contested), now.known_start, controller
                    ),
                    since=since.earliest if since is not None else None,
                    since_latest=since.latest if since is not None else None,
                    sources=now.sources,
                    candidates=candidates,
                    contested_by=contested,
                    conflicts=conflicts,
                    rivals=now.rivals if len(possible) > 1 else (),
                    possible=tuple(possible) if len(possible) > 1 else (),
                    lapsed=gone,
                    horizon=horizon,
                    since_baseline=starts_at_baseline(now.sources),
                ),
            )
        )
    if moves is not None and governorate is not None:
        if done == len(by_end):  # every change complete: its clusters, as clusters has them
            moves += transitions_of(
                governorate,
                seat,
                base,
                zip(complete.clusters, (f.holders for f in complete.folded), strict=True),
            )
        else:
            moves += place_transitions(governorate, events, seat, changes=(base, all_changes))
    return out


def capital_phases(
    events: Iterable[Event],
    start: datetime,
    end: datetime,
    known_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
    recorded_at: datetime | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
) -> list[tuple[gazetteer.Governorate, list[tuple[datetime, Phase]]]]:
    """Every capital's step function on ``[start, end]`` (:func:`place_phases`), in gazetteer
    order: at any ``t`` there, capital ``i``'s phase is that of its last pair at or before ``t``,
    the controller and status ``replay(events, t, known_at, seat, recorded_at, horizon)`` gives."""
    placed = by_place(live_events(events, known_at, recorded_at))
    return [
        (g, place_phases(deciding_events(g, placed, seat), start, end, horizon))
        for g in gazetteer.governorates()
    ]


def place_groups(events: Sequence[Event], seat: str) -> list[list[Event]]:
    """For each place of the gazetteer, the events its answer depends on: its own, the
    corrections that touch them (through chains of corrections too), and, where the capital
    counted is another place's city (Rif Dimashq as Damascus), that place's too."""
    by_id = {e.id: e for e in events}
    places_of: dict[str, set[str]] = {}

    def touched(cid: str) -> set[str]:
        stack, order = [cid], []
        while stack:  # depth-first, without recursion: chains of corrections may be long
            top = stack.pop()
            if top in places_of or top in order:
                continue
            order.append(top)
            stack.extend(t for t in by_id[top].targets if t in by_id and by_id[t].kind == "correction")
        for c in reversed(order):
            found: set[str] = set()
            for t in by_id[c].targets:
                target = by_id.get(t)
                if target is None:
                    continue
                found |= places_of.get(t, set()) if target.kind == "correction" else {target.place}
            places_of[c] = found
        return places_of[cid]

    own: dict[str, list[Event]] = {}
    for e in events:
        for place in touched(e.id) if e.kind == "correction" else (e.place,):
            own.setdefault(place, []).append(e)
    out = []
    for g in gazetteer.governorates():
        mine = list(own.get(g.name, []))
        host = gazetteer.host_of(g, seat)
        if host is not None:
            mine += own.get(host.name, [])
        out.append(mine)
    return out


def place_timelines(
    events: Sequence[Event],
    start: datetime,
    end: datetime,
    known_at: datetime | None = None,
    as_known: bool = False,
    seat: str = gazetteer.DEFAULT_SEAT,
) -> list[tuple[gazetteer.Governorate, list[tuple[datetime, Any]]]]:
    """Each place's full state (a ``CapitalState``) on ``[start, end)``, from ``start`` on at its
    own breakpoints, each holding until the next: the fold of each place's own events
    (:func:`place_groups`) by one sweep (:func:`place_states`), so the cost grows with each place's
    reports, never with the whole ledger per instant.

    ``as_known``: at each instant, only what had been reported by then (and by ``known_at``).
    That world changes only at the place's report times: one sweep per report time, over what was
    known then.
    """
    out = []
    for g, mine in zip(gazetteer.governorates(), place_groups(known(events, known_at), seat), strict=True):
        out.append((g, _timeline(g, mine, start, end, as_known, seat)))
    return out


def _timeline(
    g: gazetteer.Governorate, mine: Sequence[Event], start: datetime, end: datetime, as_known: bool, seat: str
) -> list[tuple[datetime, CapitalState]]:
    last = end - timedelta(microseconds=1)
    if not as_known:
        return place_states(g, deciding_events(g, by_place(live_events(mine)), seat), start, last, seat)
    bounds = [start, *sorted({e.reported_at for e in mine if start < e.reported_at < end})]
    out: list[tuple[datetime, CapitalState]] = []
    for i, t0 in enumerate(bounds):
        t1 = bounds[i + 1] - timedelta(microseconds=1) if i + 1 < len(bounds) else last
        deciding = deciding_events(g, by_place(live_events(mine, t0)), seat)
        out += place_states(g, deciding, t0, t1, seat)
    return out
