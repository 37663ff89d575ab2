"""Benchmark: a gazetteer of many polygons (issue 28): loading it, and what territory costs replay.

Run: ``python tests/benchmarks/bench_shapes.py [--places 2000] [--vertices 40] [--runs 3]``.
In one run it writes a GeoJSON grid of square polygons (each with ``--vertices`` positions and a
population), loads it with ``control gazetteer load`` (checks, geodesic areas, overlaps, the
store), then times ``control replay`` with and without ``--territory`` (text and JSON; child
processes, package byte-compiled) and prints the ratios. Not a test: timings belong to this machine.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONTROL = [sys.executable, "-m", "control"]


def run(args: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run([*CONTROL, *args], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def grid(places: int, vertices: int) -> dict:
    """``places`` squares of 0.1 degree in rows of 50, each ring of ``vertices`` positions."""
    features = []
    for n in range(places):
        x0, y0 = 30 + (n % 50) * 0.1, 30 + (n // 50) * 0.1
        ring = []
        for k in range(vertices):
            t = 4 * k / vertices
            side, f = int(t), t - int(t)
            corners = [(x0 + f * 0.1, y0), (x0 + 0.1, y0 + f * 0.1), (x0 + 0.1 - f * 0.1, y0 + 0.1),
                       (x0, y0 + 0.1 - f * 0.1)]  # fmt: skip
            ring.append([round(corners[side][0], 6), round(corners[side][1], 6)])
        ring.append(ring[0])
        features.append({
            "type": "Feature",
            "properties": {"name": f"P{n:05d}", "pcode": f"X{n:05d}", "baseline": "a" if n % 50 < 25 else "b",
                           "population": 1000 + n},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        })  # fmt: skip
    return {"type": "FeatureCollection", "features": features}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--places", type=int, default=2000)
    parser.add_argument("--vertices", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import control

    compileall.compile_dir(os.path.dirname(control.__file__), quiet=1)
    work = tempfile.mkdtemp(prefix="bench-shapes-")
    source = Path(work, "grid.geojson")
    source.write_text(json.dumps(grid(args.places, args.vertices)), "utf-8")
    store = str(Path(work, "grid.db"))
    load = run(
        ["gazetteer", "load", str(source), "--baseline-as-of", "2024-01-01T00:00Z", "--store", store], work
    )

    def median(extra: list[str]) -> float:
        return statistics.median(run(["replay", *extra, "--store", store], work) for _ in range(args.runs))

    plain, plain_json = median([]), median(["--json"])
    territory, territory_json = median(["--territory"]), median(["--territory", "--json"])
    print(f"Command: python tests/benchmarks/bench_shapes.py {' '.join(sys.argv[1:])}".rstrip())
    print()
    size = source.stat().st_size / 1e6
    print(f"{args.places:,} polygons of {args.vertices} positions ({size:.1f} MB GeoJSON): "
          f"gazetteer load {load:.2f} s")  # fmt: skip
    print()
    print("| replay | seconds | with --territory | ratio |")
    print("|---|---|---|---|")
    print(f"| text | {plain:.2f} | {territory:.2f} | {territory / plain:.2f} |")
    print(f"| JSON | {plain_json:.2f} | {territory_json:.2f} | {territory_json / plain_json:.2f} |")


if __name__ == "__main__":
    main()
