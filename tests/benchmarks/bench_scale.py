"""Benchmark: what a whole conflict's ledger costs, against the seed record and the library itself.

Run: ``python tests/benchmarks/bench_scale.py [--sizes 10k,100k,1M] [--places 2000] [--runs 3]``.
In one run, for each size, in a temporary folder (``--keep DIR`` keeps the stores), it:

* writes a synthetic SQLite store with ``control synth`` (reports/s, whole command: making the
  reports, appending them, folding every place at the end), the same reports' payloads as plain
  eventsourcing aggregate events saved with the library's own ``Application.save`` on the same
  kind of store, a file made as the project makes its own (8 KiB pages) (events/s): the
  baseline; and the same reports appended through ``LedgerApp.append_batches``, synth's path
  (reports/s: events, read-model rows and dirty marks in each batch's transaction, a writer
  process inserting each batch while the caller encodes the next; made outside the timer, as
  the baseline's payloads), then the states' refresh (timed apart). All three write batches of
  50k per transaction;
* times ``control replay --at T`` (T mid-record; every place, read from the stored states)
  and ``replay --at T --place P`` (one place's answer) against the same on the seed store
  (ratios), adding one report with ``control add`` against the same on the seed store,
  ``replay --known-at`` (an earlier knowledge: folded place by place from the read model), the
  holdings chart over five years (from the stored states), and ``control rebuild``;
* times a full pass in a fresh process, store opened (``LedgerApp.read()`` + the fold at the end)
  against eventsourcing's ``recorder.select_events`` + ``mapper.to_domain_event`` alone (ratio),
  and ``control events --json``;
* records each child process's peak memory (``ru_maxrss`` via ``os.wait4``);
* prints the cost curve: the growth exponent between consecutive sizes (1 = linear, 2 = n²).

Every command runs as a child process, as a user would run it, with the package byte-compiled.
A command that runs past ``--timeout`` seconds is stopped and shown as ``>T``. Not a test:
timings belong to this machine.
"""

from __future__ import annotations

import argparse
import compileall
import itertools
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

CONTROL = [sys.executable, "-m", "control"]
SEED_AT = "2024-12-08T00:00Z"
SYNTH_AT = "2020-07-01T00:00Z"  # mid-record of a synthetic ledger (2017-2023)
SYNTH_END = "2024-01-01T00:00Z"
SYNTH_KNOWN = "2021-01-01T00:00Z"
#: Reports per transaction for synth, the append and the baseline's save alike (synth's default).
BATCH = "50000"
PG_SAVE_BATCH = "5000"

BASELINE_SAVE = r"""
import sys, time
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from control.ingest.synth import synth_events
from control.store.config import LOCK_TIMEOUT, store_env
from control.store.readmodel import prepare_sqlite

path, places, count, seed, batch = sys.argv[1], *map(int, sys.argv[2:6])
env = store_env(path)  # a SQLite file or a PostgreSQL schema, with the library's own recorders
env.pop("APPLICATION_RECORDER_TOPIC")
if "SQLITE_DBNAME" in env:  # the same file format as the project's stores (8 KiB pages): the
    prepare_sqlite(path, LOCK_TIMEOUT)  # library's save gains from it too (about 6% at 1M)

class Plain(Aggregate):
    class Reported(Aggregate.Event):
        report: dict
        recorded_at: str

    def report(self, report, recorded_at):
        self.trigger_event(self.Reported, report=report, recorded_at=recorded_at)

class Baseline(Application):
    pass

payloads = [e.report_dict() for e in synth_events(places, count, seed)]
app = Baseline(env=env)
start = time.perf_counter()
plain = Plain()
for i in range(0, len(payloads), batch):
    for report in payloads[i : i + batch]:
        plain.report(report, "2024-01-01T00:00:00Z")
    app.save(plain)
print(time.perf_counter() - start)
"""

APPEND = r"""
import sys, time
from control.ingest.synth import synth_events, synth_gazetteer
from control.service.sync import bind_gazetteer, open_app
from control.store.config import RECORD

store, places, count, seed, batch = sys.argv[1], *map(int, sys.argv[2:6])
atlas = synth_gazetteer(places, seed)
app = open_app(store, sync=False)
bind_gazetteer(app, atlas, f"synth:{seed}")
events = list(synth_events(places, count, seed, atlas))  # made outside the timer, as the baseline's
chunks = [events[i : i + batch] for i in range(0, len(events), batch)]
start = time.perf_counter()
app.append_batches(RECORD, chunks)
appending = time.perf_counter() - start
start = time.perf_counter()
app.refresh_states()
print(appending, time.perf_counter() - start)
"""

