"""Answers from the stored states: a snapshot at an instant (one lookup per place), the same
folded place by place for the questions the stored states do not answer (another knowledge,
seat or horizon, a what-if branch), and what the holdings chart draws.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from control.fold.projection import DEFAULT_HORIZON, CapitalState, Snapshot, snapshot_of
from control.model import gazetteer
from control.model.times import Window, iso, parse_instant
from control.store import states
from control.store.placereads import (
    CHUNK,
    Branch,
    as_stored,
    earlier,
    events_by_id,
    events_used,
    needs,
    record_begins,
    record_ends,
    sql_marks,
)
from control.store.readmodel import MOVES, STATES, TABLE, json_list, known_filter
from control.store.statecodec import cited, decode
from control.store.states import CEIL, FLOOR, Move

if TYPE_CHECKING:
    from control.store.ledger import LedgerApp


def stored_states(
    app: LedgerApp,
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
        if detail is None:  # every state whole: one seek of the primary key per place
            latest = (
                f"SELECT t.state FROM {name(STATES)} t WHERE t.stream = %s AND t.place = p.place "
                "AND t.start <= %s ORDER BY t.start DESC LIMIT 1"
            )
            rows = [
                found
                for found in app.recorder.query(
                    f"WITH p(place) AS (VALUES {values}) SELECT p.place, ({latest}) FROM p",
                    [*part, stream, at],
                )
                if found[1] is not None  # no state yet (a place with no reports at all)
            ]
            out.update(zip((place for place, _ in rows), json_list(state for _, state in rows), strict=True))
        else:
            out.update(_summaries(app, stream, part, at, detail, since))
    return out


def _summaries(
    app: LedgerApp, stream: str, places: Sequence[str], at: str, detail: Collection[str], since: bool
) -> dict[str, dict[str, Any]]:
    """:func:`stored_states` for a chunk of places of which only ``detail`` come whole: each
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


def snapshot(
    app: LedgerApp, stream: str, at: datetime, detail: Collection[str] | None = None, since: bool = True
) -> Snapshot:
    """``replay(app.read(), at)`` (latest knowledge, default seat and horizon), from the stored
    states: its cost grows with the places and what their states cite, not with the ledger.

    ``detail``: the places whose states are read whole (default: all). The others carry their
    controller, status and (with ``since``) since when: enough for the holdings and a one-line
    summary per place, so a compact answer over thousands of places, or one place's answer,
    reads no source it does not print."""
    govs = gazetteer.governorates()
    fresh = {name: pairs for name, (pairs, _) in states.fresh_places(app, stream).items()}
    wanted = [g.name for g in govs if g.name not in fresh]
    stored = stored_states(app, stream, wanted, iso(at) or "", detail, since)
    events = events_by_id(app, stream, {i for data in stored.values() for i in cited(data)})
    capitals = []
    for g in govs:
        if g.name in fresh:
            pairs = fresh[g.name]
            capitals.append(pairs[bisect_right([t for t, _ in pairs], at) - 1][1])
        elif g.name in stored:
            capitals.append(decode(g, stored[g.name], events))
        else:  # a place with no reports at all (not even a baseline)
            from control.fold.phases import place_states

            capitals.append(place_states(g, [], FLOOR, CEIL)[0][1])
    return snapshot_of(
        capitals,
        at,
        used=events_used(app, stream, at),
        seat=gazetteer.DEFAULT_SEAT,
        record_ends=record_ends(app, stream),
        record_begins=record_begins(app, stream),
    )


def folded_snapshot(
    app: LedgerApp,
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
        chunks = states.in_chunks(app, stream, places, "states_at", args)
        return [state for chunk in chunks for state in chunk]

    touched = None if world is None else world.places
    if touched is None:  # every place folded (in this world)
        capitals = fold(govs, world)
    else:  # a branch without a cut: only the places it touches differ from the record
        found = {
            s.governorate: s for s in fold([g for g in govs if touched.intersection(needs(g, seat))], world)
        }
        if as_stored(known_at, recorded_at, seat, horizon):
            record: Sequence[CapitalState] = snapshot(app, stream, at, detail).capitals  # as stored
        else:
            record = fold([g for g in govs if g.name not in found], None)
        found = {s.governorate: s for s in record if s.governorate not in found} | found
        capitals = [found[g.name] for g in govs]
    known, params = known_filter(known_at if world is None else earlier(known_at, world.cut), recorded_at)
    if world is not None and world.suppress:
        dropped = sorted(world.suppress)
        known += f" AND id NOT IN ({sql_marks(len(dropped))})"
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
        capitals,
        at,
        known_at,
        used=used,
        seat=seat,
        recorded_at=recorded_at,
        record_ends=last,
        record_begins=first,
        horizon=horizon,
    )


def chart_inputs(
    app: LedgerApp,
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
    fresh = states.fresh_places(app, stream)
    if world is not None:
        touched = world.places
        if touched is None:
            raise ValueError("a branch that cuts the record may change every place: fold its phases")
        mine = [g for g in govs if touched.intersection(needs(g))]
        folded = states.fold_places(app, stream, mine, world)
        fresh.update((g.name, (pairs, found)) for g, pairs, found in folded)
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
    skip = f" AND place NOT IN ({sql_marks(len(stale))})" if stale else ""
    drawn = sorted(number) if some else []
    if drawn:
        skip += f" AND place IN ({sql_marks(len(drawn))})"
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
