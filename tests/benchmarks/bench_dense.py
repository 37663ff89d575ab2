"""Benchmark: the fold at depth, many reports per place (issue 25, item 4).

Run: ``python tests/benchmarks/bench_dense.py [--sizes 62.5k 125k 250k 500k 1m] [--budget S] [--keep DIR]``.

For each size it builds a store over the 14 capitals of the built-in gazetteer (the seed record,
then ``size`` synthetic reports appended by ``LedgerApp.append_batches``, then one refresh of the
stored states), ACLED-style: every place's reports are dense (a new change every 1-5 hours), with
day, week and month windows around the true instant; about a third of the reports corroborate
an earlier change (a new window around its true instant, reported later), a few are claims and
denials. So a place's changes chain into long clusters of overlapping windows, and its groups of
reports of one change are large and often in conflict: the cases that were quadratic or worse.

It then times, in child processes (the CLI as a user runs it):

* ``replay --at``: the state at the middle of the ledger (read model),
* ``replay --known-at``: the same with the knowledge of the middle (the pure fold of what was
  known then, every place's reports read),
* ``refresh``: appending one report to every place and refreshing the stored states (each place
  folded again from its reports: the sweep),

and prints each step's growth exponent between consecutive sizes, ``log(t2/t1) / log(n2/n1)``
(target <= 1.15: 1 is linear, 2 quadratic). A step that took longer than ``--budget`` seconds is
not run at the next size. Not a test: timings belong to this machine.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from control.model import gazetteer
from control.model.events import Event, Source
from control.model.times import Window, iso

sys.path.insert(0, str(Path(__file__).parent))
from bench_scale import Timeout, measure, parse_size

ACTORS = ("government", "hts", "sna", "sdf", "southern", "druze")
HOUR = timedelta(hours=1)
#: window widths: a day (half the reports), a week, a month
WIDTHS = ((24 * HOUR, 50), (7 * 24 * HOUR, 35), (30 * 24 * HOUR, 15))


def _width(rnd: random.Random) -> timedelta:
    roll = rnd.randrange(100)
    for width, weight in WIDTHS:
        if roll < weight:
            return width
        roll -= weight
    return WIDTHS[-1][0]


def dense_events(n: int, seed: int = 1, tag: str = "d", epochs: int = 40) -> Iterator[Event]:
    """``n`` reports over the 14 capitals, place after place in turns. Each place changes hands
    ``epochs`` times whatever ``n`` (so its reports per change grow with ``n``, as an ACLED
    export's rows of one force in one city do): in an epoch, the holder's reports come every 1-5
    hours with a day, week or month window around their instant (each joins the epoch's one
    change of control: in conflict, as their windows do not all overlap); about a third instead
    re-report an earlier instant of the epoch; a claim and a denial follow each change (a fixed
    number per change: statements nothing answers are listed as lapsed until a change settles
    them, so more of them per change would make the answers themselves grow). Same arguments,
    same reports."""
    rnd = random.Random(seed)
    as_of = gazetteer.baseline_as_of()
    places = [g.name for g in gazetteer.governorates()]
    per_epoch = max(1, n // (len(places) * epochs))
    holder: dict[str, str | None] = {p: "government" for p in places}
    clock = {p: as_of + 24 * HOUR for p in places}
    count = {p: 0 for p in places}
    gone: dict[str, str] = {}  # who withdrew from a vacated place
    past: dict[str, list[datetime]] = {p: [] for p in places}
    for i in range(n):
        place = places[i % len(places)]
        clock[place] += HOUR * rnd.randint(1, 5)
        now = holder[place]
        count[place] += 1
        roll = rnd.random()
        if count[place] % per_epoch == 0:  # the place changes hands
            past[place] = []
            true, previous = clock[place], now
            if now is not None and rnd.random() < 0.15:
                kind, actor, holder[place] = "withdrawal", now, None
                gone[place] = now
            else:
                kind, actor = "capture", rnd.choice([a for a in ACTORS if a != now])
                holder[place] = actor
        elif count[place] % per_epoch in (1, 2):  # a claim and a denial after each change
            statement = ("claim", "denial")[count[place] % per_epoch - 1]
            true, kind, actor, previous = clock[place], statement, rnd.choice(ACTORS), None
        elif roll < 0.40 and past[place]:  # a further report of an earlier instant
            true, kind, actor, previous = rnd.choice(past[place]), "capture", now, None
        else:
            true, kind, actor, previous = clock[place], "capture", now, None
        if now is None and kind == "capture":  # vacated: reports of the withdrawal
            kind, actor = "withdrawal", gone[place]
        if kind in ("capture", "withdrawal") and previous is None:
            past[place].append(true)
        width = _width(rnd)
        start = max(as_of, true - width * rnd.random())
        window = Window(start, max(start, true) + (width - (true - start)) * rnd.random())
        reported = window.latest + HOUR * rnd.randint(0, 48)
        yield Event(
            id=f"{tag}{i}",
            kind=kind,
            place=place,
            window=window,
            reported_at=reported,
            source=Source("dense.txt", f"report {tag}{i}"),
            actor=actor,
            previous=previous,
        )


def build(path: str, n: int) -> tuple[float, datetime, datetime]:
    """A store at ``path``: the seed record, ``n`` dense reports, states refreshed. Returns the
    seconds taken, the middle of the ledger's occurrence time and its last report time."""
    from control.service.sync import open_app
    from control.store.config import RECORD
    from control.store.writelock import writer_lock

    started = time.perf_counter()
    app = open_app(path)  # the seed record loaded
    batch: list[Event] = []
    first = last = None

    def batches() -> Iterator[list[Event]]:
        nonlocal batch, first, last
        for e in dense_events(n):
            first = e.window.earliest if first is None else min(first, e.window.earliest)
            last = e.reported_at if last is None else max(last, e.reported_at)
            batch.append(e)
            if len(batch) >= 50_000:
                yield batch
                batch = []
        if batch:
            yield batch

    with writer_lock(app.env_settings, time.monotonic() + 600, path):
        app.append_batches(RECORD, batches())
        app.refresh_states()
    assert first is not None and last is not None
    return time.perf_counter() - started, first + (last - first) / 2, last


def child(cmd: list[str], env: dict[str, str], cwd: str, timeout: float) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process; Timeout past ``timeout``. CPU time is
    what the exponents are computed from: on a shared machine the wall clock grows with the
    others' load, the CPU time with the work."""
    done = measure(cmd, env, cwd, timeout)
    return done.wall, done.cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["62.5k", "125k", "250k", "500k", "1m"])
    parser.add_argument("--budget", type=float, default=300.0, help="seconds a step may take")
    parser.add_argument("--keep", help="keep the stores in this directory")
    args = parser.parse_args()
    sizes = [parse_size(s) for s in args.sizes]
    work = args.keep or tempfile.mkdtemp(prefix="bench-dense-")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("CONTROL_STORE", None)
    exe = [sys.executable, "-m", "control"]
    steps = ("replay --at", "replay --known-at", "refresh")
    results: dict[str, list[tuple[int, float, float]]] = {s: [] for s in steps}
    skip: set[str] = set()
    try:
        for n in sizes:
            path = os.path.join(work, f"dense-{n}.db")
            if os.path.exists(path):
                os.remove(path)
            built, middle, last = build(path, n)
            print(f"{n:>9,} reports: store built in {built:.1f} s", flush=True)
            at = ["replay", "--store", path, "--at", iso(middle)]
            runs = {"replay --at": [*exe, *at], "replay --known-at": [*exe, *at, "--known-at", iso(middle)]}
            for step, cmd in runs.items():
                if step in skip:
                    continue
                try:
                    child(cmd, env, work, args.budget)  # warm the cache
                    wall, cpu = min(child(cmd, env, work, args.budget) for _ in range(2))
                except Timeout:
                    print(f"  {step}: over {args.budget:.0f} s", flush=True)
                    skip.add(step)
                    continue
                results[step].append((n, wall, cpu))
                print(f"  {step}: {wall:.3f} s ({cpu:.3f} s CPU)", flush=True)
            if "refresh" not in skip:
                wall, cpu = refresh_after_append(path, last, n)
                results["refresh"].append((n, wall, cpu))
                print(f"  refresh: {wall:.3f} s ({cpu:.3f} s CPU)", flush=True)
                if wall > args.budget:
                    skip.add("refresh")
            if not args.keep:
                os.remove(path)
        print("\ngrowth exponents of the CPU time (wall clock in brackets; target <= 1.15):")
        for step in steps:
            pairs = results[step]
            exps = [
                f"{math.log(c2 / c1) / math.log(n2 / n1):.2f} ({math.log(w2 / w1) / math.log(n2 / n1):.2f})"
                for (n1, w1, c1), (n2, w2, c2) in itertools.pairwise(pairs)
                if min(c1, c2, w1, w2) > 0
            ]
            print(f"  {step:<18} {', '.join(exps) or 'n/a'}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def refresh_after_append(path: str, last: datetime, n: int) -> tuple[float, float]:
    """Seconds (wall, CPU of this process) to append one report to each of the 14 places and
    refresh their stored states (14 places: folded in this process, no worker)."""
    from control.service.sync import open_app
    from control.store.config import RECORD
    from control.store.writelock import writer_lock

    app = open_app(path)
    extra = [
        Event(
            id=f"extra-{n}-{i}",
            kind="claim",
            place=g.name,
            window=Window(last, last),
            reported_at=last + HOUR,
            source=Source("dense.txt", f"extra {n} {i}"),
            actor="hts",
        )
        for i, g in enumerate(gazetteer.governorates())
    ]
    with writer_lock(app.env_settings, time.monotonic() + 600, path):
        app.append_batches(RECORD, [extra])
        wall, cpu = time.perf_counter(), time.process_time()
        app.refresh_states()
        return time.perf_counter() - wall, time.process_time() - cpu


if __name__ == "__main__":
    main()