FULL_PASS = r"""
import sys, time
from control.service.sync import open_app
from control.model.times import parse_instant
app = open_app(sys.argv[1], sync=False)
from control.fold.projection import replay
start = time.perf_counter()
events = app.read()
snap = replay(events, parse_instant(sys.argv[2]))
print(time.perf_counter() - start, len(events))
"""

LIBRARY_DECODE = r"""
import sys, time
from control.service.sync import open_app
from control.store.streams import stream_id
app = open_app(sys.argv[1], sync=False)
import control.store.domain  # the event classes the mapper decodes into
start = time.perf_counter()
decoded = [app.mapper.to_domain_event(s) for s in app.recorder.select_events(stream_id("record"))]
print(time.perf_counter() - start, len(decoded))
"""


class Timeout(Exception):
    pass


def fresh_schema(url: str, schema: str) -> str:
    """A PostgreSQL store address on an empty schema of its own."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"drop schema if exists {schema} cascade")
        con.execute(f"create schema {schema}")
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


class Measured(NamedTuple):
    """One child process: wall seconds, CPU seconds (user + system), peak RSS in MiB, output."""

    wall: float
    cpu: float
    rss_mib: float
    stdout: str
    stderr: str


def measure(cmd: list[str], env: dict[str, str], cwd: str, timeout: float) -> Measured:
    """Run one child process (the benchmarks' one runner); Timeout past ``timeout``, and a
    RuntimeError with the end of its stderr if it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err)
        # a blocking wait (a poll every few ms would add up to its period to each wall time)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        if wall > timeout:
            proc.returncode = -9
            raise Timeout
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {stderr[-2000:]}")
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout, stderr)


