"""Materialised answers: each place's whole state from each of its breakpoints on, in the store.

Why: ``replay --at T`` on the latest knowledge must cost the same on a 1M-report ledger as on
the seed record. So the read model keeps, per place, the fold's ``CapitalState`` at every one of
its breakpoints (``control_states``: one row per place and instant from which a state holds,
computed by :func:`control.fold.phases.place_states`, the pure fold's one-sweep form). An answer
at T is then one indexed lookup per place plus the events its states cite.

Consistency: the recorder marks the places a report touches "dirty" (``control_dirty``) in the
very transaction that stores the report (a correction marks the places of what it retracts).
Writers refresh dirty places after their append while still holding the writer lock; a reader
that finds dirty places (a writer killed in between, or a batch not refreshed yet) folds those
places itself from their own reports. So an answer never disagrees with the events, and no
reader ever waits for a refresh. Only the default Rif Dimashq seat and contest horizon, on the
latest knowledge, are materialised; other questions take the pure fold.
"""

from __future__ import annotations

import json
import operator
import os
import re
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from control.fold.projection import (
    DEFAULT_HORIZON,
    CapitalState,
    Change,
    Snapshot,
    Transition,
    _by_place,
    _deciding_events,
    live_events,
    place_state,
    place_transitions,
    snapshot_of,
    transition_order,
)
from control.model import gazetteer
from control.model.events import Event
from control.model.times import ERA_START, Window, iso, parse_instant
from control.store.readmodel import (
    BULK_ROWS,
    CONFLICTS,
    COUNTS,
    DIRTY,
    META,
    MOVES,
    REPORT,
    STATES,
    TABLE,
    TOUCH,
    fewer_collections,
    known_filter,
    report_event,
    stream_key,
)
from control.store.streams import RECORD_STREAM

#: The record's stream in the read model's tables.
RECORD_KEY = stream_key(RECORD_STREAM)

#: The first row of every place holds from here (nothing is asked before the era).
FLOOR = ERA_START
CEIL = datetime(9999, 12, 31, tzinfo=UTC)
#: Places looked up per query (bounds the statement's size).
CHUNK = 400
#: Places folded together (bounds memory: their reports are read at once).
FOLD_CHUNK = 100
#: State rows written per transaction by a refresh (whole chunks of places): fewer, larger
#: transactions rewrite fewer pages of the states' time-ordered indexes.
WRITE_ROWS = 50_000
#: What a refresh rewrites of each place it folds.
DERIVED_BY_PLACE = (STATES, CONFLICTS, MOVES)


def _change(c: Change, memo: dict[Any, Any] | None = None) -> list[Any]:
    memo = {} if memo is None else memo
    return [
        c.place,
        c.kind,
        c.new_controller,
        c.actor,
        _iso(memo, c.window.earliest),
        _iso(memo, c.window.latest),
        [e.id for e in c.reports],
        int(c.conflict),
    ]


def _iso(memo: dict[Any, Any], t: datetime | None) -> str | None:
    """``iso(t)``, remembered in ``memo`` (a place's instants recur in many of its states)."""
    text = memo.get(t)
    if text is None:
        text = memo[t] = iso(t)
    return text


def _cited_change(memo: dict[Any, Any], c: Change) -> list[Any]:
    """``_change(c)``, remembered in ``memo`` by identity (a change is a candidate or rival of
    many consecutive states; the memo keeps it alive, so its id is not reused meanwhile)."""
    found = memo.get(id(c))
    if found is None or found[0] is not c:
        found = memo[id(c)] = (c, _change(c, memo))
    return found[1]


_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
#: Texts whose JSON string is the text itself between quotes.
_PLAIN = re.compile(r"[A-Za-z0-9_.:-]*")


def _json(memo: dict[Any, Any], value: Any) -> str:
    """``_DUMPS(value)`` of a text or None, remembered in ``memo``."""
    key = ("json", value)
    text = memo.get(key)
    if text is None:
        text = memo[key] = _DUMPS(value)
    return text


def _fragment(memo: dict[Any, Any], key: str, items: tuple[Any, ...]) -> str:
    """``"key":`` and the JSON of ``items`` (events by id, changes cited), remembered in ``memo``
    by the tuple's identity: a place's consecutive states share their sources, candidates and
    statements (the memo keeps the tuple alive, so its id is not reused meanwhile)."""
    found = memo.get(id(items))
    if found is None or found[0] is not items or found[1] != key:
        if key in ("cand", "riv", "cf"):
            text = _DUMPS([_cited_change(memo, c) for c in items])
        else:
            ids = [e.id for e in items]  # ids are plain (the schema's pattern): quoted as they are
            text = '["' + '","'.join(ids) + '"]' if _PLAIN.fullmatch("".join(ids)) else _DUMPS(ids)
        found = memo[id(items)] = (items, key, f'"{key}":{text}')
    return found[2]


