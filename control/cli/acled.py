"""``control import``: ACLED-style event data (a CSV export) as dated reports in the ledger.

Before any write the whole file is read once and checked (a malformed line is one error naming
``file:line``, and nothing is written), and ``--suggest-mapping``'s path is checked against every
input and the store. Then, under the writer lock, the ACLED reports already in the ledger are
read, and the rows are planned (control/ingest/acled.py) and appended as they stream: in batches,
each one transaction (an import interrupted midway is completed by running it again: the same
rows give the same ids), then the places touched are refreshed once. ``--retract-missing``
plans the whole file before writing anything, so a refusal writes nothing. A progress bar shows
on a terminal's stderr, and nothing when it is not a terminal.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from control.cli import echo_text, note_unrefreshed, now, progress, store_option
from control.model.errors import UserError

if TYPE_CHECKING:
    from control.ingest.acled import Importer
    from control.model.events import Event

#: Reports per transaction: 10,000 appends 200,000 rows as fast as synth's 50,000 and holds a
#: fifth of the memory in flight (a batch being encoded, one being inserted).
BATCH = 10_000
#: Reports a dry run lists (it counts them all).
LISTED_EVENTS = 10_000
#: Unknown actors listed on stderr (all go to --suggest-mapping's file).
LISTED_ACTORS = 30


class NearKm(click.ParamType):
    """A distance in km: a finite number above 0, at most 500."""

    name = "KM"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            km = float(value)
        except (TypeError, ValueError):
            self.fail(f"{str(value)[:200]!r} is not a number of km (e.g. 10)", param, ctx)
        if not math.isfinite(km) or km <= 0 or km > 500:
            self.fail(f"{str(value)[:200]!r}: give a distance above 0 and at most 500 km", param, ctx)
        return km


def _batches(events: Iterator[Event], size: int) -> Iterator[list[Event]]:
    chunk: list[Event] = []
    for event in events:
        chunk.append(event)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _actors_line(counts: dict[str, int], limit: int) -> str:
    from control.model.text import shown

    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    text = ", ".join(f"{shown(name)} ({n})" for name, n in top[:limit])
    return text + (f", and {len(top) - limit} more" if len(top) > limit else "")


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Actor mapping (TOML) instead of the default control/ingest/acled_actors.toml.",
)
@click.option(
    "--deletions",
    type=click.Path(dir_okay=False, path_type=Path),
    help="ACLED's deletions list (CSV: event_id_cnty, deleted_timestamp): each becomes a correction.",
)
@click.option(
    "--near-km",
    type=NearKm(),
    default=10.0,
    show_default=True,
    help="A row naming no known place is about the nearest place within this distance in km (as "
    "context): above 0, at most 500.",
)
@click.option(
    "--retract-missing",
    is_flag=True,
    help="The file is a whole export of the same scope: ACLED ids in the ledger it no longer holds "
    "are retracted (corrections as of the latest timestamp among the rows the import accepts).",
)
@click.option(
    "--suggest-mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a ready-to-edit actor mapping (the mapping used, plus every actor it does not name, "
    "with its row count) to this file, for --mapping.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be added; write nothing to the store.")
@store_option
def import_(
    file: Path,
    mapping: Path | None,
    deletions: Path | None,
    near_km: float,
    retract_missing: bool,
    suggest_mapping: Path | None,
    dry_run: bool,
    store: str | None,
) -> None:
    """Import an ACLED export: one report per row about territory (capture, handover, or a claim
    flagged for review), report time = ACLED's timestamp. Re-importing adds nothing; a revised
    export adds only its differences (corrections and replacements)."""
    from control.cli import guarded
    from control.ingest import acled
    from control.model.textio import read_text
    from control.store.config import resolve_store
    from control.views.files import check_output

    where = resolve_store(store)
    keep = guarded(store, ("FILE", file), ("--mapping", mapping), ("--deletions", deletions))
    if suggest_mapping is not None:  # before any work: never the store, never an input
        check_output(suggest_mapping, "--suggest-mapping", keep)
    if mapping is None:
        actor_map = acled.load_mapping(acled.default_mapping_text(), "acled_actors.toml")
    else:
        actor_map = acled.load_mapping(read_text(mapping, str(mapping)), str(mapping))
    removed: list[tuple[int, dict[str, str]]] = []
    if deletions is not None:
        removed = list(acled.read_rows(deletions, str(deletions), acled.DELETION_COLUMNS))
    try:
        size = os.stat(file).st_size
    except OSError:  # missing, or a name the system refuses: check_file says which, in one line
        size = 0
    with progress(f"import: checking {file.name}", size, counts=False) as bar:
        acled.check_file(file, str(file), progress=bar.update if bar is not None else None)

    started = time.perf_counter()
    importer, timings = run_import(
        file, actor_map, removed, deletions, near_km, retract_missing, dry_run, where, size
    )
    plan = importer.plan
    timings["total"] = time.perf_counter() - started
    if os.environ.get("CONTROL_IMPORT_TIMINGS"):  # for tests/benchmarks/bench_import.py
        click.echo("timings " + json.dumps(timings), err=True)

    if suggest_mapping is not None:
        from control.views.files import write_atomically

        text = acled.suggested_mapping(actor_map, plan.unknown_actors, plan.unknown_inter)
        write_atomically(
            suggest_mapping, lambda temp: Path(temp).write_text(text, "utf-8"), "--suggest-mapping", keep
        )
    if plan.imported_nothing_for_actors():
        wrote = f"; a mapping to fill in written to {str(suggest_mapping)!r}" if suggest_mapping else ""
        raise UserError(
            f"{file}: nothing imported: {plan.skip_counts['unknown actor']} row(s) about territory name no "
            f"actor in the actor mapping ({len(plan.unknown_actors)} actor(s), by rows: "
            f"{_actors_line(plan.unknown_actors, 5)}); "
            f"map them with --mapping (--suggest-mapping FILE writes one to edit){wrote}"
        )
    report(file, plan, importer, dry_run, suggest_mapping)


def run_import(
    file: Path,
    actor_map: Any,
    removed: list[tuple[int, dict[str, str]]],
    deletions: Path | None,
    near_km: float,
    retract_missing: bool,
    dry_run: bool,
    where: str,
    size: int,
) -> tuple[Importer, dict[str, float]]:
    """Plan and append the import under the writer lock (retried if a writer came first); the
    importer (its plan) and the seconds spent reading the ledger, planning, appending and
    refreshing the stored states."""
    from control.cli import scoped
    from control.ingest import acled
    from control.service.sync import open_app
    from control.store.config import RECORD, write_deadline
    from control.store.readmodel import stream_key
    from control.store.retry import retrying
    from control.store.streams import stream_id
    from control.store.writelock import writer_lock

    app = scoped(open_app(where))  # its gazetteer answers for the command
    clock = now()
    timings: dict[str, float] = {}
    holder: list[Importer] = []

    def attempt() -> Importer:
        mark = time.perf_counter()
        found = app.recorder.query_iter(  # streamed: a re-import of a million rows reads them in pages
            f"SELECT report FROM {app.recorder.table} WHERE stream = %s AND file LIKE %s",
            [stream_key(stream_id(RECORD)), acled.PREFIX + "%"],
        )
        existing = (acled.Known.from_report(json.loads(r[0])) for r in found)
        deleting = {row.get("event_id_cnty", "").strip() for _, row in removed}
        atlas = app.gazetteer
        importer = acled.Importer(
            actor_map, existing, atlas.baseline_as_of, clock, near_km, retract_missing, atlas.zone, deleting
        )
        holder[:] = [importer]
        timings["read ledger"] = time.perf_counter() - mark

        def planned(bar: Any) -> Iterator[Event]:
            def step(n: int) -> None:
                if bar is not None:
                    bar.update(n)

            rows = acled.read_rows(file, str(file), progress=step)
            yield from importer.rows(rows)
            yield from importer.deletions(removed, str(deletions) if deletions else "")
            if retract_missing:
                refusal = importer.retract_missing_refusal(str(file))
                if refusal:
                    raise UserError(refusal)
            yield from importer.finish()

        mark = time.perf_counter()
        with progress(f"import: {file.name}", size, counts=False) as bar:
            events = planned(bar)
            if dry_run:  # listed: the first LISTED_EVENTS (all are counted)
                listed = importer.plan.events
                for event in events:
                    if len(listed) < LISTED_EVENTS:
                        listed.append(event)
                timings["plan"] = time.perf_counter() - mark
            elif retract_missing:  # the whole plan first: a refusal writes nothing
                whole = list(events)
                timings["plan"] = time.perf_counter() - mark
                mark = time.perf_counter()
                for batch in _batches(iter(whole), BATCH):
                    app.append(RECORD, batch, refresh=False)
                timings["append"] = time.perf_counter() - mark
            else:  # a writer process inserts each batch while the next is planned and encoded
                batches = _batches(events, BATCH)
                first = next(batches, None)  # nothing to add: nothing written, not even a stream's head
                if first is not None:
                    app.append_batches(RECORD, itertools.chain([first], batches))
                timings["plan + append"] = time.perf_counter() - mark
        return importer

    deadline = write_deadline()
    with writer_lock(app.env_settings, deadline, where):
        importer = retrying(app, attempt, where, deadline)
    timings["peak MiB before the fold"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not dry_run and (importer.plan.added or importer.plan.corrected):
        mark = time.perf_counter()
        if sys.stderr.isatty():
            click.echo("import: folding the places touched ...", err=True)
        with writer_lock(app.env_settings, write_deadline(), where):  # one fold per place, at the end
            app.refresh_states()
        timings["refresh"] = time.perf_counter() - mark
        note_unrefreshed(app, "import")
    return importer, timings


def report(file: Path, plan: Any, importer: Any, dry_run: bool, suggest_mapping: Path | None) -> None:
    lines = [
        f"{'dry run, nothing written: would import' if dry_run else 'import'} {file}: "
        f"{plan.added} added, {plan.corrected} corrected, {plan.unchanged} unchanged, "
        f"{plan.skipped_total} skipped"
    ]
    lines += [f"  skipped ({reason}): {count}" for reason, count in plan.counts().items()]
    lines += [f"  {s.text()}" for s in plan.skipped]
    listed = len(plan.skipped) + plan.skip_counts["not about territory"]
    if plan.skipped_total > listed:
        lines.append(f"  ... and {plan.skipped_total - listed} more skipped row(s) not listed")
    if plan.claims:
        lines.append(f"  {plan.claims} row(s) say not who gained: imported as claims, note starts REVIEW")
    if dry_run:
        lines += [f"  would add {e.id}: {e.kind} {e.actor or ''} at {e.place}".rstrip() for e in plan.events]
        more = plan.added + plan.corrected - len(plan.events)
        if more > 0:
            lines.append(f"  ... and {more} more report(s) not listed")
    if plan.retracted_missing:
        lines.append(
            f"  {len(plan.retracted_missing)} ACLED id(s) no longer in the export retracted "
            "(--retract-missing)"
        )
    elif plan.missing:
        shown = ", ".join(plan.missing[:10]) + (" ..." if len(plan.missing) > 10 else "")
        lines.append(
            f"  {len(plan.missing)} ACLED id(s) in the ledger are not in this file ({shown}): not "
            "retracted (give ACLED's deletions list with --deletions to retract deleted rows)"
        )
    else:
        lines.append(
            "  rows missing from a revised export are not retracted (use --deletions FILE, or "
            "--retract-missing for a whole export of the same scope)"
        )
    echo_text("\n".join(lines) + "\n")
    if plan.unknown_actors:
        from control.views.render import terminal_safe

        wrote = (
            f"written to {str(suggest_mapping)!r} to fill in"
            if suggest_mapping
            else "--suggest-mapping FILE writes them to fill in"
        )
        click.echo(
            terminal_safe(
                f"import: {len(plan.unknown_actors)} actor(s) not in the actor mapping, by rows skipped "
                f"({wrote}): {_actors_line(plan.unknown_actors, LISTED_ACTORS)}"
            ),
            err=True,
        )


COMMANDS = [import_]