def child(cmd: list[str], env: dict[str, str], cwd: str, timeout: float) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB, stdout) of one child process (:func:`measure`)."""
    done = measure(cmd, env, cwd, timeout)
    return done.wall, done.rss_mib, done.stdout


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def exponent(n1: int, t1: float | None, n2: int, t2: float | None) -> str:
    if not t1 or not t2 or n1 == n2:
        return "-"
    return f"{math.log(t2 / t1) / math.log(n2 / n1):.2f}"


def fmt(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    return f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated report counts (10k,100k,1M)")
    parser.add_argument("--places", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="runs of each timed command (median)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds any one command may take")
    parser.add_argument("--keep", metavar="DIR", help="write the stores here and keep them")
    parser.add_argument(
        "--postgres", metavar="URL", help="put the synthetic stores in PostgreSQL (a schema per size)"
    )
    args = parser.parse_args()
    sizes = sorted({parse_size(s) for s in args.sizes.split(",") if s.strip()})

    import control

    compileall.compile_dir(os.path.dirname(control.__file__), quiet=1)
    work = args.keep or tempfile.mkdtemp(prefix="bench-scale-")
    Path(work).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CONTROL_WRITE_DEADLINE="60")
    env.pop("CONTROL_STORE", None)
    article = Path(work, "article.txt")
    article.write_text(
        "".join(f"Synthetic wire report {i:04d}: fighters claimed the town.\n" for i in range(1000))
    )
    counter = iter(range(1000))

    def add_cmd(store: str, synthetic: bool) -> list[str]:
        quote = f"Synthetic wire report {next(counter):04d}"
        where = (
            ["--place", "Place 0001", "--actor", "rebels-a", "--earliest", "2023-12-31T00:00Z",
             "--latest", "2023-12-31T06:00Z", "--reported-at", "2024-01-01T00:00Z"]
            if synthetic
            else ["--place", "Homs", "--actor", "hts", "--when", "by report",
                  "--reported-at", "2024-12-08T06:00Z"]
        )  # fmt: skip
        return [
            *CONTROL,
            "add",
            "--kind",
            "claim",
            *where,
            "--file",
            str(article),
            "--quote",
            quote,
            "--store",
            store,
        ]

    def timed(make: object, runs: int) -> tuple[float | None, float]:
        """Median wall time of ``runs`` runs and the peak RSS (MiB) of any of them."""
        walls, peak = [], 0.0
        for _ in range(runs):
            cmd = make() if callable(make) else make
            try:
                wall, rss, _ = child(cmd, env, work, args.timeout)
            except Timeout:
                return None, peak
            walls.append(wall)
            peak = max(peak, rss)
        return statistics.median(walls), peak

    # the seed record in the same kind of store as the synthetic ones (ratios like for like)
    seed_store = fresh_schema(args.postgres, "bench_seed") if args.postgres else str(Path(work, "seed.db"))
    child([*CONTROL, "replay", "--at", SEED_AT, "--store", seed_store], env, work, args.timeout)  # load it
    seed_replay, seed_replay_rss = timed(
        [*CONTROL, "replay", "--at", SEED_AT, "--store", seed_store], args.runs
    )
    seed_add, seed_add_rss = timed(lambda: add_cmd(seed_store, False), args.runs)
    seed_place, _ = timed(
        [*CONTROL, "replay", "--at", SEED_AT, "--place", "Homs", "--store", seed_store], args.runs
    )
    print(
        f"seed store (117 events): replay --at {fmt(seed_replay)} ({seed_replay_rss:.0f} MiB), "
        f"add 1 report {fmt(seed_add)} ({seed_add_rss:.0f} MiB), replay --place {fmt(seed_place)}",
        flush=True,
    )

    rows = []
    for n in sizes:
        store = str(Path(work, f"synth-{label(n)}.db"))
        base_store = str(Path(work, f"plain-{label(n)}.db"))
        if args.postgres:
            store = fresh_schema(args.postgres, f"bench_{label(n).lower()}")
        for path in (str(Path(work, f"synth-{label(n)}.db")), base_store):
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(path + suffix).unlink(missing_ok=True)
        row: dict[str, object] = {"n": n}
        synth_cmd = [
            *CONTROL,
            "synth",
            "--places",
            str(args.places),
            "--events",
            str(n),
            "--seed",
            str(args.seed),
        ]
        try:
            row["synth"], row["synth_rss"], _ = child([*synth_cmd, "--store", store], env, work, args.timeout)
        except Timeout:
            row["synth"] = None
            rows.append(row)
            print(f"{label(n)}: synth took more than {args.timeout:.0f} s; stopped", flush=True)
            break
        if args.postgres:
            base_store = fresh_schema(args.postgres, f"bench_plain_{label(n).lower()}")
        cmd = [
            sys.executable,
            "-c",
            BASELINE_SAVE,
            base_store,
            str(args.places),
            str(n),
            str(args.seed),
            # eventsourcing's save on PostgreSQL (its explicit pipeline) was seen to stall for good
            # with 10k events a batch (server in PARSE, client waiting): 5k is its largest here
            PG_SAVE_BATCH if args.postgres else BATCH,
        ]
        try:
            _, row["save_rss"], text = child(cmd, env, work, args.timeout)
            row["save"] = float(text.split()[0])
        except Timeout:
            row["save"] = None
        # the same reports appended through LedgerApp.append_batches (events, read-model rows and
        # dirty marks in each batch's transaction, a writer process), then the states' refresh
        append_store = str(Path(work, f"append-{label(n)}.db"))
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(append_store + suffix).unlink(missing_ok=True)
        if args.postgres:
            append_store = fresh_schema(args.postgres, f"bench_append_{label(n).lower()}")
        cmd = [sys.executable, "-c", APPEND, append_store, str(args.places), str(n), str(args.seed), BATCH]
        try:
            _, row["append_rss"], text = child(cmd, env, work, args.timeout)
            row["append"], row["refresh"] = map(float, text.split())
        except Timeout:
            row["append"] = row["refresh"] = None
        row["replay"], row["replay_rss"] = timed(
            [*CONTROL, "replay", "--at", SYNTH_AT, "--store", store], args.runs
        )
        row["add"], row["add_rss"] = timed(lambda store=store: add_cmd(store, True), args.runs)
        row["place"], row["place_rss"] = timed(
            [*CONTROL, "replay", "--at", SYNTH_AT, "--place", "Place 0002", "--store", store], args.runs
        )
        row["known"], row["known_rss"] = timed(
            [*CONTROL, "replay", "--at", SYNTH_AT, "--known-at", SYNTH_KNOWN, "--json", "--store", store], 1
        )
        row["chart"], row["chart_rss"] = timed(
            [*CONTROL, "chart", "holdings", "--from", "2018-01-01T00:00Z", "--to", "2022-12-31T00:00Z",
             "--out", str(Path(work, "holdings.png")), "--store", store],
            1,
        )  # fmt: skip
        row["rebuild"], row["rebuild_rss"] = timed([*CONTROL, "rebuild", "--store", store], 1)
        for key, script, at in (("full", FULL_PASS, [SYNTH_END]), ("select", LIBRARY_DECODE, [])):
            try:
                _, row[f"{key}_rss"], text = child(
                    [sys.executable, "-c", script, store, *at], env, work, args.timeout
                )
                row[key] = float(text.split()[0])
            except Timeout:
                row[key], row[f"{key}_rss"] = None, None
        row["events"], row["events_rss"] = timed([*CONTROL, "events", "--json", "--store", store], 1)
        rows.append(row)
        print(f"{label(n)}: done ({row})", flush=True)

    def rate(row: dict, key: str) -> float | None:
        value = row.get(key)
        return row["n"] / value if value else None

    print()
    print(f"Command: {' '.join(['python', 'tests/benchmarks/bench_scale.py', *sys.argv[1:]])}")
    kind = "PostgreSQL schemas" if args.postgres else "SQLite stores"
    print(f"Synthetic {kind}, {args.places} places, seed {args.seed}; medians of {args.runs} runs;")
    print(f"seed store: replay --at {fmt(seed_replay)}, add 1 report {fmt(seed_add)}.")
    print()
    print(
        "| reports | es save ev/s | append rep/s | append/save | + refresh rep/s | /save | synth rep/s "
        "| synth/save | replay --at | x seed | --place | x seed | add 1 | x seed | --known-at "
        "| chart 5 y | rebuild | full pass | select+decode | full/select | events --json |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        synth_rate, save_rate, append_rate = rate(row, "synth"), rate(row, "save"), rate(row, "append")
        both = (
            row["n"] / (row["append"] + row["refresh"]) if row.get("append") and row.get("refresh") else None
        )

        def ratio(key: str, seed: float | None, row: dict = row) -> str:
            return f"{row[key] / seed:.2f}x" if row.get(key) and seed else "-"

        cells = [
            label(row["n"]),
            fmt(save_rate, "n"),
            fmt(append_rate, "n"),
            f"{append_rate / save_rate:.2f}" if append_rate and save_rate else "-",
            fmt(both, "n"),
            f"{both / save_rate:.2f}" if both and save_rate else "-",
            fmt(synth_rate, "n"),
            f"{synth_rate / save_rate:.2f}" if synth_rate and save_rate else "-",
            fmt(row.get("replay")),
            ratio("replay", seed_replay),
            fmt(row.get("place")),
            ratio("place", seed_place),
            fmt(row.get("add")),
            ratio("add", seed_add),
            fmt(row.get("known")),
            fmt(row.get("chart")),
            fmt(row.get("rebuild")),
            fmt(row.get("full")),
            fmt(row.get("select")),
            f"{row['full'] / row['select']:.1f}x" if row.get("full") and row.get("select") else "-",
            fmt(row.get("events")),
        ]
        print("| " + " | ".join(cells) + " |")
    print()
    print("Peak memory (MiB, ru_maxrss of each child process):")
    print()
    print(
        "| reports | synth | es save | append | replay --at | --place | add 1 | --known-at | chart | rebuild "
        "| full pass | select+decode | events --json |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        keys = (
            "synth_rss", "save_rss", "append_rss", "replay_rss", "place_rss", "add_rss", "known_rss",
            "chart_rss", "rebuild_rss", "full_rss", "select_rss", "events_rss",
        )  # fmt: skip
        print("| " + " | ".join([label(row["n"]), *(fmt(row.get(k), "n") for k in keys)]) + " |")
    if len(rows) > 1:
        print()
        print("Growth exponents between sizes (time ~ n^k; 1 = linear, 0 = flat):")
        print()
        print(
            "| sizes | synth | es save | append | replay --at | --place | add 1 | --known-at | chart "
            "| rebuild | full pass | select+decode | events --json |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for a, b in itertools.pairwise(rows):
            keys = (
                "synth",
                "save",
                "append",
                "replay",
                "place",
                "add",
                "known",
                "chart",
                "rebuild",
                "full",
                "select",
                "events",
            )
            cells = [exponent(a["n"], a.get(k), b["n"], b.get(k)) for k in keys]  # type: ignore[arg-type]
            print(f"| {label(a['n'])} -> {label(b['n'])} | " + " | ".join(cells) + " |")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
