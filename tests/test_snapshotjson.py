"""``replay --json``'s text written straight from the snapshot (``control.views.snapshotjson``)
is byte for byte the definition, ``to_json(snapshot.to_dict())``: on every state of the seed
record (held, contested, uncertain, conflicting; sources, candidates, rivals, lapsed claims and
conflicts all occur), on generated ledgers with texts a JSON encoder must escape, for places with
and without p-codes, and for a scenario's answer with its extra field."""

from __future__ import annotations

from datetime import timedelta

from helpers.ledgers import BASE, ledgers
from hypothesis import given, settings
from hypothesis import strategies as st

import control
from control.model import gazetteer
from control.model.events import Event, Source
from control.model.times import Window, parse_instant
from control.views.render import to_json
from control.views.snapshotjson import snapshot_json

NASTY = st.text(st.sampled_from('ab "\\\n\t\x00\x1f\u2028é😀{}[],:'), max_size=10)


def test_the_seed_record_at_every_instant(events: list[Event]) -> None:
    seen: set[str] = set()
    start = parse_instant("2024-11-25T00:00Z")
    for step in range(0, 15 * 24, 5):
        at = start + timedelta(hours=step)
        for known_at in (None, at, at + timedelta(days=2)):
            snap = control.replay(events, at, known_at)
            assert snapshot_json(snap) == to_json(snap.to_dict()), (at, known_at)
            for c in snap.capitals:
                seen.add(c.status)
                seen.update(
                    f
                    for f in ("candidates", "rivals", "lapsed", "conflicts", "contested_by")
                    if getattr(c, f)
                )
    # both ways of writing a place ran: straight from the state, and through its dict
    assert {"held", "contested", "uncertain", "candidates", "contested_by"} <= seen


def test_lapsed_claims_rivals_and_conflicts() -> None:
    """What the seed record lacks: a claim that lapsed, rival captures (conflicting), and reports
    of one capture whose windows do not overlap (a conflict)."""
    t = parse_instant("2024-11-28T00:00Z")
    hour = timedelta(hours=1)

    def report(n: str, kind: str, place: str, actor: str, start: int, end: int) -> Event:
        window = Window(t + start * hour, t + end * hour)
        return Event(
            n, kind, place, window, t + (end + 2) * hour, Source(f"{n}.txt", f'"{n}"\n'), actor=actor
        )

    events = [
        *BASE,
        report("claim", "claim", "Homs", "hts", 0, 2),
        report("one", "capture", "Latakia", "hts", 0, 10),
        report("rival", "capture", "Latakia", "sna", 0, 10),
        report("early", "capture", "Tartus", "hts", 0, 2),
        report("late", "capture", "Tartus", "hts", 30, 32),
    ]
    seen: set[str] = set()
    for days in (1, 10):
        snap = control.replay(events, t + timedelta(days=days))
        assert snapshot_json(snap) == to_json(snap.to_dict())
        seen.update(f for c in snap.capitals for f in ("lapsed", "rivals", "conflicts") if getattr(c, f))
    assert seen == {"lapsed", "rivals", "conflicts"}


@settings(max_examples=80, deadline=None)
@given(
    ledgers(),
    st.integers(min_value=-24, max_value=300),
    st.lists(NASTY, min_size=1, max_size=4),
    st.booleans(),
)
def test_generated_ledgers_with_texts_to_escape(
    events: list[Event], hour: int, quotes: list[str], bare: bool
) -> None:
    """Quotes, files and actors with quotes, backslashes, control characters and brackets; with
    ``bare``, a gazetteer whose places have neither p-code nor id (``pcode`` null)."""
    odd = [
        e._replace(source=Source(quotes[i % len(quotes)] or "f", quotes[(i + 1) % len(quotes)]))
        for i, e in enumerate(events)
    ]
    atlas = gazetteer.builtin()
    if bare:
        atlas = atlas.with_places(tuple(p._replace(pcode="", id="") for p in atlas.places))
    at = parse_instant("2024-11-27T00:00Z") + timedelta(hours=hour)
    snap = control.replay([*BASE, *odd], at, gazetteer=atlas)
    assert snapshot_json(snap) == to_json(snap.to_dict())
    assert snapshot_json(snap, {"scenario": quotes[0]}) == to_json(snap.to_dict() | {"scenario": quotes[0]})


def test_an_empty_answer_and_one_narrowed_to_a_place(events: list[Event]) -> None:
    snap = control.replay(events, "2024-12-08T00:00Z")
    for capitals in ((), snap.capitals[:1]):
        narrowed = snap._replace(capitals=capitals, total=len(snap.capitals))
        assert snapshot_json(narrowed) == to_json(narrowed.to_dict())
