"""The projection: a pure fold from events to who controls each capital at an instant.

No store, no I/O: ``replay(events, at, known_at, recorded_at)`` is a function of its arguments, so
it is tested without a database and gives the same answer from the record file or from any store.
No answer depends on the order events were appended or on their ids (property-tested).

This module is the fold's entry point: :func:`replay` (every capital at an instant) and
:func:`place_state` (one capital). The rules it applies are in :mod:`control.fold.rules` (README
"Rules of the fold" has the reader's version); the answers' records in :mod:`control.fold.records`;
reports merged into changes in :mod:`control.fold.merging`; transitions in
:mod:`control.fold.transitions`; the same rules swept along time in :mod:`control.fold.phases`.
The names other code uses from here are re-exported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from control.fold import rules
from control.fold.merging import baseline_and_changes, changes
from control.fold.records import (
    DEFAULT_HORIZON,
    STATUSES,
    CapitalState,
    Change,
    Disputed,
    Holdings,
    Snapshot,
    Transition,
)
from control.fold.rules import canonical_order, denies_control, known, live_events, retracted_ids, retracting
from control.fold.transitions import place_transitions, transition_order, transitions, transitions_of
from control.model import gazetteer
from control.model.events import Event


def place_state(
    governorate: gazetteer.Governorate,
    events: Sequence[Event],
    at: datetime,
    seat: str,
    horizon: timedelta = DEFAULT_HORIZON,
) -> CapitalState:
    """Fold one capital's (already filtered) events into its state at ``at``."""
    capital = governorate.seat(seat)
    base, all_changes = baseline_and_changes(events)
    if base is not None and at < base.window.earliest:
        return CapitalState(governorate.name, capital, None, "unknown", None, None, ())
    complete = [c for c in all_changes if c.window.latest <= at]
    state = rules.Folded.at_baseline(base)
    for cluster in rules.clusters(complete):
        state = rules.fold_step(cluster, state, full=True)
    holders, known_start, since, sources, rivals, made = state
    possible = tuple(sorted(holders, key=rules.holder_order))
    controller = possible[0] if len(possible) == 1 else None
    candidates = [
        c
        for c in sorted(all_changes, key=rules.change_order)
        if c.window.earliest <= at < c.window.latest and any(rules.flips(c, h) for h in holders)
    ]
    contested, lapsed = rules.contests(events, all_changes, at, controller, horizon)
    status = rules.status_of(len(possible), bool(candidates), bool(contested), known_start, controller)
    return CapitalState(
        governorate=governorate.name,
        capital=capital,
        controller=controller,
        status=status,
        since=since.earliest if since and known_start else None,
        since_latest=since.latest if since and known_start else None,
        sources=sources,
        candidates=tuple(candidates),
        contested_by=tuple(sorted(contested, key=rules.report_order)),
        conflicts=rules.bearing_conflicts(made, candidates, rivals if len(possible) > 1 else (), at),
        rivals=tuple(rivals) if len(possible) > 1 else (),
        possible=possible if len(possible) > 1 else (),
        lapsed=tuple(sorted(lapsed, key=rules.report_order)),
        horizon=horizon,
        since_baseline=rules.starts_at_baseline(sources),
    )


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
    placed = rules.by_place(live_events(usable))
    states = [
        place_state(g, rules.deciding_events(g, placed, seat), at, seat, horizon)
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
            Disputed(city, tuple(sorted(p, key=rules.holder_order))) for city, p in sorted(disputed.items())
        ),
        recorded_at=recorded_at,
        record_ends=record_ends,
        record_begins=record_begins,
        horizon=horizon,
    )


__all__ = [
    "DEFAULT_HORIZON",
    "STATUSES",
    "CapitalState",
    "Change",
    "Disputed",
    "Holdings",
    "Snapshot",
    "Transition",
    "canonical_order",
    "changes",
    "denies_control",
    "known",
    "live_events",
    "place_state",
    "place_transitions",
    "replay",
    "retracted_ids",
    "retracting",
    "snapshot_of",
    "transition_order",
    "transitions",
    "transitions_of",
]