def encode(state: CapitalState, memo: dict[Any, Any] | None = None) -> str:
    """A state as stored: events by id (the read model holds them), empty fields left out, with
    the conflicts that bear on it (``cf``: among its sources' changes, candidates and rivals, so
    a state never carries its place's whole past). ``memo``: texts already made for the same
    place's other states. The text is the compact JSON of ``{"c", "s", "f", "l", "src", "con",
    "lap", "cand", "riv", "cf", "pos", "b"}`` (empty ones left out), put together from remembered
    parts (tested against the whole dict's encoding)."""
    memo = {} if memo is None else memo
    parts = [f'"c":{_json(memo, state.controller)}', f'"s":{_json(memo, state.status)}']
    if state.since is not None:
        since, latest = _iso(memo, state.since), _iso(memo, state.since_latest)
        parts += (f'"f":{_json(memo, since)}', f'"l":{_json(memo, latest)}')
    for key, found in (
        ("src", state.sources),
        ("con", state.contested_by),
        ("lap", state.lapsed),
        ("cand", state.candidates),
        ("riv", state.rivals),
        ("cf", state.conflicts),
    ):
        if found:
            parts.append(_fragment(memo, key, found))
    if state.possible:
        parts.append(f'"pos":{_DUMPS(list(state.possible))}')
    if state.since_baseline:
        parts.append('"b":1')
    return "{" + ",".join(parts) + "}"


def encode_dict(state: CapitalState) -> dict[str, Any]:
    """What :func:`encode` writes, as a dict (the definition its text is tested against)."""
    data: dict[str, Any] = {"c": state.controller, "s": state.status}
    if state.since is not None:
        data["f"], data["l"] = iso(state.since), iso(state.since_latest)
    for key, events in (("src", state.sources), ("con", state.contested_by), ("lap", state.lapsed)):
        if events:
            data[key] = [e.id for e in events]
    for key, found in (("cand", state.candidates), ("riv", state.rivals), ("cf", state.conflicts)):
        if found:
            data[key] = [_change(c) for c in found]
    if state.possible:
        data["pos"] = list(state.possible)
    if state.since_baseline:
        data["b"] = 1
    return data


def cited(data: dict[str, Any]) -> Iterable[str]:
    """Every event id a stored state cites."""
    for key in ("src", "con", "lap"):
        yield from data.get(key, ())
    for key in ("cand", "cf", "riv"):
        for c in data.get(key, ()):
            yield from c[6]


#: What a place not asked for carries (see :func:`_stored_states`): no source, no JSON.
LIGHT_KEYS = frozenset(("c", "s", "f", "l", "b", "pos"))


def decode(g: gazetteer.Governorate, data: dict[str, Any], events: dict[str, Event]) -> CapitalState:
    if data.keys() <= LIGHT_KEYS:  # a one-line summary: thousands of these per compact answer
        since = data.get("f")
        return CapitalState(
            g.name,
            g.seat(gazetteer.DEFAULT_SEAT),
            data["c"],
            data["s"],
            datetime.fromisoformat(since) if since else None,
            datetime.fromisoformat(data["l"]) if since else None,
            (),
            possible=tuple(data.get("pos", ())),
            since_baseline="b" in data,
        )

    def change(c: list[Any]) -> Change:
        window = Window(parse_instant(c[4]), parse_instant(c[5]))
        return Change(c[0], c[1], c[2], c[3], window, tuple(events[i] for i in c[6]), bool(c[7]))

    since = data.get("f")
    return CapitalState(
        governorate=g.name,
        capital=g.seat(gazetteer.DEFAULT_SEAT),
        controller=data["c"],
        status=data["s"],
        since=parse_instant(since) if since else None,
        since_latest=parse_instant(data["l"]) if since else None,
        sources=tuple(events[i] for i in data.get("src", ())),
        candidates=tuple(change(c) for c in data.get("cand", ())),
        contested_by=tuple(events[i] for i in data.get("con", ())),
        conflicts=tuple(change(c) for c in data.get("cf", ())),
        rivals=tuple(change(c) for c in data.get("riv", ())),
        possible=tuple(data.get("pos", ())),
        lapsed=tuple(events[i] for i in data.get("lap", ())),
        horizon=DEFAULT_HORIZON,
        since_baseline="b" in data,
    )


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


