"""Synthetic ledgers: a gazetteer of N places and M reports from a seed, reproducibly.

Pure generation, no store: :func:`synth_gazetteer` and :func:`synth_events` depend only on
``(places, events, seed)`` (the same arguments give the same places, ids, windows, report times
and quotes, on any machine). The reports follow the mix of the seed record: captures, claims,
withdrawals, handovers, denials (some naming the reports they deny), corrections (some of
corrections), statements about the surroundings (``scope = "area"``) or a person, uncertain
windows of minutes to days, and a few reports published long after the fact (backdated).

Every event is valid by construction, as :func:`control.ingest.record.build_event` would have it: the
window lies within baseline..report, a report time is never before the baseline, targets exist
at the same place and were reported no later, ids are unique, and each quote is unique (so no
two reports are the same report). Sources are ``Source(f"synth:{seed}", quote)``: there is no
file to check quotes against, which is why these events never go through ``build_event``.

Reports come in order of report time, one generator, so a million of them are never all in
memory at once.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from control.model.events import Event, Source
from control.model.gazetteer import Gazetteer, Governorate
from control.model.times import Window

#: Where a synthetic record begins and ends (fixed, so nothing depends on today's date).
BASELINE = datetime(2017, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_MINUTES = int((END - BASELINE).total_seconds() // 60)
CONTROLLERS = {
    "government": "The government (synthetic)",
    "rebels-a": "A rebel coalition (synthetic)",
    "rebels-b": "Another rebel coalition (synthetic)",
    "kurds": "Kurdish-led forces (synthetic)",
}
#: Who holds a place at the baseline, with weights; "" is unknown (no baseline event).
BASELINE_MIX = (("government", 60), ("rebels-a", 15), ("rebels-b", 10), ("kurds", 12), ("", 3))
#: The kinds of report, with weights close to the seed record's (handovers added).
KIND_MIX = (
    ("capture", 33),
    ("claim", 26),
    ("withdrawal", 12),
    ("handover", 5),
    ("denial", 10),
    ("correction", 4),
)
#: The coordinates' box (lat, lon): roughly the Levant.
BOX = ((32.3, 37.3), (35.6, 42.4))
MAX_PLACES = 99_999
MAX_EVENTS = 10_000_000


class Recent(NamedTuple):
    """What a later report at the same place may refer to."""

    id: str
    kind: str
    reported: int  # minutes after BASELINE


def place_name(i: int, count: int) -> str:
    """``Place 0001``: zero-padded to at least four digits, so names sort in order."""
    return f"Place {i:0{max(4, len(str(count)))}d}"


def synth_gazetteer(places: int, seed: int) -> Gazetteer:
    """N places in a box, the four synthetic controllers, baselines as of :data:`BASELINE`.

    One place in twenty is an admin level 1 region; the others are level 2, each with a region
    as its parent. Every place has an id (``S00001``), a p-code (``SY-S00001``) and an alias
    (``Place 1``)."""
    if not 1 <= places <= MAX_PLACES:
        raise ValueError(f"places must be 1..{MAX_PLACES}")
    rng = random.Random(f"synth-gazetteer:{seed}:{places}")
    regions = max(1, places // 20)
    names = [place_name(i, places) for i in range(1, places + 1)]
    holders = [c for c, _ in BASELINE_MIX]
    weights = [w for _, w in BASELINE_MIX]
    out = []
    for i, name in enumerate(names, 1):
        region = i <= regions
        out.append(
            Governorate(
                name=name,
                capital=name,
                aliases=(f"Place {i}",),
                lat=round(rng.uniform(*BOX[0]), 4),
                lon=round(rng.uniform(*BOX[1]), 4),
                baseline=rng.choices(holders, weights)[0],
                id=f"S{i:05d}",
                admin_level=1 if region else 2,
                parent="" if region else names[rng.randrange(regions)],
                pcode=f"SY-S{i:05d}",
            )
        )
    return Gazetteer(
        name=f"synth-{seed}",
        baseline_as_of=BASELINE,
        controllers=CONTROLLERS,
        places=tuple(out),
        about=f"Synthetic gazetteer: {places} places, seed {seed} (control synth); not real places.",
    )


def _at(minutes: int) -> datetime:
    return BASELINE + timedelta(minutes=minutes)


def _duration(rng: random.Random) -> int:
    """An occurrence window's length in minutes: exact, hours, a day, days, a week or two."""
    r = rng.random()
    if r < 0.10:
        return 0
    if r < 0.40:
        return rng.randrange(60, 6 * 60 + 1, 15)
    if r < 0.75:
        return rng.choice((12 * 60, 20 * 60, 24 * 60))
    if r < 0.95:
        return rng.randrange(2, 6) * 24 * 60
    return rng.randrange(7, 15) * 24 * 60


def _lag(rng: random.Random) -> tuple[int, bool]:
    """Minutes from a window's end to its report; True for a backdated report (weeks, months)."""
    r = rng.random()
    if r < 0.80:
        return rng.randrange(0, 6 * 60 + 1, 5), False
    if r < 0.97:
        return rng.randrange(6 * 60, 48 * 60 + 1, 30), False
    return rng.randrange(7, 181) * 24 * 60, True


