"""Reads by place: the reports at some places and the corrections touching them, the places
whose answers depend on them, a what-if branch's places, and the read model's counts and meta,
each read by index so its cost follows the places asked, not the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from control.fold.projection import DEFAULT_HORIZON, live_events
from control.fold.rules import by_place as _by_place
from control.fold.rules import deciding_events as _deciding_events
from control.model import gazetteer
from control.model.events import Event
from control.model.times import iso, parse_instant
from control.store.readmodel import (
    COUNTS,
    DIRTY,
    META,
    MOVES,
    REPORT,
    TABLE,
    TOUCH,
    known_filter,
    report_events,
)

if TYPE_CHECKING:
    from control.store.ledger import LedgerApp


#: Places looked up per query (bounds the statement's size).
CHUNK = 400


#: Places folded together (bounds memory: their reports are read at once).
FOLD_CHUNK = 100


def _hosts() -> dict[str, list[gazetteer.Governorate]]:
    """Place name -> the governorates whose answer depends on its reports (itself, and any whose
    counted capital is its city)."""
    out: dict[str, list[gazetteer.Governorate]] = {}
    for g in gazetteer.governorates():
        out.setdefault(g.name, []).append(g)
        host = gazetteer.host_of(g)
        if host is not None:
            out.setdefault(host.name, []).append(g)
    return out


def needs(g: gazetteer.Governorate, seat: str = gazetteer.DEFAULT_SEAT) -> list[str]:
    """The places whose reports decide ``g`` (itself, and its counted capital's governorate)."""
    host = gazetteer.host_of(g, seat)
    return [g.name] if host is None else [g.name, host.name]


def affected(places: Iterable[str]) -> list[gazetteer.Governorate]:
    """The governorates (gazetteer order) whose answers depend on reports at ``places``."""
    hosts = _hosts()
    names = {g.name for p in places for g in hosts.get(p, ())}
    return [g for g in gazetteer.governorates() if g.name in names]


def sql_marks(n: int) -> str:
    return ",".join(["%s"] * n)


def events_of(
    app: LedgerApp,
    stream: str,
    places: Sequence[str],
    known_at: datetime | None = None,
    recorded_at: datetime | None = None,
) -> tuple[list[Event], dict[str, set[str]]]:
    """The reports at ``places`` and the corrections touching them (known at ``known_at``,
    stored by ``recorded_at``), with what each correction touches."""
    name = app.recorder.name
    known, known_params = known_filter(known_at, recorded_at, keyed=True)
    touch: dict[str, set[str]] = {}
    for cid, place in app.recorder.query(
        f"SELECT id, place FROM {name(TOUCH)} WHERE stream = %s AND place IN ({sql_marks(len(places))})",
        [stream, *places],
    ):
        touch.setdefault(cid, set()).add(place)
    rows = app.recorder.reports_at(stream, places, known, known_params)
    rows += reports_by_id(app, stream, touch, known, known_params)
    seen = {e.id: e for e in report_events(rows)}
    return list(seen.values()), touch


class Branch(NamedTuple):
    """A what-if world over a stored ledger, as :func:`control.whatif.scenario.branch_world`
    makes it in memory: the ledger's reports made by ``cut`` (all if None), but the
    ``suppress``ed ones, plus the ``extra`` events; ``touches``: the places each extra
    correction's retractions are at (through chains of corrections, stored or extra);
    ``places``: the places whose reports the branch changes (its suppressed and extra events',
    and those their corrections retract), or None if it may change any (it cuts the record)."""

    cut: datetime | None
    suppress: frozenset[str]
    extra: tuple[Event, ...]
    touches: dict[str, frozenset[str]]
    places: frozenset[str] | None


def _stored_places(
    app: LedgerApp, stream: str, ids: Iterable[str]
) -> tuple[dict[str, tuple[str, str]], dict[str, set[str]]]:
    """For stored report ids, by index: the place each is filed under and its kind, and the
    places each correction retracts (through chains)."""
    own: dict[str, tuple[str, str]] = {}
    retracts: dict[str, set[str]] = {}
    name, asked = app.recorder.name, sorted(set(ids))
    for i in range(0, len(asked), CHUNK):
        part = asked[i : i + CHUNK]
        marks = sql_marks(len(part))
        for eid, place, kind in app.recorder.query(
            f"SELECT id, place, kind FROM {name(TABLE)} WHERE stream = %s AND id IN ({marks})",
            [stream, *part],
        ):
            own[eid] = (place, kind)
        for eid, place in app.recorder.query(
            f"SELECT id, place FROM {name(TOUCH)} WHERE stream = %s AND id IN ({marks})", [stream, *part]
        ):
            retracts.setdefault(eid, set()).add(place)
    return own, retracts


def branch(
    app: LedgerApp, stream: str, cut: datetime | None, suppress: Iterable[str], extra: Sequence[Event]
) -> Branch:
    """The :class:`Branch` of ``stream`` at ``cut``, the places of what it names read by index
    (once, however many answers are then asked of it)."""
    mine = {e.id: e for e in extra}
    dropped = frozenset(suppress)
    asked = {t for e in extra if e.kind == "correction" for t in e.targets if t not in mine}
    own, retracts = _stored_places(app, stream, asked | (dropped if cut is None else set()))
    touches: dict[str, frozenset[str]] = {}

    def places_of(eid: str, seen: frozenset[str]) -> set[str]:
        e = mine.get(eid)
        if e is None:  # a stored report's place; a stored correction's, what it retracts
            place, kind = own.get(eid, ("", "correction"))
            return retracts.get(eid, set()) if kind == "correction" else {place}
        if e.kind != "correction":
            return {e.place}
        return {p for t in e.targets if t not in seen for p in places_of(t, seen | {t})}

    for e in extra:
        if e.kind == "correction":
            touches[e.id] = frozenset(places_of(e.id, frozenset({e.id})))
    places = None
    if cut is None:  # a suppressed report changes its place; a suppressed correction, its own
        # (it is among that place's reports) and those it retracts
        places = frozenset(
            {p for e in extra for p in {e.place} | touches.get(e.id, frozenset())}
            | {own[i][0] for i in dropped if i in own}
            | {p for i in dropped for p in retracts.get(i, ())}
        )
    return Branch(cut, dropped, tuple(extra), touches, places)


def as_stored(
    known_at: datetime | None, recorded_at: datetime | None, seat: str, horizon: timedelta = DEFAULT_HORIZON
) -> bool:
    """Is this a question the stored states answer: the latest knowledge of all the store holds,
    with the default seat and contest horizon (what they are folded for)?"""
    return (
        known_at is None
        and recorded_at is None
        and seat == gazetteer.DEFAULT_SEAT
        and horizon == DEFAULT_HORIZON
    )


def earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    """The earlier of two optional instants (None: no bound)."""
    return b if a is None else a if b is None else min(a, b)


def deciding_events(
    app: LedgerApp,
    stream: str,
    governorates: Sequence[gazetteer.Governorate],
    known_at: datetime | None = None,
    recorded_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
    world: Branch | None = None,
) -> Iterator[tuple[gazetteer.Governorate, list[Event]]]:
    """Each governorate with the events that decide it, as the pure fold selects them
    (``_deciding_events(g, _by_place(live_events(all, known_at, recorded_at)), seat)``), read
    from the read model a chunk of places at a time: memory follows a chunk, not the ledger,
    and the cost each place's own reports (plus its counted capital's, and what corrects them).
    ``world``: those of a what-if branch of the ledger instead."""
    for i in range(0, len(governorates), FOLD_CHUNK):
        part = governorates[i : i + FOLD_CHUNK]
        places = sorted({p for g in part for p in needs(g, seat)})
        cut = known_at if world is None else earlier(known_at, world.cut)
        events, touch = events_of(app, stream, places, cut, recorded_at)
        if world is not None:
            events = [e for e in events if e.id not in world.suppress]
            wanted = set(places)
            for e in world.extra:
                at = {e.place} | world.touches.get(e.id, frozenset())
                if at & wanted and (known_at is None or e.reported_at <= known_at):
                    events.append(e)
                    touch[e.id] = set(at)
        own: dict[str, list[Event]] = {}
        for e in events:
            for place in {e.place} | touch.get(e.id, set()):
                own.setdefault(place, []).append(e)
        for g in part:
            mine = {e.id: e for p in needs(g, seat) for e in own.get(p, ())}
            yield g, _deciding_events(g, _by_place(live_events(mine.values())), seat)


def dirty_places(app: LedgerApp, stream: str) -> list[str]:
    name = app.recorder.name
    return [r[0] for r in app.recorder.query(f"SELECT place FROM {name(DIRTY)} WHERE stream = %s", [stream])]


def reports_by_id(
    app: LedgerApp, stream: str, ids: Iterable[str], known: str = "", params: Sequence[Any] = ()
) -> list[tuple[str, str]]:
    """The stored reports (JSON rows) of ``ids``, a chunk of ids per query (``known``: SQL from
    :func:`known_filter`, with its ``params``)."""
    name = app.recorder.name
    wanted = sorted(ids)
    rows: list[tuple[str, str]] = []
    for i in range(0, len(wanted), CHUNK):
        part = wanted[i : i + CHUNK]
        rows += app.recorder.query(
            f"SELECT {REPORT} FROM {name(TABLE)} WHERE stream = %s AND id IN ({sql_marks(len(part))}){known}",
            [stream, *part, *params],
        )
    return rows


def events_by_id(app: LedgerApp, stream: str, ids: set[str]) -> dict[str, Event]:
    return {e.id: e for e in report_events(reports_by_id(app, stream, ids))}


def events_used(app: LedgerApp, stream: str, at: datetime) -> int:
    """How many reports' windows begin by ``at``: whole days from the day counts, the last day
    by an index range."""
    name = app.recorder.name
    stamp = iso(at) or ""
    day = stamp[:10]
    before = app.recorder.query(
        f"SELECT COALESCE(SUM(n), 0) FROM {name(COUNTS)} WHERE stream = %s AND day < %s", [stream, day]
    )
    within = app.recorder.query(
        f"SELECT COUNT(*) FROM {name(TABLE)} WHERE stream = %s AND earliest >= %s AND earliest <= %s",
        [stream, day, stamp],
    )
    return int(before[0][0]) + int(within[0][0])


def _meta(app: LedgerApp, key: str) -> datetime | None:
    rows = app.recorder.query(f"SELECT value FROM {app.recorder.name(META)} WHERE key = %s", [key])
    return parse_instant(rows[0][0]) if rows else None


def record_ends(app: LedgerApp, stream: str) -> datetime | None:
    """The last report time of ``stream`` (None if it has none)."""
    return _meta(app, f"ends:{stream}")


def record_begins(app: LedgerApp, stream: str) -> datetime | None:
    """The first baseline of ``stream`` (None if it has none)."""
    return _meta(app, f"begins:{stream}")


def moved_places(app: LedgerApp, stream: str, since: datetime, until: datetime | None) -> set[str]:
    """The places with a change of control whose window overlaps ``[since, until)`` on the latest
    knowledge (the stored moves, by index), and the dirty places (their moves may be stale)."""
    name = app.recorder.name
    before, params = ("", []) if until is None else (" AND earliest < %s", [iso(until)])
    found = app.recorder.query(
        f"SELECT DISTINCT place FROM {name(MOVES)} WHERE stream = %s AND latest >= %s{before}",
        [stream, iso(since), *params],
    )
    return {place for (place,) in found} | {g.name for g in affected(dirty_places(app, stream))}