def _needs(g: gazetteer.Governorate, seat: str = gazetteer.DEFAULT_SEAT) -> list[str]:
    """The places whose reports decide ``g`` (itself, and its counted capital's governorate)."""
    host = gazetteer.host_of(g, seat)
    return [g.name] if host is None else [g.name, host.name]


def affected(places: Iterable[str]) -> list[gazetteer.Governorate]:
    """The governorates (gazetteer order) whose answers depend on reports at ``places``."""
    hosts = _hosts()
    names = {g.name for p in places for g in hosts.get(p, ())}
    return [g for g in gazetteer.governorates() if g.name in names]


def _marks(n: int) -> str:
    return ",".join(["%s"] * n)


def events_of(
    app: Any,
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
        f"SELECT id, place FROM {name(TOUCH)} WHERE stream = %s AND place IN ({_marks(len(places))})",
        [stream, *places],
    ):
        touch.setdefault(cid, set()).add(place)
    rows = app.recorder.reports_at(stream, places, known, known_params)
    rows += _reports_by_id(app, stream, touch, known, known_params)
    loads, from_stored = json.loads, Event.from_stored
    seen: dict[str, Event] = {}
    for report, recorded in rows:
        e = from_stored(loads(report), recorded)
        seen[e.id] = e
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
    app: Any, stream: str, ids: Iterable[str]
) -> tuple[dict[str, tuple[str, str]], dict[str, set[str]]]:
    """For stored report ids, by index: the place each is filed under and its kind, and the
    places each correction retracts (through chains)."""
    own: dict[str, tuple[str, str]] = {}
    retracts: dict[str, set[str]] = {}
    name, asked = app.recorder.name, sorted(set(ids))
    for i in range(0, len(asked), CHUNK):
        part = asked[i : i + CHUNK]
        marks = _marks(len(part))
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
    app: Any, stream: str, cut: datetime | None, suppress: Iterable[str], extra: Sequence[Event]
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
    app: Any,
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
        places = sorted({p for g in part for p in _needs(g, seat)})
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
            mine = {e.id: e for p in _needs(g, seat) for e in own.get(p, ())}
            yield g, _deciding_events(g, _by_place(live_events(mine.values())), seat)


def fold_places(
    app: Any, stream: str, governorates: Sequence[gazetteer.Governorate], world: Branch | None = None
) -> Iterator[tuple[gazetteer.Governorate, list[tuple[datetime, CapitalState]], list[Transition]]]:
    """Each governorate's states at all its breakpoints, and its effective changes of control,
    folded from its own reports (``world``: in a what-if branch)."""
    from control.fold.phases import place_states_and_transitions  # here: a stored answer never needs it

    for g, deciding in deciding_events(app, stream, governorates, world=world):
        pairs, moves = place_states_and_transitions(g, deciding, FLOOR, CEIL, gazetteer.DEFAULT_SEAT)
        yield g, pairs, moves


def _fresh(app: Any, stream: str) -> dict[str, tuple[list[tuple[datetime, CapitalState]], list[Transition]]]:
    """The dirty places' states and moves, folded by the reader itself (a writer killed before
    its refresh, or a batch still under way): place name -> (states, moves)."""
    dirty = affected(dirty_places(app, stream))
    if not dirty:  # the usual case: nothing to fold (nor its code to load)
        return {}
    return {g.name: (pairs, found) for g, pairs, found in fold_places(app, stream, dirty)}


def dirty_places(app: Any, stream: str) -> list[str]:
    name = app.recorder.name
    return [r[0] for r in app.recorder.query(f"SELECT place FROM {name(DIRTY)} WHERE stream = %s", [stream])]


#: One place folded: its states at its breakpoints and its effective changes of control.
Folded = tuple[gazetteer.Governorate, list[tuple[datetime, CapitalState]], list[Transition]]
#: Rows of one chunk of places, as stored: (names, states, conflicts, moves).
Rows = tuple[list[str], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]
#: A refresh of at least this many places over at least this many reports folds in worker
#: processes (a whole store's: ``control rebuild``, ``synth``); smaller ones fold here.
PARALLEL_PLACES = 200
PARALLEL_REPORTS = 50_000
#: Worker processes for a large refresh (``$CONTROL_WORKERS``; 1: none).
WORKERS_ENV = "CONTROL_WORKERS"


#: The fields of a state its stored text is made of (:func:`encode`): not its place's names or
#: its horizon.
_ENCODED = operator.itemgetter(
    *(i for i, f in enumerate(CapitalState._fields) if f not in ("governorate", "capital", "horizon"))
)


