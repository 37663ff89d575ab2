"""Benchmark: the cost curve of the pure fold on synthetic in-memory ledgers.

Run: ``python tests/benchmarks/bench_fold.py [--sizes 10000 100000 1000000] [--budget S]``.
For each size it builds a reproducible synthetic ledger over the 14 capitals (Event objects in
memory: captures, withdrawals, handovers, denials, claims, corrections of corrections, uncertain
and conflicting windows, several actors, report times after the windows) and times

* ``decode``: ``Event.from_dict`` of every event's stored form (the read path per event),
* ``replay``: ``replay(events, at=T)`` at the middle of the ledger,
* ``replay-k``: the same with ``known_at`` at the middle (an older knowledge),
* ``transitions``: every change of control,
* ``holdings``: the holdings chart series over the whole ledger,

then the growth exponent between consecutive sizes, ``log(t2 / t1) / log(n2 / n1)`` (goal:
<= 1.1; 1 is linear, 2 quadratic). A step that took longer than ``--budget`` seconds is not run
at the next size. Not a test: timings belong to this machine, not to CI.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import random
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from control.ingest.record import baseline_events
from control.model import gazetteer
from control.model.events import Event, Source
from control.model.times import Window

ACTORS = ("government", "hts", "sna", "sdf", "southern", "druze")


def synthetic(n: int, seed: int = 1) -> list[Event]:
    """``n`` reports (plus the 14 baselines) over the capitals, in episodes of one true change
    each: 1-4 reports of it (some conflicting), statements around it, corrections now and then."""
    rnd = random.Random(seed)
    as_of = gazetteer.baseline_as_of()
    base = baseline_events(as_of)
    places = [g.name for g in gazetteer.governorates()]
    holder = {e.place: e.actor for e in base}
    clock = {p: as_of + timedelta(hours=rnd.randint(1, 48)) for p in places}
    ids: dict[str, list[str]] = {p: [] for p in places}
    out: list[Event] = []
    hour = timedelta(hours=1)

    def add(kind: str, place: str, window: Window, reported: datetime, **more: Any) -> None:
        eid = f"{place[:3].lower()}-{kind}-{len(out)}"
        out.append(Event(eid, kind, place, window, reported, Source("synth.txt", f"q{len(out)}"), **more))
        ids[place].append(eid)

    while len(out) < n:
        place = rnd.choice(places)
        clock[place] += timedelta(minutes=rnd.randint(2 * 60, 24 * 60))
        true = clock[place]
        now = holder[place]
        roll = rnd.random()
        if roll < 0.15 and now is not None:
            kind, actor, new = "withdrawal", now, None
        elif roll < 0.25:
            kind, actor = "handover", rnd.choice(ACTORS)
            new = actor
        else:
            kind, actor = "capture", rnd.choice([a for a in ACTORS if a != now])
            new = actor
        for _ in range(rnd.choice((1, 1, 2, 2, 3, 4))):
            shape = rnd.random()
            if shape < 0.5:  # "on Saturday": the day
                start = true - hour * rnd.randint(0, 23)
                window = Window(start, start + 24 * hour)
            elif shape < 0.8:  # precise
                start = true - hour * rnd.randint(0, 2)
                window = Window(start, true + hour * rnd.randint(0, 2))
            elif shape < 0.95:  # "by report": wide
                window = Window(true - hour * rnd.randint(24, 72), true + hour * rnd.randint(1, 6))
            else:  # a report that disagrees (a conflict)
                start = true + hour * rnd.randint(25, 40)
                window = Window(start, start + 12 * hour)
            reported = window.latest + hour * rnd.randint(0, 30)
            scope = "area" if rnd.random() < 0.05 else "city"
            add(kind, place, window, reported, actor=actor, previous=now, scope=scope)
        holder[place] = new
        for _ in range(rnd.choice((0, 0, 1, 2))):
            when = true + hour * rnd.randint(-30, 30)
            window = Window(when, when + hour * rnd.randint(0, 12))
            reported = window.latest + hour * rnd.randint(0, 12)
            skind = rnd.choice(("denial", "claim"))
            scope = rnd.choice(("city", "city", "city", "person", "area"))
            targets = (rnd.choice(ids[place][-8:]),) if skind == "denial" and rnd.random() < 0.5 else ()
            add(skind, place, window, reported, actor=rnd.choice(ACTORS), scope=scope, targets=targets)
        if rnd.random() < 0.04 and ids[place]:
            target = rnd.choice(ids[place][-20:])
            at = max(e.reported_at for e in out[-20:]) + hour
            add("correction", place, Window(at, at), at, targets=(target,))
            if rnd.random() < 0.2:  # a correction of the correction
                at += hour
                add("correction", place, Window(at, at), at, targets=(ids[place][-1],))
    return base + out[:n]


def timed(step: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def main() -> None:
    from control.fold.projection import replay, transitions
    from control.views.chartdata import holdings_series

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--budget", type=float, default=120.0, help="seconds; slower steps stop growing")
    parser.add_argument("--only", nargs="*", help="steps to run (default: all)")
    args = parser.parse_args()
    results: dict[str, dict[int, float]] = {}
    over: set[str] = set()
    for n in args.sizes:
        events = synthetic(n)
        ends = [e.reported_at for e in events]
        first, last = min(e.window.earliest for e in events), max(ends)
        middle = first + (last - first) / 2
        stored = [e.to_dict() for e in events]
        steps: dict[str, Callable[[], object]] = {
            "decode": lambda stored=stored: [Event.from_dict(d) for d in stored],
            "replay": lambda events=events, middle=middle: replay(events, middle),
            "replay-k": lambda events=events, middle=middle: replay(events, middle, known_at=middle),
            "transitions": lambda events=events: transitions(events),
            "holdings": lambda events=events, first=first, last=last: holdings_series(events, first, last),
        }
        print(f"n = {n:>9,} events ({last.year - first.year} years of reports)", flush=True)
        for name, step in steps.items():
            if args.only and name not in args.only:
                continue
            if name in over:
                print(f"  {name:<12} skipped (over budget at a smaller size)", flush=True)
                continue
            seconds = timed(step)
            results.setdefault(name, {})[n] = seconds
            print(f"  {name:<12} {seconds:9.3f} s  ({seconds / n * 1e6:6.1f} us/event)", flush=True)
            if seconds > args.budget:
                over.add(name)
        del events, stored
    print("\ngrowth exponents (log t2/t1 / log n2/n1; goal <= 1.1):")
    for name, by_size in results.items():
        sizes = sorted(by_size)
        parts = [
            f"{a:,}->{b:,}: {math.log(by_size[b] / by_size[a]) / math.log(b / a):.2f}"
            for a, b in itertools.pairwise(sizes)
        ]
        print(f"  {name:<12} {'  '.join(parts) or '(one size)'}")
    print(f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
