"""Random ledgers for the property tests, shared by the files that check the fold (and the stored
states and read model against it): a few reports at three places with corrections (``ledgers``), and
denser ones on a small hour grid (``grid_ledgers``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from control.ingest.record import baseline_events
from control.model.events import Event, Source
from control.model.gazetteer import baseline_as_of
from control.model.times import Window, parse_instant

START = parse_instant("2024-11-27T00:00Z")
BASE = baseline_events(baseline_as_of())
HOUR = timedelta(hours=1)
ACTORS = ("government", "hts", "sna")

# ---- a few reports at three places, some corrected ------------------------------------------

PLACES = ("Latakia", "Tartus", "Homs")
KINDS = ("capture", "capture", "handover", "withdrawal", "denial", "claim")
HOURS = st.integers(min_value=0, max_value=240)


@st.composite
def reports(draw: Any, n: int) -> Event:
    kind = draw(st.sampled_from(KINDS))
    place = draw(st.sampled_from(PLACES))
    start = START + timedelta(hours=draw(HOURS))
    length = timedelta(hours=draw(st.integers(min_value=0, max_value=72)))
    reported = start + length + timedelta(hours=draw(st.integers(min_value=0, max_value=48)))
    scope = draw(st.sampled_from(("city", "city", "city", "area", "person")))
    return Event(
        id=f"e{n}",
        kind=kind,
        place=place,
        actor=draw(st.sampled_from(ACTORS)),
        window=Window(start, start + length),
        reported_at=reported,
        source=Source("gen.txt", f"quote {n}"),  # unique content: nothing ties but the id
        scope=scope if kind in ("denial", "claim") else draw(st.sampled_from(("city", "city", "area"))),
    )


@st.composite
def ledgers(draw: Any) -> list[Event]:
    count = draw(st.integers(min_value=1, max_value=14))
    events = [draw(reports(n)) for n in range(count)]
    for n in range(draw(st.integers(min_value=0, max_value=3))):  # corrections, some of corrections
        target = draw(st.sampled_from(events))
        at = target.reported_at + timedelta(hours=draw(st.integers(min_value=0, max_value=48)))
        events.append(
            Event(
                id=f"c{n}",
                kind="correction",
                place=target.place,
                window=Window(at, at),
                reported_at=at,
                source=Source("gen.txt", f"correction {n}"),
                targets=(target.id,),
            )
        )
    return events


INSTANTS = st.integers(min_value=-24, max_value=400).map(lambda h: START + timedelta(hours=h))


# ---- denser ledgers on a small hour grid ------------------------------------------------------

GRID_PLACES = ("Latakia", "Tartus", "Damascus", "Rif Dimashq")
GRID_KINDS = ("capture", "capture", "handover", "withdrawal", "withdrawal", "denial", "claim")


@st.composite
def grid_ledgers(draw: Any, places: tuple[str, ...] = GRID_PLACES, most: int = 24) -> list[Event]:
    """Few actors and small hour grids: many recaptures, overlaps, empty windows, conflicts."""
    count = draw(st.integers(min_value=1, max_value=most))
    events: list[Event] = []
    for n in range(count):
        kind = draw(st.sampled_from(GRID_KINDS))
        start = START + HOUR * draw(st.integers(min_value=-30, max_value=120))
        length = HOUR * draw(st.sampled_from((0, 0, 1, 3, 12, 24, 48)))
        reported = start + length + HOUR * draw(st.integers(min_value=0, max_value=30))
        targets: tuple[str, ...] = ()
        if kind == "denial" and events and draw(st.booleans()):
            targets = (draw(st.sampled_from(events)).id,)
        scope = draw(st.sampled_from(("city", "city", "city", "area", "person")))
        events.append(
            Event(
                id=f"e{n}",
                kind=kind,
                place=draw(st.sampled_from(places)),
                actor=draw(st.sampled_from(ACTORS)),
                window=Window(max(start, START - 20 * HOUR), start + length),
                reported_at=reported,
                source=Source("gen.txt", f"quote {n}"),
                scope=scope
                if kind in ("denial", "claim")
                else draw(st.sampled_from(("city",) * 5 + ("area",))),
                targets=targets,
            )
        )
    for n in range(draw(st.integers(min_value=0, max_value=3))):
        target = draw(st.sampled_from(events))
        at = target.reported_at + HOUR * draw(st.integers(min_value=0, max_value=24))
        events.append(
            Event(
                f"c{n}",
                "correction",
                target.place,
                Window(at, at),
                at,
                Source("g", f"c{n}"),
                targets=(target.id,),
            )
        )
    return events
