"""Transitions: every change that did flip a capital's controller, read by the one walk of each
cluster (:func:`control.fold.rules.walk`), for the record's list of changes and each place's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from control.fold.merging import baseline_and_changes
from control.fold.records import Change, Transition
from control.fold.rules import by_place, change_order, clusters, deciding_events, live_events, outcomes, walk
from control.model import gazetteer
from control.model.events import Event


def transitions(
    events: Iterable[Event],
    known_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
    recorded_at: datetime | None = None,
) -> list[Transition]:
    """Every effective change of control in the record, ordered by when it was complete.

    Rival changes (order unfixable, outcomes differ) are all listed, marked ``disputed``.
    """
    placed = by_place(live_events(events, known_at, recorded_at))
    out = [
        t
        for g in gazetteer.governorates()
        for t in place_transitions(g, deciding_events(g, placed, seat), seat)
    ]
    return sorted(out, key=transition_order)


def transition_order(t: Transition) -> tuple[Any, ...]:
    """The order of :func:`transitions`: by when complete, then start, place and change."""
    return (t.window.latest, t.window.earliest, t.governorate, change_order(t.change))


def place_transitions(
    g: gazetteer.Governorate,
    mine: Sequence[Event],
    seat: str = gazetteer.DEFAULT_SEAT,
    *,
    changes: tuple[Event | None, list[Change]] | None = None,
) -> list[Transition]:
    """:func:`transitions` of one governorate, from the events that decide it (``changes``:
    ``baseline_and_changes(mine)``, when the caller has it already)."""
    start, found = baseline_and_changes(mine) if changes is None else changes
    holders: frozenset[str | None] = frozenset({start.actor if start else None})
    steps = []
    for cluster in clusters(found):
        holders = outcomes(cluster, holders)
        steps.append((cluster, holders))
    return transitions_of(g, seat, start, steps)


def transitions_of(
    g: gazetteer.Governorate,
    seat: str,
    start: Event | None,
    steps: Iterable[tuple[Sequence[Change], frozenset[str | None]]],
) -> list[Transition]:
    """The transitions of one governorate from its clusters of changes in order, each with the
    holders it leaves (``outcomes``), from the baseline ``start``'s holder: what
    :func:`place_transitions` computes, and the sweep of ``control.fold.phases`` has at its end."""
    holders: frozenset[str | None] = frozenset({start.actor if start else None})
    out: list[Transition] = []
    for cluster, after in steps:
        out += [
            Transition(g.name, g.seat(seat), f.before, f.after, f.change, disputed=f.disputed)
            for f in walk(cluster, holders, after)
        ]
        holders = after
    return out
