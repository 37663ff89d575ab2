"""Benchmark: the batched append against eventsourcing's own batched save, alternated.

Run: ``python tests/benchmarks/bench_append.py [--size 1M] [--places 2000] [--runs 3]``.
Each run writes two fresh SQLite stores, one after the other, in a temporary folder: the
library's ``Application.save`` of plain aggregate events with the same reports' payloads (the
baseline of ``bench_scale.py``), then the same reports through ``LedgerApp.append_batches`` and
the states' refresh (``bench_scale.py``'s append). It prints each run's rates and ratios, then
their medians. Alternating the two on fresh stores lets the machine's drift fall on both alike;
``bench_scale.py`` runs them after ``synth`` has just written a store of the same size. Not a
test: timings belong to this machine.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import sys
import tempfile

from bench_scale import APPEND, BASELINE_SAVE, BATCH, child, parse_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1M", help="reports (10k, 100k, 1M)")
    parser.add_argument("--places", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    n = parse_size(args.size)

    import control

    compileall.compile_dir(os.path.dirname(control.__file__), quiet=1)
    common = [str(args.places), str(n), str(args.seed), BATCH]
    ratios: dict[str, list[float]] = {"append/save": [], "+ refresh/save": []}
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-append-") as work:
            save = float(run_child(BASELINE_SAVE, os.path.join(work, "save.db"), common, work).split()[0])
            text = run_child(APPEND, os.path.join(work, "append.db"), common, work)
            append, refresh = map(float, text.split())
        ratios["append/save"].append(save / append)
        ratios["+ refresh/save"].append(save / (append + refresh))
        print(
            f"run {run + 1}: save {n / save:,.0f} ev/s; append {append:.1f} s ({n / append:,.0f} rep/s), "
            f"refresh {refresh:.1f} s; append/save {save / append:.2f}, + refresh/save "
            f"{save / (append + refresh):.2f}",
            flush=True,
        )
    print(
        f"{args.size} reports, {args.places} places, medians of {args.runs} runs: "
        + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in ratios.items())
    )


def run_child(script: str, store: str, args: list[str], work: str) -> str:
    """The standard output of ``script`` run on ``store`` (``bench_scale.child``: no timeout here)."""
    return child([sys.executable, "-c", script, store, *args], dict(os.environ), work, float("inf"))[2]


if __name__ == "__main__":
    main()
