"""Chart data: pure functions from events to the series the charts draw (no matplotlib here).

Every figure is read from each capital's step function (``projection.capital_phases``: one sweep
over the capital's own events, with a step wherever anything can change for it: the edges of its
change windows, its statements and their lapses), so a chart shows exactly what
``control replay`` would say at any moment, uncertain windows included, at a cost that grows with
the ledger, not with the ledger times the number of steps (tested against replay at every step).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from control.fold.phases import Phase, capital_phases
from control.fold.projection import Snapshot, known, transitions
from control.model import gazetteer
from control.model.events import Event
from control.model.gazetteer import Gazetteer
from control.views import display


@dataclass(frozen=True)
class Loss:
    """A place the focus controller lost: when (window) and to whom, for annotations."""

    capital: str
    to: str | None
    earliest: datetime
    latest: datetime

    def label(self, atlas: Gazetteer) -> str:
        """ "Aleppo taken by HTS", in the gazetteer's words ("abandoned" when nobody took it)."""
        if self.to:
            return f"{self.capital} taken by {display.short_name(atlas, self.to)}"
        return f"{self.capital} {atlas.labels.get('abandoned', 'abandoned')}"


@dataclass(frozen=True)
class HoldingsSeries:
    """Places held per controller over time: ``counts[c][i]`` holds on ``[times[i], times[i+1])``.
    ``focus``: the controller whose lower bound, losses and final places are followed (None: none)."""

    times: tuple[datetime, ...]
    counts: dict[str, tuple[int, ...]]
    #: the focus controller's count if every change under way had already happened (lower bound)
    government_low: tuple[int, ...]
    losses: tuple[Loss, ...]
    total: int
    final: tuple[str, ...]
    focus: str | None = None

    def at(self, controller: str, instant: datetime) -> int:
        """The step value of ``controller`` at ``instant``."""
        index = max(i for i, t in enumerate(self.times) if t <= instant)
        return self.counts[controller][index]


def _edges(items: Iterable[Any], start: datetime, end: datetime) -> list[datetime]:
    edges = {start, end}
    for t in items:
        for edge in (t.window.earliest, t.window.latest):
            if start < edge < end:
                edges.add(edge)
    return sorted(edges)


def holdings_series(
    events: Sequence[Event],
    start: datetime,
    end: datetime,
    known_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
    focus: str | None = None,
) -> HoldingsSeries:
    """How many capitals each controller holds, stepping where the ledger says control changed.

    Each capital's phases come from one sweep over its own events (``capital_phases``); the
    series combines those step functions, so it costs what the capitals' own reports cost, not
    one replay of the whole ledger per step."""
    moves = transitions(events, known_at, seat)
    return holdings_from(capital_phases(events, start, end, known_at, seat), moves, start, end, seat, focus)


def holdings_from(
    steps: Sequence[tuple[gazetteer.Governorate, Sequence[tuple[datetime, Phase]]]],
    moves: Sequence[Any],
    start: datetime,
    end: datetime,
    seat: str = gazetteer.DEFAULT_SEAT,
    focus: str | None = None,
) -> HoldingsSeries:
    """:func:`holdings_series` from each capital's step function on ``[start, end]`` and the
    effective changes of control (``Transition``-like: governorate, capital, before, after,
    window), in ``transitions``'s order."""
    updates = sorted(
        ((t, i, phase) for i, (_, pairs) in enumerate(steps) for t, phase in pairs),
        key=lambda u: (u[0], u[1]),
    )
    places = [g for g, _ in steps]
    return holdings_from_steps(places, updates, _edges(moves, start, end), moves, start, end, seat, focus)


def holdings_from_steps(
    places: Sequence[gazetteer.Governorate],
    updates: Sequence[tuple[datetime, int, Any]],
    times: Sequence[datetime],
    moves: Sequence[Any],
    start: datetime,
    end: datetime,
    seat: str = gazetteer.DEFAULT_SEAT,
    focus: str | None = None,
) -> HoldingsSeries:
    """:func:`holdings_from` given every place's steps in time order, ``(instant, place index,
    (controller, status))``, the times to count at (``start``, ``end`` and every edge of a
    move's window between: :func:`_edges`) and the moves (only the focus controller's are read): what
    the read model gives (:func:`control.store.answers.chart_inputs`)."""
    capitals = [g.seat(seat) for g in places]
    counts, lows, final = _step_counts(capitals, updates, times, focus)
    losses = tuple(
        Loss(t.capital, t.after, t.window.earliest, t.window.latest)
        for t in moves
        if focus is not None and t.before == focus and start <= t.window.latest <= end
    )
    return HoldingsSeries(
        times=tuple(times),
        counts=counts,
        government_low=lows,
        losses=losses,
        total=len(places),
        final=final,
        focus=focus,
    )