def encoded_rows(stream: str, batch: Sequence[Folded]) -> Rows:
    """Folded places as the rows of ``control_states`` and ``control_moves`` (``control_conflicts``
    is left empty: each state carries the conflicts that bear on it); a state is stored where its
    JSON changes, ``step`` where controller or status does."""
    rows, conflicts, moves = [], [], []
    for g, pairs, found in batch:
        memo: dict[Any, Any] = {}  # this place's texts: its conflicts are among its states' candidates
        moves += [
            (
                stream,
                g.name,
                seq,
                _iso(memo, t.window.earliest),
                _iso(memo, t.window.latest),
                t.capital,
                t.before,
                t.after,
            )
            for seq, t in enumerate(found)
        ]
        last, written, phase = None, None, None
        for at, state in pairs:
            fields = _ENCODED(state)
            if fields == written:  # the last state's very text: a conflict begun, nothing else
                continue
            written = fields
            text = encode(state, memo)
            if text != last:  # the one-line summary in columns, the whole state in JSON
                step = int((state.controller, state.status) != phase)
                phase = (state.controller, state.status)
                rows.append(
                    (
                        stream,
                        g.name,
                        _iso(memo, at),
                        state.controller,
                        state.status,
                        step,
                        _iso(memo, state.since),
                        _iso(memo, state.since_latest),
                        int(state.since_baseline),
                        text,
                    )
                )
                last = text
    return [g.name for g, _, _ in batch], rows, conflicts, moves


def _workers() -> int:
    """Fold workers for a large refresh or read: ``$CONTROL_WORKERS`` if set, else one per core
    up to four."""
    text = os.environ.get(WORKERS_ENV, "")
    if text.strip().isdigit():
        return max(1, int(text))
    return min(os.cpu_count() or 1, 4)


def _rows_of(app: Any, stream: str, chunk: Sequence[gazetteer.Governorate]) -> Rows:
    return encoded_rows(stream, list(fold_places(app, stream, chunk)))


def _states_at(
    app: Any,
    stream: str,
    chunk: Sequence[gazetteer.Governorate],
    at: datetime,
    known_at: datetime | None,
    recorded_at: datetime | None,
    seat: str,
    horizon: timedelta,
    world: Branch | None = None,
) -> list[CapitalState]:
    found = deciding_events(app, stream, chunk, known_at, recorded_at, seat, world)
    return [place_state(g, deciding, at, seat, horizon) for g, deciding in found]


def _phases_of(
    app: Any,
    stream: str,
    chunk: Sequence[gazetteer.Governorate],
    start: datetime,
    end: datetime,
    known_at: datetime | None,
    recorded_at: datetime | None,
    seat: str,
    world: Branch | None = None,
) -> tuple[list[tuple[str, list[tuple[datetime, Any]]]], list[Transition]]:
    from control.fold.phases import place_phases

    steps, moves = [], []
    for g, deciding in deciding_events(app, stream, chunk, known_at, recorded_at, seat, world):
        steps.append((g.name, place_phases(deciding, start, end)))
        moves += place_transitions(g, deciding, seat)
    moves.sort(key=transition_order)
    # as charts draw them: without their reports (which would hold every report of the ledger)
    # and ranked here, where transition_order can tell changes of one place apart
    return steps, [
        (n, Move(t.governorate, t.capital, t.before, t.after, t.window)) for n, t in enumerate(moves)
    ]


#: What works a chunk of places in a worker process (:func:`control.store.workers.fold`).
FOLD_TASK = "control.store.workers:fold"
#: What :func:`in_chunks` can do to a chunk of places, by name (a worker is sent the name).
CHUNK_WORK: dict[str, Any] = {"rows": _rows_of, "states_at": _states_at, "phases": _phases_of}


def in_chunks(
    app: Any, stream: str, targets: Sequence[gazetteer.Governorate], work: str, args: tuple[Any, ...]
) -> Iterator[Any]:
    """``CHUNK_WORK[work](app, stream, chunk, *args)`` for each chunk of :data:`FOLD_CHUNK` places,
    in order: here, or, for at least :data:`PARALLEL_PLACES` places over at least
    :data:`PARALLEL_REPORTS` reports, in worker processes (:func:`_workers`,
    :mod:`control.store.pool`), each opening the store itself and reading its places' reports on
    its own connection. Workers that cannot start or that die leave the rest to this process."""
    chunks = [targets[i : i + FOLD_CHUNK] for i in range(0, len(targets), FOLD_CHUNK)]
    workers = min(_workers(), len(chunks))
    done = 0
    if workers > 1 and len(targets) >= PARALLEL_PLACES:
        table = app.recorder.name(TABLE)
        count = app.recorder.query(f"SELECT COUNT(*) FROM {table} WHERE stream = %s", [stream])
        if int(count[0][0]) >= PARALLEL_REPORTS:
            from control.store import pool

            # the tables exist: a worker creating them again races the others in PostgreSQL's
            # catalog ("tuple concurrently updated")
            env = dict(app.env, CREATE_TABLE="no")
            atlas = gazetteer.current()  # the version answering (--recorded-at: an earlier one)
            version = None if atlas.builtin else atlas.version
            tasks = [
                (FOLD_TASK, env, stream, [g.name for g in chunk], work, args, version) for chunk in chunks
            ]
            try:
                for result in pool.run_tasks(tasks, workers):
                    yield result
                    done += 1
                return
            except pool.Broken:  # a worker could not start, or died: the rest is done here
                pass
    for chunk in chunks[done:]:
        with fewer_collections():
            found = CHUNK_WORK[work](app, stream, chunk, *args)
        yield found


