"""Benchmark: a series of dated control maps imported in one command, and replay on the result.

Run: ``python tests/benchmarks/bench_snapshots.py [--maps 1000] [--places 2000] [--change 0.01]
[--contested 0.005] [--runs 7] [--keep DIR]``. In one run, in a temporary folder, it:

* writes a gazetteer of ``--places`` points (four controllers) and ``--maps`` daily maps of every
  place (GeoJSON files named by date, each place with its controller; each day a share
  ``--change`` of the places changes hands and a share ``--contested`` is contested), reproducibly
  from ``--seed``;
* times ``control gazetteer load`` and then ``control snapshot import FOLDER --source bench`` (the
  whole series, one command: maps x places observations), and a second, identical import (it
  must add nothing);
* times ``control replay --at T`` and ``replay --at T --json`` (T mid-series) on the result
  against the same on the seed store, and on a store of the same places without maps (what any
  answer over that many places costs), interleaved, ``--runs`` each (medians), and prints the
  ratios (the issue's target: at most 2x; the import: under 10 minutes for 1,000 maps of 2,000).

Every command runs as a child process, as a user would run it, with the package byte-compiled.
Not a test: timings belong to this machine.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_scale import child  # the benchmarks' one runner

CONTROL = [sys.executable, "-m", "control"]
CONTROLLERS = ("gov", "north", "south", "east")
BASELINE = datetime(2020, 1, 1, tzinfo=UTC)
FIRST = datetime(2021, 1, 1, tzinfo=UTC)
SEED_AT = "2024-12-06T12:00Z"


def write_inputs(folder: Path, places: int, maps: int, change: float, contested: float, seed: int) -> int:
    """The gazetteer (gazetteer.geojson) and the maps (maps/YYYY-MM-DD.geojson); the number of
    observations."""
    rng = random.Random(f"bench-snapshots:{seed}")
    names = [f"Place {i:05d}" for i in range(places)]
    held = [rng.choice(CONTROLLERS) for _ in names]
    features = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [round(30 + rng.random() * 10, 4), round(30 + rng.random() * 5, 4)],
            },
            "properties": {"name": n, "pcode": f"B{i:05d}", "baseline": held[i]},
        }
        for i, n in enumerate(names)
    ]
    (folder / "gazetteer.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    out = folder / "maps"
    out.mkdir()
    for d in range(maps):
        for i in range(places):
            if rng.random() < change:
                held[i] = rng.choice([c for c in CONTROLLERS if c != held[i]])
        rows = []
        for i, n in enumerate(names):
            props = {"name": n, "controller": held[i]}
            if rng.random() < contested:
                props["status"] = "contested"
                props["contested_by"] = rng.choice([c for c in CONTROLLERS if c != held[i]])
            rows.append({"type": "Feature", "geometry": None, "properties": props})
        when = FIRST + timedelta(days=d)
        (out / f"{when:%Y-%m-%d}.geojson").write_text(
            json.dumps({"type": "FeatureCollection", "features": rows})
        )
    return places * maps


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--maps", type=int, default=1000)
    parser.add_argument("--places", type=int, default=2000)
    parser.add_argument("--change", type=float, default=0.01, help="share of places changing hands a day")
    parser.add_argument("--contested", type=float, default=0.005, help="share of places contested a day")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=7, help="runs of each replay (median)")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--keep", metavar="DIR", help="write the inputs and stores here and keep them")
    parser.add_argument(
        "--replay-only", action="store_true", help="time the replays on the stores a --keep run left in DIR"
    )
    args = parser.parse_args()
    if args.replay_only and not args.keep:
        parser.error("--replay-only needs --keep DIR")

    import control

    compileall.compile_dir(os.path.dirname(control.__file__), quiet=1)
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-snapshots-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CONTROL_WRITE_DEADLINE="60")
    env.pop("CONTROL_STORE", None)

    store = str(work / "snapshots.db")
    seed = str(work / "seed.db")
    places = str(work / "places.db")  # the same places, no maps: what any answer over them costs
    if not args.replay_only:
        started = time.perf_counter()
        observations = write_inputs(work, args.places, args.maps, args.change, args.contested, args.seed)
        print(
            f"inputs: {args.maps} maps of {args.places} places ({observations:,} observations) written in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        load = [*CONTROL, "gazetteer", "load", "gazetteer.geojson", "--baseline-as-of", "2020-01-01T00:00Z"]
        child([*load, "--store", places], env, str(work), args.timeout)
        wall, rss, _ = child([*load, "--store", store], env, str(work), args.timeout)
        print(f"gazetteer load: {wall:.1f} s ({rss:.0f} MiB)", flush=True)
        imp = [*CONTROL, "snapshot", "import", "maps", "--source", "bench", "--store", store]
        wall, rss, out = child(imp, env, str(work), args.timeout)
        rate = f"{observations / wall:,.0f} observations/s"
        print(f"snapshot import (one command): {wall:.1f} s ({rss:.0f} MiB), {rate}")
        print("  " + out.strip(), flush=True)
        wall2, rss2, out2 = child(imp, env, str(work), args.timeout)
        print(f"the same import again: {wall2:.1f} s ({rss2:.0f} MiB): {out2.strip()}", flush=True)

    at = (FIRST + timedelta(days=args.maps // 2, hours=12)).strftime("%Y-%m-%dT%H:%MZ")
    child([*CONTROL, "replay", "--at", SEED_AT, "--store", seed], env, str(work), args.timeout)  # load
    for name, extra in (("replay --at", []), ("replay --at --json", ["--json"])):
        runs = {
            "maps": [*CONTROL, "replay", "--at", at, *extra, "--store", store],
            "places": [*CONTROL, "replay", "--at", at, *extra, "--store", places],
            "seed": [*CONTROL, "replay", "--at", SEED_AT, *extra, "--store", seed],
        }
        walls: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.runs):  # interleaved: the machine's load falls on all alike
            for key, cmd in runs.items():
                walls[key].append(child(cmd, env, str(work), args.timeout)[0])
        a, p, b = (statistics.median(walls[k]) for k in ("maps", "places", "seed"))
        print(
            f"{name}: maps store {a:.3f} s, seed store {b:.3f} s: ratio {a / b:.2f}x (target <= 2x); "
            f"the same places without maps {p:.3f} s ({p / b:.2f}x): the maps add {a / p:.2f}x",
            flush=True,
        )
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