def _step_counts(
    capitals: Sequence[str],
    updates: Sequence[tuple[datetime, int, Any]],
    times: Sequence[datetime],
    focus: str | None = None,
) -> tuple[dict[str, tuple[int, ...]], tuple[int, ...], tuple[str, ...]]:
    """Each controller's count of distinct capital cities at each of ``times``, the ``focus``'s
    lower bound (its cities where no place counted there is ``uncertain``), and its cities at
    the last time, given every place's steps (``updates``, in time order; ``capitals[i]``: the
    city place ``i`` counts for).

    Vectorised (numpy), as a conflict's chart steps a million times: each step is a +1 for its
    new (controller, city) and a -1 for the place's previous one; a controller's count moves
    when a city's tally goes from 0 to 1 or back; the counts are read where each time falls."""
    import numpy as np

    n = len(updates)
    city: dict[str, int] = {}
    city_of = np.array([city.setdefault(c, len(city)) for c in capitals] or [0], dtype=np.int64)
    code: dict[str, int] = {}
    place = np.fromiter((u[1] for u in updates), np.int64, n)
    who = np.fromiter(
        (-1 if u[2] is None or u[2][0] is None else code.setdefault(u[2][0], len(code)) for u in updates),
        np.int64,
        n,
    )
    low = np.fromiter(
        (u[2] is not None and u[2][0] == focus and u[2][1] != "uncertain" for u in updates), bool, n
    )
    when = np.fromiter((u[0].timestamp() for u in updates), np.float64, n)
    applied = np.searchsorted(when, [t.timestamp() for t in times], side="right")  # steps taken by each
    # each step's previous step of the same place (-1: none)
    order = np.argsort(place, kind="stable")
    prev = np.full(n, -1, dtype=np.int64)
    same = place[order][1:] == place[order][:-1]
    prev[order[1:][same]] = order[:-1][same]
    had = prev >= 0
    cities = city_of[place]
    was = np.where(had, who[np.maximum(prev, 0)], -1)
    was_low = had & low[np.maximum(prev, 0)]

    def moves_of(new: Any, old: Any, valid_new: Any, valid_old: Any) -> tuple[Any, Any]:
        """(key, +1/-1 transitions of that key's distinct count) at each step, keyed by step."""
        changed = new != old
        plus, minus = changed & valid_new, changed & valid_old
        keys = np.concatenate([new[plus], old[minus]])
        at = np.concatenate([np.nonzero(plus)[0], np.nonzero(minus)[0]])
        delta = np.concatenate([np.ones(int(plus.sum()), np.int64), -np.ones(int(minus.sum()), np.int64)])
        o = np.lexsort((at, keys))
        keys, at, delta = keys[o], at[o], delta[o]
        run = np.cumsum(delta)
        first = np.ones(len(keys), bool)
        first[1:] = keys[1:] != keys[:-1]
        group = np.cumsum(first) - 1
        tally = run - (run - delta)[first][group]  # the key's own running tally
        before = tally - delta
        flips = (before == 0).astype(np.int64) - (tally == 0).astype(np.int64)
        kept = flips != 0
        return keys[kept], np.stack([at[kept], flips[kept]])

    def sampled(at_flips: Any) -> tuple[int, ...]:
        at, flips = at_flips
        o = np.argsort(at, kind="stable")
        cum = np.concatenate([[0], np.cumsum(flips[o])])
        return tuple(cum[np.searchsorted(at[o], applied, side="left")].tolist())

    ncity = max(len(city), 1)
    keys, found = moves_of(who * ncity + cities, was * ncity + cities, who >= 0, was >= 0)
    columns = {name: sampled(found[:, keys // ncity == c]) for name, c in code.items()}
    _, found_low = moves_of(np.where(low, cities, -1), np.where(was_low, cities, -1), low, was_low)
    lows = sampled(found_low)
    # the focus controller's cities at the last time: each place's last step taken
    final: set[str] = set()
    if focus is not None and focus in code and n and applied[-1]:
        taken = int(applied[-1])
        ids, back = np.unique(place[:taken][::-1], return_index=True)  # each place's last step
        steps = taken - 1 - back
        gov = code[focus]
        final = {capitals[i] for i, u in zip(ids.tolist(), steps.tolist(), strict=True) if who[u] == gov}
    names = sorted((c for c, col in columns.items() if any(col)), key=lambda c: (c != focus, c))
    counts = {c: columns[c] for c in names}
    if focus is not None:
        counts.setdefault(focus, tuple(0 for _ in times))
    return counts, lows, tuple(sorted(final))


def _phases_at(pairs: Sequence[tuple[datetime, Phase]], times: Sequence[datetime]) -> list[Phase | None]:
    """A step function (sorted ``(instant, phase)`` pairs) read at sorted ``times``."""
    out: list[Phase | None] = []
    phase: Phase | None = None
    k = 0
    for t in times:
        while k < len(pairs) and pairs[k][0] <= t:
            phase = pairs[k][1]
            k += 1
        out.append(phase)
    return out


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    controller: str | None
    status: str


@dataclass(frozen=True)
class Marker:
    time: datetime
    kind: str
    actor: str | None
    event: str


@dataclass(frozen=True)
class Row:
    """One capital's swimlane: who held it over time, and the statements made about it."""

    governorate: str
    capital: str
    segments: tuple[Segment, ...]
    markers: tuple[Marker, ...]
    lost_at: datetime | None


def timeline_rows(
    events: Sequence[Event],
    start: datetime,
    end: datetime,
    known_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
    focus: str | None = None,
) -> list[Row]:
    """One row per place, sorted so the order of the focus controller's losses reads downwards
    (without one: the gazetteer's order)."""
    moves = transitions(events, known_at, seat)
    visible = known(events, known_at)
    statements = [e for e in visible if e.kind in ("denial", "claim") and start <= e.window.latest <= end]
    steps = capital_phases(events, start, end, known_at, seat)
    return timeline_rows_from(steps, moves, statements, start, end, seat, focus)


def timeline_rows_from(
    steps: Sequence[tuple[gazetteer.Governorate, Sequence[tuple[datetime, Any]]]],
    moves: Sequence[Any],
    statements: Sequence[Event],
    start: datetime,
    end: datetime,
    seat: str = gazetteer.DEFAULT_SEAT,
    focus: str | None = None,
) -> list[Row]:
    """:func:`timeline_rows` from each capital's step function on ``[start, end]``, the effective
    changes of control (``transitions``'s order) and the denials and claims known whose window
    ends in ``[start, end]`` (as the store reads them, place by place)."""
    edges = set(_edges(moves, start, end)) | {e.window.latest for e in statements}
    times = sorted(edges)
    lost_at: dict[str, list[datetime]] = {}
    for t in moves:
        if focus is not None and t.before == focus:
            lost_at.setdefault(t.governorate, []).append(t.window.latest)
    marked: dict[str, list[Event]] = {}
    for e in sorted(statements, key=lambda e: (e.window.latest, e.id)):
        marked.setdefault(e.place, []).append(e)
    rows = []
    for g, pairs in steps:
        # read at the chart's edges and at every breakpoint of the place's own (a statement's
        # lapse too): its row is exact, whatever the other places drawn
        mine = sorted(set(times).union(t for t, _ in pairs if start < t < end))
        segments: list[Segment] = []
        for t0, t1, state in zip(mine, mine[1:], _phases_at(pairs, mine), strict=False):
            assert state is not None  # every capital has a phase from ``start`` on
            last = segments[-1] if segments else None
            if last and (last.controller, last.status) == (state.controller, state.status):
                segments[-1] = Segment(last.start, t1, last.controller, last.status)
            else:
                segments.append(Segment(t0, t1, state.controller, state.status))
        lost = lost_at.get(g.name, [])
        markers = tuple(Marker(e.window.latest, e.kind, e.actor, e.id) for e in marked.get(g.name, ()))
        rows.append(Row(g.name, g.seat(seat), tuple(segments), markers, min(lost) if lost else None))
    start_holder = {r.governorate: r.segments[0].controller if r.segments else None for r in rows}

    def order(row: Row) -> tuple[int, datetime, str]:
        if row.lost_at is not None:
            return (0, row.lost_at, row.governorate)
        rank = 1 if start_holder[row.governorate] == focus else 2
        return (rank, start, row.governorate)

    return sorted(rows, key=order) if focus is not None else rows


@dataclass(frozen=True)
class MapPoint:
    governorate: str
    label: str
    lat: float
    lon: float
    controller: str | None
    status: str


def map_points(snapshot: Snapshot, atlas: Gazetteer) -> list[MapPoint]:
    """The places of ``atlas`` at their coordinates, with controller and status at the snapshot."""
    by_name = {g.name: g for g in atlas.places}
    points = []
    for state in snapshot.capitals:
        g = by_name[state.governorate]
        label = g.capital if g.capital == g.name else f"{g.capital} ({g.name})"
        points.append(MapPoint(g.name, label, g.lat, g.lon, state.controller, state.status))
    return points


def daily(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """Instants from ``start`` to ``end`` inclusive, every ``step``."""
    out, t = [], start
    while t <= end:
        out.append(t)
        t += step
    return out


def parse_step(text: str) -> timedelta:
    """``1d``, ``12h``: the interval between small multiples."""
    import re

    from control.model.errors import UserError

    m = re.fullmatch(r"(\d+)([dh])", text.strip())
    if not m or int(m.group(1)) == 0:
        raise UserError(f"--every: {text!r} is not an interval such as 1d or 12h")
    n = int(m.group(1))
    return timedelta(days=n) if m.group(2) == "d" else timedelta(hours=n)