def refresh(app: Any, stream: str) -> int:
    """Re-fold the dirty places' states and store them (call under the writer lock). Chunks of
    places are written together, up to :data:`WRITE_ROWS` state rows per transaction; the dirty
    marks go last, so a refresh cut short leaves them dirty (readers fold them themselves) and
    the next writer finishes it. Returns the number of governorates refreshed."""
    dirty = dirty_places(app, stream)
    if not dirty:
        return 0
    name = app.recorder.name
    targets = affected(dirty)
    pending: Rows = ([], [], [], [])

    def write() -> None:  # one transaction
        names, rows, conflicts, moves = pending
        deletes = []
        for i in range(0, len(names), CHUNK):
            part = names[i : i + CHUNK]
            where = f"WHERE stream = %s AND place IN ({_marks(len(part))})"
            deletes += [(f"DELETE FROM {name(t)} {where}", [stream, *part]) for t in DERIVED_BY_PLACE]
        app.recorder.execute_script(
            deletes,
            (f"INSERT INTO {name(STATES)} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows),
            (f"INSERT INTO {name(CONFLICTS)} VALUES (%s, %s, %s, %s, %s)", conflicts),
            (f"INSERT INTO {name(MOVES)} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", moves),
        )
        for part in pending:
            part.clear()

    written = 0
    with fewer_collections():  # the workers' rows, read back and written
        for chunk in in_chunks(app, stream, targets, "rows", ()):  # written as they come, in order
            for into, found in zip(pending, chunk, strict=True):
                into.extend(found)
            if len(pending[1]) >= WRITE_ROWS:
                written += len(pending[1])
                write()
        if pending[0]:
            written += len(pending[1])
            write()
    if written >= BULK_ROWS:
        app.recorder.analyze(DERIVED_BY_PLACE)
    known = {g.name for g in gazetteer.governorates()}  # marks of places not known (yet) are kept
    dirty = [p for p in dirty if p in known]
    for i in range(0, len(dirty), CHUNK):
        part = dirty[i : i + CHUNK]
        app.recorder.execute_script(
            [
                (
                    f"DELETE FROM {name(DIRTY)} WHERE stream = %s AND place IN ({_marks(len(part))})",
                    [stream, *part],
                )
            ]
        )
    return len(targets)


def _stored_states(
    app: Any,
    stream: str,
    places: Sequence[str],
    at: str,
    detail: Collection[str] | None = None,
    since: bool = True,
) -> dict[str, dict[str, Any]]:
    """Each place's stored state holding at ``at`` (one index seek per place). The ``detail``
    places (default all) come whole, with their conflicts; the others with their controller,
    status and who they may be (if conflicting), and, with ``since``, since when: no source is
    read for them."""
    name = app.recorder.name
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(places), CHUNK):
        part = places[i : i + CHUNK]
        values = ",".join(["(%s)"] * len(part))
        if detail is None:  # every state whole
            rows = app.recorder.query(
                f"WITH p(place) AS (VALUES {values}), k AS (SELECT p.place, (SELECT MAX(t.start) "
                f"FROM {name(STATES)} t WHERE t.stream = %s AND t.place = p.place AND t.start <= %s) "
                f"AS start FROM p) SELECT s.place, s.state FROM k JOIN {name(STATES)} s "
                "ON s.stream = %s AND s.place = k.place AND s.start = k.start",
                [*part, stream, at, stream],
            )
            out.update((place, json.loads(state)) for place, state in rows)
        else:
            out.update(_summaries(app, stream, part, at, detail, since))
    return out


