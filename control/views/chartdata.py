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
from control.model.times import parse_instant

DEFAULT_FROM = parse_instant("2024-11-26T00:00Z")
DEFAULT_TO = parse_instant("2024-12-08T06:00Z")
SHORT_NAMES = {
    "government": "the government",
    "hts": "HTS",
    "sna": "the SNA",
    "sdf": "the SDF",
    "southern": "southern factions",
    "druze": "Druze factions",
}


@dataclass(frozen=True)
class Loss:
    """A capital the government lost: when (window) and to whom, for annotations."""

    capital: str
    to: str | None
    earliest: datetime
    latest: datetime

    @property
    def label(self) -> str:
        verb = f"taken by {SHORT_NAMES.get(self.to, self.to)}" if self.to else "abandoned by the army"
        return f"{self.capital} {verb}"


@dataclass(frozen=True)
class HoldingsSeries:
    """Capitals held per controller over time: ``counts[c][i]`` holds on ``[times[i], times[i+1])``."""

    times: tuple[datetime, ...]
    counts: dict[str, tuple[int, ...]]
    #: the government's count if every change under way had already happened (lower bound)
    government_low: tuple[int, ...]
    uncertain: tuple[tuple[datetime, datetime, str], ...]
    losses: tuple[Loss, ...]
    total: int
    final: tuple[str, ...]

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
    start: datetime = DEFAULT_FROM,
    end: datetime = DEFAULT_TO,
    known_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
) -> HoldingsSeries:
    """How many capitals each controller holds, stepping where the ledger says control changed.

    Each capital's phases come from one sweep over its own events (``capital_phases``); the
    series combines those step functions, so it costs what the capitals' own reports cost, not
    one replay of the whole ledger per step."""
    moves = transitions(events, known_at, seat)
    return holdings_from(capital_phases(events, start, end, known_at, seat), moves, start, end, seat)


def holdings_from(
    steps: Sequence[tuple[gazetteer.Governorate, Sequence[tuple[datetime, Phase]]]],
    moves: Sequence[Any],
    start: datetime,
    end: datetime,
    seat: str = gazetteer.DEFAULT_SEAT,
) -> HoldingsSeries:
    """:func:`holdings_series` from each capital's step function on ``[start, end]`` and the
    effective changes of control (``Transition``-like: governorate, capital, before, after,
    window), in ``transitions``'s order."""
    updates = sorted(
        ((t, i, phase) for i, (_, pairs) in enumerate(steps) for t, phase in pairs),
        key=lambda u: (u[0], u[1]),
    )
    return holdings_from_steps([g for g, _ in steps], updates, moves, start, end, seat)


def holdings_from_steps(
    places: Sequence[gazetteer.Governorate],
    updates: Sequence[tuple[datetime, int, Any]],
    moves: Sequence[Any],
    start: datetime,
    end: datetime,
    seat: str = gazetteer.DEFAULT_SEAT,
) -> HoldingsSeries:
    """:func:`holdings_from` given every place's steps in time order, ``(instant, place index,
    (controller, status))``: what the read model's stored states give
    (:func:`control.store.states.chart_inputs`)."""
    times = _edges(moves, start, end)
    capitals = [g.seat(seat) for g in places]
    current: list[Any] = [None] * len(places)  # each place's (controller, status)
    held: dict[str, dict[str, int]] = {}  # controller -> capital city -> capitals counted there
    cities_of: dict[str, int] = {}  # controller -> distinct cities held (len of held[c])
    low: dict[str, int] = {}  # the government's cities not under way to change
    columns: dict[str, list[int]] = {}  # controller -> its count at each time so far
    lows: list[int] = []
    u, n = 0, len(updates)
    for k, t in enumerate(times):
        while u < n and updates[u][0] <= t:  # (one loop of a million steps: kept inline)
            _, i, phase = updates[u]
            u += 1
            capital, old = capitals[i], current[i]
            current[i] = phase
            if old is not None and old[0] is not None:
                cities = held[old[0]]
                if cities[capital] == 1:
                    del cities[capital]
                    cities_of[old[0]] -= 1
                else:
                    cities[capital] -= 1
                if old[0] == "government" and old[1] != "uncertain":
                    if low[capital] == 1:
                        del low[capital]
                    else:
                        low[capital] -= 1
            if phase is not None and phase[0] is not None:
                cities = held.setdefault(phase[0], {})
                if capital in cities:
                    cities[capital] += 1
                else:
                    cities[capital] = 1
                    cities_of[phase[0]] = cities_of.get(phase[0], 0) + 1
                if phase[0] == "government" and phase[1] != "uncertain":
                    low[capital] = low.get(capital, 0) + 1
        for name, count in cities_of.items():
            column = columns.get(name)
            if column is None:
                if not count:
                    continue  # a controller is drawn once it holds something at a time shown
                column = columns[name] = [0] * k
            column.append(count)
        lows.append(len(low))
    final = tuple(sorted(held.get("government", {})))  # at the last time
    names = sorted(columns, key=lambda n: (n != "government", n))
    counts = {n: tuple(columns[n]) for n in names}
    counts.setdefault("government", tuple(0 for _ in times))
    uncertain = tuple(
        (max(t.window.earliest, start), min(t.window.latest, end), t.governorate)
        for t in moves
        if t.window.earliest < t.window.latest and t.window.latest > start and t.window.earliest < end
    )
    losses = tuple(
        Loss(t.capital, t.after, t.window.earliest, t.window.latest)
        for t in moves
        if t.before == "government" and start <= t.window.latest <= end
    )
    return HoldingsSeries(
        times=tuple(times),
        counts=counts,
        government_low=tuple(lows),
        uncertain=uncertain,
        losses=losses,
        total=len(places),
        final=final,
    )


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
    start: datetime = DEFAULT_FROM,
    end: datetime = DEFAULT_TO,
    known_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
) -> list[Row]:
    """One row per governorate, sorted so the order of the government's losses reads downwards."""
    moves = transitions(events, known_at, seat)
    visible = known(events, known_at)
    statements = [e for e in visible if e.kind in ("denial", "claim") and start <= e.window.latest <= end]
    edges = set(_edges(moves, start, end)) | {e.window.latest for e in statements}
    times = sorted(edges)
    lost_at: dict[str, list[datetime]] = {}
    for t in moves:
        if t.before == "government":
            lost_at.setdefault(t.governorate, []).append(t.window.latest)
    marked: dict[str, list[Event]] = {}
    for e in sorted(statements, key=lambda e: (e.window.latest, e.id)):
        marked.setdefault(e.place, []).append(e)
    rows = []
    for g, pairs in capital_phases(events, start, end, known_at, seat):
        segments: list[Segment] = []
        for t0, t1, state in zip(times, times[1:], _phases_at(pairs, times), strict=False):
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
        rank = 1 if start_holder[row.governorate] == "government" else 2
        return (rank, start, row.governorate)

    return sorted(rows, key=order)


@dataclass(frozen=True)
class MapPoint:
    governorate: str
    label: str
    lat: float
    lon: float
    controller: str | None
    status: str


def map_points(snapshot: Snapshot) -> list[MapPoint]:
    """The 14 capitals at their coordinates, with controller and status at the snapshot."""
    by_name = {g.name: g for g in gazetteer.governorates()}
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
