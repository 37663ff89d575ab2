"""Stored states as text: each place's ``CapitalState`` encoded as compact JSON (events by id,
empty fields left out, texts remembered across a place's states) and decoded back, and the rows
of ``control_states`` and ``control_moves`` made from folded places.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from control.fold.projection import DEFAULT_HORIZON, CapitalState, Change, Transition
from control.model import gazetteer
from control.model.events import Event
from control.model.times import Window, iso


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


#: What a place not asked for carries (see :func:`stored_states`): no source, no JSON.
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

    instant = datetime.fromisoformat  # stored instants are canonical: no checks (as events')
    get = data.get

    def cited_events(key: str) -> tuple[Event, ...]:
        ids = get(key)
        return tuple([events[i] for i in ids]) if ids else ()

    def changes(key: str) -> tuple[Change, ...]:
        found = get(key)
        if not found:
            return ()
        return tuple(
            Change(
                c[0],
                c[1],
                c[2],
                c[3],
                Window(instant(c[4]), instant(c[5])),
                tuple([events[i] for i in c[6]]),
                bool(c[7]),
            )
            for c in found
        )

    since = get("f")
    return CapitalState(  # in the order of its fields (a call by keyword costs thousands of places)
        g.name,
        g.seat(gazetteer.DEFAULT_SEAT),
        data["c"],
        data["s"],
        instant(since) if since else None,
        instant(data["l"]) if since else None,
        cited_events("src"),
        changes("cand"),
        cited_events("con"),
        changes("cf"),
        changes("riv"),
        tuple(get("pos", ())),
        cited_events("lap"),
        DEFAULT_HORIZON,
        "b" in data,
    )


#: One place folded: its states at its breakpoints and its effective changes of control.
Folded = tuple[gazetteer.Governorate, list[tuple[datetime, CapitalState]], list[Transition]]


#: Rows of one chunk of places, as stored: (names, states, conflicts, moves).
Rows = tuple[list[str], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


#: The fields of a state its stored text is made of (:func:`encode`): not its place's names or
#: its horizon.
_ENCODED = operator.itemgetter(
    *(i for i, f in enumerate(CapitalState._fields) if f not in ("governorate", "capital", "horizon"))
)


def encoded_rows(stream: str, batch: Sequence[Folded]) -> Rows:
    """Folded places as the rows of ``control_states`` and ``control_moves`` (``control_conflicts``
    is left empty: each state carries the conflicts that bear on it); a state is stored where its
    JSON changes, ``step`` where controller or status does."""
    rows: list[tuple[Any, ...]] = []
    moves: list[tuple[Any, ...]] = []
    for g, pairs, found in batch:
        memo: dict[Any, Any] = {}  # this place's texts: its conflicts are among its states' candidates
        moves += place_moves(stream, g, found, memo)
        rows.extend(place_rows(stream, g, pairs, memo))
    return [g.name for g, _, _ in batch], rows, [], moves


def place_moves(stream: str, g: Any, found: Sequence[Any], memo: dict[Any, Any]) -> list[tuple[Any, ...]]:
    """One place's ``control_moves`` rows (its transitions, in order)."""
    return [
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


def place_rows(stream: str, g: Any, pairs: Iterable[Any], memo: dict[Any, Any]) -> Iterator[tuple[Any, ...]]:
    """One place's ``control_states`` rows, made as they are asked for (a deep place's states,
    encoded, can be hundreds of MB: a refresh writes them as they come)."""
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
            yield (
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
            last = text