def _summaries(
    app: Any, stream: str, places: Sequence[str], at: str, detail: Collection[str], since: bool
) -> dict[str, dict[str, Any]]:
    """:func:`_stored_states` for a chunk of places of which only ``detail`` come whole: each
    place's summary (start, status, since, controller) in one seek of the covering index
    ``control_states_summary``, as one text per place (portable SQL, no table row read); the
    whole states of ``detail`` places and who a conflicting one may be, from the JSON after."""
    name = app.recorder.name
    values = ",".join(["(%s)"] * len(places))
    summary = (
        "t.start || '|' || t.status || '|' || COALESCE(t.since, '') || '|' || "
        "COALESCE(t.since_latest, '') || '|' || t.since_baseline || '|' || COALESCE(t.controller, '')"
    )
    out: dict[str, dict[str, Any]] = {}
    whole: list[tuple[str, str]] = []
    for place, text in app.recorder.query(
        f"WITH p(place) AS (VALUES {values}) SELECT p.place, (SELECT {summary} FROM {name(STATES)} t "
        "WHERE t.stream = %s AND t.place = p.place AND t.start <= %s ORDER BY t.start DESC LIMIT 1) FROM p",
        [*places, stream, at],
    ):
        if text is None:
            continue  # no state yet (a place with no reports at all)
        start, status, first, last, base, controller = text.split("|", 5)
        if place in detail or status == "conflicting":
            whole.append((place, start))
        data: dict[str, Any] = {"c": controller or None, "s": status}
        if since and first:
            data["f"], data["l"] = first, last
        if since and base == "1":
            data["b"] = 1
        out[place] = data
    if whole:
        keys = ",".join(["(%s, %s)"] * len(whole))
        for place, state in app.recorder.query(
            f"WITH k(place, start) AS (VALUES {keys}) SELECT s.place, s.state FROM k JOIN {name(STATES)} s "
            "ON s.stream = %s AND s.place = k.place AND s.start = k.start",
            [*(v for pair in whole for v in pair), stream],
        ):
            data = json.loads(state)
            out[place] = data if place in detail else out[place] | {"pos": data.get("pos", [])}
    return out


def _reports_by_id(
    app: Any, stream: str, ids: Iterable[str], known: str = "", params: Sequence[Any] = ()
) -> list[tuple[str, str]]:
    """The stored reports (JSON rows) of ``ids``, a chunk of ids per query (``known``: SQL from
    :func:`known_filter`, with its ``params``)."""
    name = app.recorder.name
    wanted = sorted(ids)
    rows: list[tuple[str, str]] = []
    for i in range(0, len(wanted), CHUNK):
        part = wanted[i : i + CHUNK]
        rows += app.recorder.query(
            f"SELECT {REPORT} FROM {name(TABLE)} WHERE stream = %s AND id IN ({_marks(len(part))}){known}",
            [stream, *part, *params],
        )
    return rows


def _events_by_id(app: Any, stream: str, ids: set[str]) -> dict[str, Event]:
    events = (report_event(found) for found in _reports_by_id(app, stream, ids))
    return {e.id: e for e in events}


def events_used(app: Any, stream: str, at: datetime) -> int:
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


def _meta(app: Any, key: str) -> datetime | None:
    rows = app.recorder.query(f"SELECT value FROM {app.recorder.name(META)} WHERE key = %s", [key])
    return parse_instant(rows[0][0]) if rows else None


def snapshot(
    app: Any, stream: str, at: datetime, detail: Collection[str] | None = None, since: bool = True
) -> Snapshot:
    """``replay(app.read(), at)`` (latest knowledge, default seat and horizon), from the stored
    states: its cost grows with the places and what their states cite, not with the ledger.

    ``detail``: the places whose states are read whole (default: all). The others carry their
    controller, status and (with ``since``) since when: enough for the holdings and a one-line
    summary per place, so a compact answer over thousands of places, or one place's answer,
    reads no source it does not print."""
    govs = gazetteer.governorates()
    fresh = {name: pairs for name, (pairs, _) in _fresh(app, stream).items()}
    wanted = [g.name for g in govs if g.name not in fresh]
    stored = _stored_states(app, stream, wanted, iso(at) or "", detail, since)
    events = _events_by_id(app, stream, {i for data in stored.values() for i in cited(data)})
    states = []
    for g in govs:
        if g.name in fresh:
            pairs = fresh[g.name]
            states.append(pairs[bisect_right([t for t, _ in pairs], at) - 1][1])
        elif g.name in stored:
            states.append(decode(g, stored[g.name], events))
        else:  # a place with no reports at all (not even a baseline)
            from control.fold.phases import place_states

            states.append(place_states(g, [], FLOOR, CEIL)[0][1])
    return snapshot_of(
        states,
        at,
        used=events_used(app, stream, at),
        seat=gazetteer.DEFAULT_SEAT,
        record_ends=record_ends(app, stream),
        record_begins=record_begins(app, stream),
    )


