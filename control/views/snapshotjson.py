"""``replay --json``'s text, written straight from the snapshot: byte for byte
``to_json(snapshot.to_dict())``.

Why it exists: making each of thousands of places' dicts and then walking them again to encode
them cost as much as reading the states from the store. This writes a place's text in one step,
unless it cites changes (candidates, rivals, conflicts: rare), and leaves those places and the
rest of the answer to ``CapitalState.to_dict`` and the one encoder (:mod:`control.views.jsontext`),
which stay the definition: tests compare the two on every state of the seed record and of
generated ledgers.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _quoted
from typing import Any

from control.fold.projection import CapitalState, Snapshot
from control.fold.records import pcode_of
from control.model.times import iso
from control.views.jsontext import dumps

#: Where the places go in the rest of the answer's text (a raw newline never occurs inside a JSON
#: string, so this cannot be part of a value).
_PLACES = '\n  "capitals": []'


def snapshot_json(snapshot: Snapshot, extra: dict[str, Any] | None = None) -> str:
    """``to_json(snapshot.to_dict() | extra)``, each plain place written straight from its state."""
    with snapshot._own():
        rest = dumps(snapshot.to_dict(places=False) | (extra or {}))
        places = [place_json(c, "    ") for c in snapshot.capitals]
    text = '\n  "capitals": [\n    ' + ",\n    ".join(places) + "\n  ]" if places else _PLACES
    head, found, tail = rest.partition(_PLACES)
    if not found:  # ``extra`` replaced the places: its own text stands
        return rest + "\n"
    return head + text + tail + "\n"


def place_json(c: CapitalState, pad: str) -> str:
    """``dumps(c.to_dict())`` as it stands ``pad`` deep in an indented answer (its first line not
    indented: the list it is in writes that). Asks the gazetteer in use for the p-code."""
    if c.candidates or c.rivals or c.conflicts:  # changes cited: rare, left to the definition
        return dumps(c.to_dict()).replace("\n", "\n" + pad)
    i = pad + "  "
    j = i + "  "
    k = j + "  "
    q = _quoted
    sources = (
        "[]"
        if not c.sources
        else _listed(
            [
                f'"event": {q(e.id)},\n{k}"file": {q(e.source.file)},\n{k}"quote": {q(e.source.quote)}'
                for e in c.sources
            ],
            i,
        )
    )
    contested = (
        "[]"
        if not c.contested_by
        else _listed(
            [
                f'"actor": {_text(e.actor)},\n{k}"event": {q(e.id)},\n{k}"file": {q(e.source.file)},\n{k}'
                f'"kind": {q(e.kind)},\n{k}"quote": {q(e.source.quote)}'
                for e in c.contested_by
            ],
            i,
        )
    )
    lapsed = (
        "[]"
        if not c.lapsed
        else _listed(
            [
                f'"actor": {_text(e.actor)},\n{k}"event": {q(e.id)},\n{k}"file": {q(e.source.file)},\n{k}'
                f'"kind": {q(e.kind)},\n{k}"lapsed_at": {_text(iso(e.window.latest + c.horizon))},\n{k}'
                f'"quote": {q(e.source.quote)}'
                for e in c.lapsed
            ],
            i,
        )
    )
    possible = "[]"
    if c.possible:
        possible = f"[\n{j}" + f",\n{j}".join(q(p or "(vacated)") for p in c.possible) + f"\n{i}]"
    return (
        f'{{\n{i}"candidates": [],\n{i}"capital": {q(c.capital)},\n{i}"conflicts": [],\n'
        f'{i}"contested_by": {contested},\n{i}"controller": {_text(c.controller)},\n'
        f'{i}"governorate": {q(c.governorate)},\n{i}"lapsed": {lapsed},\n'
        f'{i}"pcode": {_text(pcode_of(c.governorate))},\n{i}"possible_controllers": {possible},\n'
        f'{i}"rivals": [],\n{i}"since": {_text(iso(c.since))},\n'
        f'{i}"since_latest": {_text(iso(c.since_latest))},\n{i}"sources": {sources},\n'
        f'{i}"status": {q(c.status)}\n{pad}}}'
    )


def _listed(items: list[str], pad: str) -> str:
    """A list (``pad`` deep) of objects whose fields' text is ``items`` (written ``pad`` + 6
    spaces deep: each object's own lines)."""
    if not items:
        return "[]"
    j = pad + "  "
    k = j + "  "
    return f"[\n{j}{{\n{k}" + f"\n{j}}},\n{j}{{\n{k}".join(items) + f"\n{j}}}\n{pad}]"


def _text(value: str | None) -> str:
    return "null" if value is None else _quoted(value)
