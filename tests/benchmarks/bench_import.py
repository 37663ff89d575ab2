"""Benchmark: ``control import`` of an ACLED-style export at real size (target: 200,000 rows, about
78 MB with all ACLED's columns, in at most 5 minutes under 1 GiB).

Run: ``python tests/benchmarks/bench_import.py [--rows 200k] [--keep DIR] [--reimport] [--dry-run]
[--without-fold] [--skip-import]``.

It writes a reproducible ACLED-style CSV (:func:`write_export`: every column of an ACLED export,
rows over the built-in gazetteer's 14 capitals and towns around them, day/week/month precision,
several rows per change of control, actor names in ACLED's spellings and variants of them), a
store seeded with the record, then times ``control import`` as a child process (wall seconds,
peak RSS of the importing process via ``os.wait4``), with the command's own split
(``CONTROL_IMPORT_TIMINGS``): reading the ledger's ACLED reports, planning + appending (parse,
validate, match, dedup, encode and insert: pipelined, a writer process inserting one batch while
the next is planned), and the refresh of the stored states (the fold of every place touched).
``--dry-run`` adds a plan-only run (no append, no refresh) on a fresh store; ``--without-fold``
adds an import whose refresh of the stored states is left out (the places stay marked dirty):
the importer's own part (parse, validate, match, dedup, append) alone, at any size (the fold
grows with the depth of each place, and is control/fold's and control/store/states.py's).
``--reimport`` adds a second import of the same file (every row unchanged: the dedup).
``--skip-import`` leaves out the whole import (with --without-fold: measure only that).
Not a test: timings belong to this machine.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import json
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_scale import Timeout, measure

from control.ingest.acled import EXPORT_COLUMNS as COLUMNS

CONTROL = [sys.executable, "-m", "control"]
WITHOUT_FOLD = [sys.executable, "-c", (
    "import sys; from control.store.ledger import LedgerApp; LedgerApp.refresh_states = lambda self: 0; "
    "from control.cli import cli; cli.main(sys.argv[1:], prog_name='control')"
)]  # fmt: skip
#: The built-in gazetteer's capitals: (admin1 as ACLED spells it, capital, latitude, longitude).
PLACES = (
    ("Damascus", "Damascus", 33.5138, 36.2765), ("Rural Damascus", "Douma", 33.5711, 36.4022),
    ("Aleppo", "Aleppo", 36.2021, 37.1343), ("Idleb", "Idleb", 35.9306, 36.6339),
    ("Hama", "Hama", 35.1318, 36.7578), ("Homs", "Homs", 34.7324, 36.7137),
    ("Lattakia", "Lattakia", 35.5317, 35.7901), ("Tartous", "Tartous", 34.8890, 35.8866),
    ("Dar'a", "Dar'a", 32.6189, 36.1021), ("As-Sweida", "As-Sweida", 32.7090, 36.5695),
    ("Quneitra", "Quneitra", 33.1250, 35.8237), ("Deir-ez-Zor", "Deir-ez-Zor", 35.3359, 40.1408),
    ("Ar-Raqqa", "Ar-Raqqa", 35.9528, 39.0079), ("Al-Hasakeh", "Al-Hasakeh", 36.5024, 40.7477),
)  # fmt: skip
#: controller -> (ACLED actor spellings, inter code words)
ACTORS = {
    "government": (("Military Forces of Syria (2000-2024)", "NDF: National Defense Forces"), "State forces"),
    "hts": (("Hayat Tahrir al-Sham", "Hayat Tahrir al Sham", "HTS: Hayat Tahrir al-Sham",
             "Military Operations Command"), "Rebel group"),
    "sna": (("Syrian National Army", "Syrian National Army - Sultan Murad Division",
             "SNA: Syrian National Army"), "Rebel group"),
    "sdf": (("SDF: Syrian Democratic Forces", "Deir ez-Zor Military Council"), "Rebel group"),
    "southern": (("Southern Operations Room", "Eighth Brigade"), "Rebel group"),
    "druze": (("Men of Dignity", "Rijal al-Karama"), "Identity militia"),
}  # fmt: skip
#: time_precision 1 (day), 2 (week), 3 (month): weights about those of ACLED's exports, mostly
#: days (--mix 60,20,20 gives a harder fold: every wide window overlaps many changes).
MIX = (85, 10, 5)
START = datetime(2024, 11, 26, tzinfo=UTC)
END = datetime(2026, 6, 1, tzinfo=UTC)
WORDS = (
    "forces", "entered", "the", "town", "after", "clashes", "with", "local", "fighters", "and",
    "took", "control", "of", "checkpoints", "around", "its", "centre", "reports", "said", "residents",
)  # fmt: skip


def write_export(path: Path, rows: int, seed: int = 1, mix: tuple[int, ...] = MIX) -> int:
    """An ACLED-style export of ``rows`` rows (all about territory); its size in bytes."""
    rng = random.Random(seed)
    span = (END - START).total_seconds()
    per_place = max(1, rows // len(PLACES))
    written = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(COLUMNS)
        for p, (admin1, capital, lat, lon) in enumerate(PLACES):
            holder = "government"
            count = per_place if p < len(PLACES) - 1 else rows - written
            changes = max(1, count // 4)
            for c in range(changes):
                gainer = rng.choice([k for k in ACTORS if k != holder])
                when = START + timedelta(seconds=span * (c + rng.random()) / changes)
                reports = 4 if c < changes - 1 else count - 4 * (changes - 1)
                for r in range(reports):
                    written += 1
                    precision = rng.choices((1, 2, 3), mix)[0]
                    in_town = rng.random() < 0.3
                    if gainer == "government":
                        sub = "Government regains territory"
                    elif rng.random() < 0.15:
                        sub = "Non-violent transfer of territory"
                    else:
                        sub = "Non-state actor overtakes territory"
                    names, inter = ACTORS[gainer]
                    lost_names, lost_inter = ACTORS[holder]
                    actor1, actor2 = rng.choice(names), rng.choice(lost_names)
                    inter2 = lost_inter
                    if sub == "Non-violent transfer of territory":
                        actor2, inter2 = "", ""
                    stamp = min(when + timedelta(days=rng.uniform(0.2, 9)), END)
                    notes = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5)))
                    out.writerow((
                        f"SYR{written}", when.strftime("%d %B %Y"), when.year, precision,
                        "Political violence", "Strategic developments", sub, actor1, "", inter,
                        actor2, "", inter2, f"{inter}-{inter2}", 760, "Middle East", "Syria", admin1,
                        f"{capital} district", f"{capital} subdistrict",
                        f"Town {c % 50}" if in_town else capital,
                        f"{lat + (rng.uniform(-0.05, 0.05) if in_town else 0):.4f}",
                        f"{lon + (rng.uniform(-0.05, 0.05) if in_town else 0):.4f}",
                        2 if in_town else 1, f"Wire {r % 7}; Local Monitor {r % 3}", "National-Regional",
                        f"On {when:%d %B %Y}, {names[0]} {notes} ({r + 1} of {reports}).",
                        0, "", int(stamp.timestamp()),
                    ))  # fmt: skip
                holder = gainer
    return path.stat().st_size


def child(cmd: list[str], env: dict[str, str], cwd: str, timeout: float) -> tuple[float, float, str, str]:
    """(wall seconds, peak RSS in MiB, stdout, stderr) of one child process."""
    done = measure(cmd, env, cwd, timeout)
    return done.wall, done.rss_mib, done.stdout, done.stderr


def timings(stderr: str) -> dict[str, float]:
    line = next((x for x in stderr.splitlines() if x.startswith("timings ")), "timings {}")
    return json.loads(line.removeprefix("timings "))


def parse_size(text: str) -> int:
    text = text.strip().lower()
    return int(float(text.rstrip("km")) * {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="200k")
    parser.add_argument("--keep", help="keep the export and the store in this folder")
    parser.add_argument("--reimport", action="store_true", help="also time a second import (all unchanged)")
    parser.add_argument("--dry-run", action="store_true", help="also time a plan-only run (no append)")
    parser.add_argument("--without-fold", action="store_true", help="also time the import without the fold")
    parser.add_argument("--skip-import", action="store_true", help="leave out the whole import")
    parser.add_argument("--mix", default=",".join(map(str, MIX)), help="weights of time_precision 1,2,3")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        run(args, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace, folder: Path) -> None:
    rows = parse_size(args.rows)
    compileall.compile_dir(str(Path(__file__).resolve().parents[2] / "control"), quiet=1)
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / f"acled-{rows}.csv"
    started = time.perf_counter()
    size = write_export(export, rows, mix=tuple(int(w) for w in args.mix.split(",")))
    took = time.perf_counter() - started
    print(
        f"export: {rows:,} rows (time_precision mix {args.mix}), {size / 1e6:.1f} MB ({took:.1f} s to write)"
    )
    env = {**os.environ, "CONTROL_IMPORT_TIMINGS": "1"}
    env.pop("CONTROL_STORE", None)

    def fresh(name: str) -> str:
        store = str(folder / name)
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(store + suffix).unlink(missing_ok=True)
        child([*CONTROL, "replay", "--store", store], env, str(folder), args.timeout)
        return store

    def show(what: str, wall: float, rss: float, stderr: str) -> None:
        split = ", ".join(f"{k} {v:.1f}{'' if 'MiB' in k else ' s'}" for k, v in timings(stderr).items())
        rate = f"{rows / wall:,.0f} rows/s"
        print(f"{what}: {rows:,} rows in {wall:.1f} s ({rate}), peak RSS {rss:.0f} MiB; {split}")

    def timed(what: str, command: list[str]) -> bool:
        """Run and show one import; False if it ran past --timeout (shown as >T)."""
        try:
            wall, rss, out, err = child(command, env, str(folder), args.timeout)
        except Timeout:
            print(f"{what}: {rows:,} rows: >{args.timeout:.0f} s (stopped)")
            return False
        show(what, wall, rss, err)
        print("  " + out.splitlines()[0])
        return True

    if args.dry_run:
        timed(
            "import --dry-run (plan only)",
            [*CONTROL, "import", str(export), "--dry-run", "--store", fresh("dry.db")],
        )
    if args.without_fold:
        what = "import without the fold (parse, validate, match, dedup, append)"
        command = [*WITHOUT_FOLD, "import", str(export), "--store", fresh("nofold.db")]
        if timed(what, command) and args.reimport:
            timed("re-import without the fold (all unchanged: the dedup)", command)
    if not args.skip_import:
        store = fresh("control.db")
        command = [*CONTROL, "import", str(export), "--store", store]
        if timed("import", command) and args.reimport:
            timed("re-import (all unchanged)", command)
    print(f"files in {folder}" if args.keep else "(--keep DIR keeps the export and the stores)")


if __name__ == "__main__":
    main()
