"""Benchmark: ``control extract`` is linear in the article, in a sentence, and in the gazetteer.

Run: ``python tests/benchmarks/bench_extract.py [--sizes 100k,1M,4M] [--mentions 1000,4000,16000]
[--places 1000,10000] [--cli 1M]``.
In one run it times the extraction rules (in process, the pure function) on generated articles of
the given sizes (the five seeds' lines, each made distinct by a suffix, repeated), on one sentence
naming a place N times ("Rebels seized Hama, Hama, ... on Saturday."), and on a 100 KB article with
a synthetic gazetteer of N places; then ``control extract ARTICLE --published T --json`` as a child
process (package byte-compiled, a fresh store) on an article of the ``--cli`` size. It prints
seconds and the exponent between consecutive sizes (1.0: linear; 2.0: quadratic). Not a test:
timings belong to this machine.
"""

from __future__ import annotations

import argparse
import compileall
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_scale import child, exponent, label, parse_size

PUBLISHED = datetime(2024, 12, 7, 17, tzinfo=UTC)


def article(size: int) -> str:
    """About ``size`` characters of the seeds' lines, each made distinct."""
    from control.ingest.sources import seed_names, seed_text

    lines = [line for name in seed_names() for line in seed_text(name).splitlines() if line.strip()]
    out: list[str] = []
    total = n = 0
    while total < size:
        line = f"{lines[n % len(lines)]} (update {n})\n"
        out.append(line)
        total += len(line)
        n += 1
    return "".join(out)


def timed(text: str, gazetteer: object = None) -> tuple[float, int]:
    from control.ingest import extract as rules
    from control.ingest.record import load_record

    start = load_record().campaign_start
    began = time.perf_counter()
    found = rules.extract(text, PUBLISHED, start, "bench.txt", gazetteer)  # type: ignore[arg-type]
    return time.perf_counter() - began, len(found)


def synthetic_gazetteer(places: int) -> object:
    """The built-in gazetteer's 14 places plus ``places`` made-up ones (names of two words)."""
    from control.model import gazetteer

    base = gazetteer.builtin()
    extra = tuple(
        gazetteer.Governorate(
            f"Town{n} Al-Place{n % 97}", f"Town{n} Al-Place{n % 97}", (f"Twn{n}",), 0.0, 0.0, ""
        )
        for n in range(places)
    )
    return gazetteer.Gazetteer(
        f"bench-{places}", base.baseline_as_of, base.controllers, (*base.places, *extra), focus="government"
    )


def table(title: str, unit: str, rows: list[tuple[int, float, int]]) -> None:
    print(f"\n{title}")
    print(f"{unit:>12} {'seconds':>9} {'candidates':>11} {'exponent':>9}")
    previous: tuple[int, float] | None = None
    for n, seconds, found in rows:
        slope = exponent(previous[0], previous[1], n, seconds) if previous else "-"
        print(f"{label(n):>12} {seconds:>9.3f} {found:>11} {slope:>9}")
        previous = (n, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="100k,1M,4M")
    parser.add_argument("--mentions", default="1000,4000,16000")
    parser.add_argument("--places", default="1000,10000")
    parser.add_argument("--cli", default="1M", help="article size for the child process ('' to skip)")
    args = parser.parse_args()

    timed("Rebels seized Hama on Saturday.")  # the vocabulary, built once, is not what is measured
    rows = []
    for size in [parse_size(s) for s in args.sizes.split(",") if s]:
        seconds, found = timed(article(size))
        rows.append((size, seconds, found))
    table("articles (characters)", "size", rows)

    rows = []
    for count in [int(s) for s in args.mentions.split(",") if s]:
        seconds, found = timed("Rebels seized " + ", ".join(["Hama"] * count) + " on Saturday.")
        rows.append((count, seconds, found))
    table("one sentence naming a place N times", "mentions", rows)

    rows = []
    text = article(100_000)
    for count in [parse_size(s) for s in args.places.split(",") if s]:
        atlas = synthetic_gazetteer(count)
        began = time.perf_counter()
        seconds, found = timed(text, atlas)
        rows.append((count, time.perf_counter() - began, found))
    table("a 100 KB article, gazetteer of N more places (its vocabulary built included)", "places", rows)

    if args.cli:
        size = parse_size(args.cli)
        compileall.compile_dir(str(Path(__file__).parents[2] / "control"), quiet=1)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "article.txt"
            path.write_text(article(size), "utf-8")
            env = {**os.environ, "CONTROL_STORE": str(Path(folder) / "control.db")}
            cmd = [sys.executable, "-m", "control"]
            child([*cmd, "replay"], env, folder, 600)  # the store's first use, not measured
            wall, rss, _ = child(
                [*cmd, "extract", str(path), "--published", "2024-12-08T06:00Z", "--json"], env, folder, 600
            )
        print(f"\ncontrol extract of a {label(size)}-character article: {wall:.2f} s, peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