def folded_snapshot(
    app: Any,
    stream: str,
    at: datetime,
    known_at: datetime | None = None,
    recorded_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
    horizon: timedelta = DEFAULT_HORIZON,
    world: Branch | None = None,
    detail: Collection[str] | None = None,
) -> Snapshot:
    """``replay(app.read(), at, known_at, seat, recorded_at, horizon)`` for the questions the
    stored states do not answer (an earlier knowledge or store, another seat or horizon): each
    place folded from its own reports, a chunk of places at a time (bounded memory), with the
    totals (events used, the record's first baseline and last report) counted in SQL.
    ``world``: the same of a what-if branch of the ledger (``replay(branch_world(...), ...)``).
    ``detail``: as :func:`snapshot`'s, for the places a branch leaves as they are."""
    name = app.recorder.name
    govs = gazetteer.governorates()

    def fold(places: Sequence[gazetteer.Governorate], branch: Branch | None) -> list[CapitalState]:
        args = (at, known_at, recorded_at, seat, horizon, branch)
        return [state for chunk in in_chunks(app, stream, places, "states_at", args) for state in chunk]

    touched = None if world is None else world.places
    if touched is None:  # every place folded (in this world)
        states = fold(govs, world)
    else:  # a branch without a cut: only the places it touches differ from the record
        found = {
            s.governorate: s for s in fold([g for g in govs if touched.intersection(_needs(g, seat))], world)
        }
        if as_stored(known_at, recorded_at, seat, horizon):
            record: Sequence[CapitalState] = snapshot(app, stream, at, detail).capitals  # as stored
        else:
            record = fold([g for g in govs if g.name not in found], None)
        found = {s.governorate: s for s in record if s.governorate not in found} | found
        states = [found[g.name] for g in govs]
    known, params = known_filter(known_at if world is None else earlier(known_at, world.cut), recorded_at)
    if world is not None and world.suppress:
        dropped = sorted(world.suppress)
        known += f" AND id NOT IN ({_marks(len(dropped))})"
        params += dropped
    used, ends = app.recorder.query(
        f"SELECT SUM(CASE WHEN earliest <= %s THEN 1 ELSE 0 END), MAX(reported_at) FROM {name(TABLE)} "
        f"WHERE stream = %s{known}",
        [iso(at), stream, *params],
    )[0]
    begins = app.recorder.query(
        f"SELECT MIN(earliest) FROM {name(TABLE)} WHERE stream = %s AND kind = 'baseline'{known}",
        [stream, *params],
    )[0][0]
    used, last, first = (
        int(used or 0),
        parse_instant(ends) if ends else None,
        parse_instant(begins) if begins else None,
    )
    for e in () if world is None else world.extra:  # what-if events, known by known_at
        if known_at is None or e.reported_at <= known_at:
            used += e.window.earliest <= at
            last = e.reported_at if last is None else max(last, e.reported_at)
            if e.kind == "baseline":
                first = e.window.earliest if first is None else min(first, e.window.earliest)
    return snapshot_of(
        states,
        at,
        known_at,
        used=used,
        seat=seat,
        recorded_at=recorded_at,
        record_ends=last,
        record_begins=first,
        horizon=horizon,
    )


def moved_places(app: Any, stream: str, since: datetime, until: datetime | None) -> set[str]:
    """The places with a change of control whose window overlaps ``[since, until)`` on the latest
    knowledge (the stored moves, by index), and the dirty places (their moves may be stale)."""
    name = app.recorder.name
    before, params = ("", []) if until is None else (" AND earliest < %s", [iso(until)])
    found = app.recorder.query(
        f"SELECT DISTINCT place FROM {name(MOVES)} WHERE stream = %s AND latest >= %s{before}",
        [stream, iso(since), *params],
    )
    return {place for (place,) in found} | {g.name for g in affected(dirty_places(app, stream))}


class Move(NamedTuple):
    """An effective change of control as charts draw it (a stored ``Transition``, without its
    reports)."""

    governorate: str
    capital: str
    before: str | None
    after: str | None
    window: Window


