"""Benchmark: what `control replay` costs beyond importing its own libraries.

Run: ``python tests/benchmarks/bench_replay.py [--runs N]``. In one run, interleaved, it times
bare python, the import line ``import click, eventsourcing.application, eventsourcing.sqlite``,
and ``control replay --at 2024-12-08T00:00Z`` on an already-loaded SQLite store (the first use,
which loads the record, is timed separately). It prints medians and the ratio replay / import
(target: at most 1.25), and checks that matplotlib is not imported on the replay path.
Not a test: timings belong to this machine, not to CI.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

IMPORT_LINE = "import click, eventsourcing.application, eventsourcing.sqlite"
REPLAY = [sys.executable, "-c", "from control.cli import main; main()", "replay", "--at", "2024-12-08T00:00Z"]


def timed(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument(
        "--no-compile", action="store_true", help="leave the package uncompiled (measures the sources)"
    )
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bench-replay-")
    env = dict(os.environ, CONTROL_STORE=os.path.join(work, "control.db"))
    # Byte-compile the package as any normal install does (this machine sets
    # PYTHONDONTWRITEBYTECODE=1, which would otherwise recompile our sources on every run while
    # the libraries of the import line use their installed .pyc files).
    import control

    package = os.path.dirname(control.__file__)
    if args.no_compile:
        shutil.rmtree(os.path.join(package, "__pycache__"), ignore_errors=True)
    else:
        compileall.compile_dir(package, quiet=1)
    control = shutil.which("control")
    replay = [control, *REPLAY[3:]] if control else REPLAY
    try:
        first = timed(replay, env, work)
        cases = {
            "bare python": [sys.executable, "-c", "pass"],
            "import line": [sys.executable, "-c", IMPORT_LINE],
            "control replay": replay,
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, cmd in cases.items():
                times[name].append(timed(cmd, env, work))
        probe = subprocess.run(
            [sys.executable, "-c", "import sys; from control.cli import main\n"
             "try: main(['replay', '--at', '2024-12-08T00:00Z'])\n"
             "except SystemExit: pass\n"
             "print('matplotlib' in sys.modules, file=sys.stderr)"],
            env=env, cwd=work, capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {name: statistics.median(values) for name, values in times.items()}
    compiled = "uncompiled sources" if args.no_compile else "byte-compiled package"
    print(f"runs: {args.runs} interleaved, medians, {os.cpu_count()} cores, {compiled}")
    for name, value in med.items():
        print(f"  {name:<15} {value * 1000:7.1f} ms")
    print(f"  first use (loads the record into a new store): {first * 1000:.1f} ms")
    ratio = med["control replay"] / med["import line"]
    print(f"ratio replay / import line: {ratio:.2f}  (target <= 1.25: {'OK' if ratio <= 1.25 else 'OVER'})")
    print(f"matplotlib imported by replay: {probe.stderr.strip()}")


if __name__ == "__main__":
    main()
