"""Benchmark: where the stored states' refresh spends its time, per report, on one store.

Run: ``python tests/benchmarks/bench_refresh.py STORE [--sample 400] [--runs 2] [--whole]``.
``STORE`` is a synthetic store (``control synth``, or one kept by ``bench_scale.py --keep``).
In this process, with the collector set as the refresh sets it, on the first ``--sample``
places, each run times, in µs per report folded:

* ``read``: reading and decoding the places' reports (``deciding_events``),
* ``sweep``: their states and moves in one sweep (``place_states_and_transitions``),
* ``encode``: the rows stored of them (``encoded_rows``).

Runs alternate, so that the machine's drift falls on every step alike; the medians are printed.
With ``--whole`` it then marks every place dirty and times the refresh itself
(``LedgerApp.refresh_states``: worker processes, the writer), with the writer's and the workers'
CPU seconds. That rewrites the store's states: use a copy. Not a test: timings belong to this
machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from control.fold.phases import place_states_and_transitions
from control.model import gazetteer
from control.service.sync import open_app
from control.store import placereads, statecodec, states
from control.store.readmodel import DIRTY, fewer_collections


def one_run(app: object, places: list[gazetteer.Governorate]) -> dict[str, float]:
    """Seconds spent in each step over ``places``, a chunk of :data:`placereads.FOLD_CHUNK` at a time."""
    spent = {"read": 0.0, "sweep": 0.0, "encode": 0.0, "reports": 0.0}
    seat = gazetteer.DEFAULT_SEAT
    with fewer_collections():
        for i in range(0, len(places), placereads.FOLD_CHUNK):
            start = time.perf_counter()
            found = list(
                placereads.deciding_events(app, states.RECORD_KEY, places[i : i + placereads.FOLD_CHUNK])
            )
            spent["read"] += time.perf_counter() - start
            start = time.perf_counter()
            folded = [
                (g, *place_states_and_transitions(g, mine, states.FLOOR, states.CEIL, seat))
                for g, mine in found
            ]
            spent["sweep"] += time.perf_counter() - start
            start = time.perf_counter()
            statecodec.encoded_rows(states.RECORD_KEY, folded)
            spent["encode"] += time.perf_counter() - start
            spent["reports"] += sum(len(mine) for _, mine in found)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", help="a synthetic store (SQLite file or PostgreSQL URL)")
    parser.add_argument("--sample", type=int, default=400, help="places timed step by step")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument(
        "--whole", action="store_true", help="then time the whole refresh (rewrites the states)"
    )
    args = parser.parse_args()
    app = open_app(args.store, sync=False)
    with gazetteer.using(app.bound_gazetteer()):
        places = list(gazetteer.governorates())
        runs = [one_run(app, places[: args.sample]) for _ in range(args.runs)]
        reports = runs[0]["reports"]
        print(
            f"{len(places[: args.sample])} places, {int(reports):,} reports folded; "
            f"medians of {args.runs} runs"
        )
        per = {k: statistics.median(r[k] for r in runs) / reports * 1e6 for k in ("read", "sweep", "encode")}
        print(
            " | ".join(f"{k} {v:.1f} µs" for k, v in per.items()),
            f"| total {sum(per.values()):.1f} µs per report",
        )
        if args.whole:
            marks = [(states.RECORD_KEY, g.name) for g in places]
            name = app.recorder.name(DIRTY)
            app.recorder.execute_script([], (f"INSERT INTO {name} (stream, place) VALUES (%s, %s)", marks))
            before, start = os.times(), time.perf_counter()
            app.refresh_states()
            wall, after = time.perf_counter() - start, os.times()
            writer = after.user + after.system - before.user - before.system
            workers = (
                after.children_user + after.children_system - before.children_user - before.children_system
            )
            print(
                f"refresh of {len(places)} places: {wall:.1f} s; "
                f"writer {writer:.1f} CPU-s, workers {workers:.1f} CPU-s"
            )


if __name__ == "__main__":
    main()