def synth_events(places: int, events: int, seed: int, gazetteer: Gazetteer | None = None) -> Iterator[Event]:
    """``events`` reports over the places of ``synth_gazetteer(places, seed)``, in report order.

    A simulated truth per place (who holds it) drives the mix: captures and handovers are by
    someone other than the holder, from the holder; withdrawals by the holder; a fifth of change
    reports corroborate the place's previous change (same change, another report, overlapping
    window); denials come from the holder and half of them name reports they deny; corrections
    retract a recent report at the place (one in six retracts a correction)."""
    if not 0 <= events <= MAX_EVENTS:
        raise ValueError(f"events must be 0..{MAX_EVENTS}")
    atlas = gazetteer or synth_gazetteer(places, seed)
    rng = random.Random(f"synth-events:{seed}:{places}:{events}")
    names = [p.name for p in atlas.places]
    slugs = [n.lower().replace(" ", "-") for n in names]
    controllers = sorted(atlas.controllers)
    # A few busy places (fronts) take most reports: one in twenty is ten times as active.
    cumulative: list[float] = []
    total = 0.0
    for _ in names:
        total += 10.0 if rng.random() < 0.05 else 1.0
        cumulative.append(total)
    holder: list[str | None] = [p.baseline or None for p in atlas.places]
    recent: list[deque[Recent]] = [deque(maxlen=12) for _ in names]
    last_change: list[tuple[str, str, str | None, int, int] | None] = [None] * len(names)
    kinds = [k for k, _ in KIND_MIX]
    kind_weights = [w for _, w in KIND_MIX]
    file = f"synth:{seed}"
    # Report times spread evenly over the span (after a first day), one slot per report.
    first = 24 * 60
    slot = (SPAN_MINUTES - first) / max(events, 1)
    for n in range(events):
        p = rng.choices(range(len(names)), cum_weights=cumulative)[0]
        name = names[p]
        reported = first + int((n + rng.random()) * slot)
        kind = rng.choices(kinds, kind_weights)[0]
        mine = recent[p]
        if kind == "correction" and not mine:
            kind = "capture"
        event_id = f"{slugs[p]}-{kind}-{n}"
        current = holder[p]
        actor: str | None = None
        previous: str | None = None
        targets: tuple[str, ...] = ()
        scope = "city"
        note = ""
        if kind == "correction":
            corrections = [r for r in mine if r.kind == "correction"]
            others = [r for r in mine if r.kind != "correction"]
            pick = corrections if corrections and (not others or rng.random() < 1 / 6) else others
            target = rng.choice(pick)
            targets = (target.id,)
            window = Window(_at(reported), _at(reported))
            quote = f"Correction: the report {target.id} about {name} was wrong [{event_id}]"
        else:
            corroborates = False
            if kind in ("capture", "withdrawal", "handover"):
                change = last_change[p]
                if change is not None and change[0] == kind and rng.random() < 0.2:
                    corroborates = True
                    _, actor, previous, start, end = change
                    # another report of the same change: its window holds the first one's middle
                    mid = (start + end) // 2
                    earliest = max(mid - _duration(rng) // 2, 1)
                    latest = min(mid + _duration(rng) // 2, reported)
                elif kind == "withdrawal":
                    actor = current or rng.choice(controllers)
                else:
                    actor = rng.choice([c for c in controllers if c != current])
                    previous = current
                    if kind == "handover" and previous is None:
                        previous = rng.choice([c for c in controllers if c != actor])
                if not corroborates and rng.random() < 0.1:
                    scope = "area"
            elif kind == "claim":
                actor = current if current and rng.random() < 0.3 else rng.choice(controllers)
                scope = rng.choices(("city", "area", "person"), (60, 30, 10))[0]
            else:  # denial
                actor = current or rng.choice(controllers)
                scope = rng.choices(("city", "area", "person"), (70, 15, 15))[0]
                deniable = [r for r in mine if r.kind in ("capture", "withdrawal", "handover", "claim")]
                if deniable and rng.random() < 0.5:
                    chosen = rng.sample(deniable, min(len(deniable), rng.choice((1, 1, 2))))
                    targets = tuple(r.id for r in chosen)
            if not corroborates:
                lag, backdated = _lag(rng)
                latest = max(reported - lag, 1)
                earliest = max(latest - _duration(rng), 1)
                if backdated:
                    note = f"reported {(reported - latest) // (24 * 60)} days after the fact"
            window = Window(_at(earliest), _at(latest))
            quote = _quote(kind, actor, previous, name, scope, event_id)
            if kind in ("capture", "withdrawal", "handover") and scope == "city":
                last_change[p] = (kind, actor, previous, earliest, latest)
                holder[p] = actor if kind != "withdrawal" else None
        mine.append(Recent(event_id, kind, reported))
        yield Event(
            id=event_id,
            kind=kind,
            place=name,
            window=window,
            reported_at=_at(reported),
            source=Source(file, quote),
            actor=actor,
            previous=previous,
            targets=targets,
            scope=scope,
            note=note,
        )


VERBS = {
    "capture": "captured",
    "withdrawal": "withdrew from",
    "handover": "took over without a fight",
    "claim": "claimed control of",
    "denial": "denied reports about",
}


def _quote(kind: str, actor: str | None, previous: str | None, name: str, scope: str, event_id: str) -> str:
    where = {"city": name, "area": f"the countryside around {name}", "person": f"a commander in {name}"}[
        scope
    ]
    before = f" from {previous}" if previous and kind in ("capture", "handover") else ""
    return f"{actor} {VERBS[kind]} {where}{before} [{event_id}]"
