"""Chart data: pure functions from events to the series the charts draw (no matplotlib here).

Every figure is computed by replaying the ledger at the instants where anything can change (the
edges of change windows and statements), so a chart shows exactly what ``control replay`` would
say at any moment, uncertain windows included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from control import gazetteer
from control.events import Event
from control.projection import Snapshot, Transition, known, replay, transitions
from control.times import parse_instant

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


def _edges(items: Iterable[Transition], start: datetime, end: datetime) -> list[datetime]:
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
    """How many capitals each controller holds, stepping where the ledger says control changed."""
    moves = transitions(events, known_at, seat)
    times = _edges(moves, start, end)
    snaps = [replay(events, t, known_at, seat) for t in times]
    names = sorted({h.controller for s in snaps for h in s.holdings}, key=lambda n: (n != "government", n))
    counts = {n: tuple(s.holding(n).count for s in snaps) for n in names}
    counts.setdefault("government", tuple(0 for _ in times))
    low = tuple(
        len({c.capital for c in s.capitals if c.controller == "government" and c.status != "uncertain"})
        for s in snaps
    )
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
        government_low=low,
        uncertain=uncertain,
        losses=losses,
        total=len(snaps[-1].capitals),
        final=snaps[-1].holding("government").capitals,
    )


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
    snaps = [replay(events, t, known_at, seat) for t in times]
    rows = []
    for index, g in enumerate(gazetteer.governorates()):
        segments: list[Segment] = []
        for t0, t1, snap in zip(times, times[1:], snaps, strict=False):
            state = snap.capitals[index]
            last = segments[-1] if segments else None
            if last and (last.controller, last.status) == (state.controller, state.status):
                segments[-1] = Segment(last.start, t1, last.controller, last.status)
            else:
                segments.append(Segment(t0, t1, state.controller, state.status))
        lost = [t.window.latest for t in moves if t.governorate == g.name and t.before == "government"]
        markers = tuple(
            Marker(e.window.latest, e.kind, e.actor, e.id)
            for e in sorted(statements, key=lambda e: (e.window.latest, e.id))
            if e.place == g.name
        )
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

    from control.errors import UserError

    m = re.fullmatch(r"(\d+)([dh])", text.strip())
    if not m or int(m.group(1)) == 0:
        raise UserError(f"--every: {text!r} is not an interval such as 1d or 12h")
    n = int(m.group(1))
    return timedelta(days=n) if m.group(2) == "d" else timedelta(hours=n)