def chart_inputs(
    app: Any,
    stream: str,
    start: datetime,
    end: datetime,
    world: Branch | None = None,
    some: bool = False,
    focus: str | None = "government",
) -> tuple[list[gazetteer.Governorate], list[tuple[datetime, int, Any]], list[datetime], list[Move]]:
    """What the holdings chart draws on ``[start, end]`` (latest knowledge, default seat), from
    the stored states and moves: the places, every place's steps in time order (``(instant,
    place index, (controller, status))``, the first of each at ``start``: ``capital_phases``'s
    values at every instant), the chart's times (``start``, ``end`` and every edge of a move's
    window between) and the ``focus`` controller's moves reaching into the period (none without
    one), in ``transitions``'s order. No report is read or folded (but those of dirty places).

    ``world``: the same of a what-if branch without a cut (``Branch.places``): the places it
    touches folded in it, the others as stored. ``some``: the gazetteer in use is some of the
    store's places only (the moves of the others are left out)."""
    name = app.recorder.name
    govs = list(gazetteer.governorates())
    number = {g.name: i for i, g in enumerate(govs)}
    fresh = _fresh(app, stream)
    if world is not None:
        touched = world.places
        if touched is None:
            raise ValueError("a branch that cuts the record may change every place: fold its phases")
        mine = [g for g in govs if touched.intersection(_needs(g))]
        fresh.update((g.name, (pairs, found)) for g, pairs, found in fold_places(app, stream, mine, world))
    lo, hi = iso(start) or "", iso(end) or ""
    first: dict[str, tuple[str | None, str]] = {}
    updates: list[tuple[datetime, int, Any]] = []
    instant = datetime.fromisoformat
    for place, at, controller, status in app.recorder.query_iter(
        f"SELECT place, start, controller, status FROM {name(STATES)} WHERE stream = %s AND step = 1 "
        "AND start <= %s ORDER BY start, place",
        [stream, hi],
    ):
        if place in fresh or place not in number:
            continue
        if at <= lo:
            first[place] = (controller, status)
        else:
            updates.append((instant(at), number[place], (controller, status)))
    initial = [
        (start, i, first.get(g.name, (None, "unknown"))) for i, g in enumerate(govs) if g.name not in fresh
    ]
    for place, (pairs, _) in fresh.items():
        steps = [(t, (st.controller, st.status)) for t, st in pairs]
        before = [p for p in steps if p[0] <= start]
        initial.append((start, number[place], before[-1][1]))
        updates += [(t, number[place], phase) for t, phase in steps if start < t <= end]
    updates = initial + (sorted(updates, key=lambda u: (u[0], u[1])) if fresh else updates)
    # the instants where a move's window begins or ends, inside the period (the chart's steps)
    stale = sorted(fresh)
    skip = f" AND place NOT IN ({_marks(len(stale))})" if stale else ""
    drawn = sorted(number) if some else []
    if drawn:
        skip += f" AND place IN ({_marks(len(drawn))})"
    edge_rows = app.recorder.query(
        f"SELECT earliest FROM {name(MOVES)} WHERE stream = %s AND latest >= %s AND earliest <= %s "
        f"AND earliest > %s AND earliest < %s{skip} UNION SELECT latest FROM {name(MOVES)} WHERE stream = %s "
        f"AND latest >= %s AND earliest <= %s AND latest > %s AND latest < %s{skip} ORDER BY 1",
        [stream, lo, hi, lo, hi, *stale, *drawn] * 2,
    )
    times = [start, *(instant(e) for (e,) in edge_rows), end][: None if end > start else 1]  # in order
    # the focus controller's losses, in transitions()'s order: by end, start, place, then the
    # place's own order (sorted in SQL)
    moves: list[Any] = [
        Move(place, capital, before, after, Window(instant(a), instant(b)))
        for place, capital, before, after, a, b in app.recorder.query_iter(
            f"SELECT place, capital, before, after, earliest, latest FROM {name(MOVES)} "
            "WHERE stream = %s AND latest >= %s AND earliest <= %s AND before = %s "
            "ORDER BY latest, earliest, place, seq",
            [stream, lo, hi, focus],
        )
        if place not in fresh and place in number
    ] if focus is not None else []  # fmt: skip
    if fresh:
        keyed = [
            ((iso(m.window.latest), iso(m.window.earliest), m.governorate), n, m) for n, m in enumerate(moves)
        ]
        found = set(times)
        for _, moved in fresh.values():
            found.update(e for t in moved for e in (t.window.earliest, t.window.latest) if start < e < end)
        times = sorted(found)
        for _, moved in fresh.values():
            keyed += [
                ((iso(t.window.latest), iso(t.window.earliest), t.governorate), seq, t)
                for seq, t in enumerate(moved)
                if focus is not None and t.before == focus
            ]
        moves = [m for *_, m in sorted(keyed, key=lambda k: (k[0], k[1]))]
    return govs, updates, times, moves


def record_ends(app: Any, stream: str) -> datetime | None:
    """The last report time of ``stream`` (None if it has none)."""
    return _meta(app, f"ends:{stream}")


def record_begins(app: Any, stream: str) -> datetime | None:
    """The first baseline of ``stream`` (None if it has none)."""
    return _meta(app, f"begins:{stream}")
