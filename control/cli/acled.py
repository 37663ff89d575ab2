"""``control import``: ACLED-style event data (a CSV export) as dated reports in the ledger.

The rows are read and checked first (a malformed file writes nothing); then, under the writer
lock, the ACLED reports already in the ledger are read, the plan is made against them
(control/ingest/acled.py) and appended in one transaction, retried if another writer came first.
"""

from __future__ import annotations

from pathlib import Path

import click

from control.cli import echo_text, note_unrefreshed, now, store_option


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
    type=click.FloatRange(0, 500),
    default=10.0,
    show_default=True,
    help="A row naming no known place is about the nearest place within this distance (as context).",
)
@click.option(
    "--retract-missing",
    is_flag=True,
    help="The file is a whole export of the same scope: ACLED ids in the ledger it no longer holds "
    "are retracted (corrections as of the export's latest timestamp).",
)
@click.option("--dry-run", is_flag=True, help="Print what would be added; write nothing.")
@store_option
def import_(
    file: Path,
    mapping: Path | None,
    deletions: Path | None,
    near_km: float,
    retract_missing: bool,
    dry_run: bool,
    store: str | None,
) -> None:
    """Import an ACLED export: one report per row about territory (capture, handover, or a claim
    flagged for review), report time = ACLED's timestamp. Re-importing adds nothing; a revised
    export adds only its differences (corrections and replacements)."""
    from control.ingest import acled
    from control.model import gazetteer
    from control.model.textio import read_text
    from control.service.sync import open_app
    from control.store.config import RECORD, resolve_store, write_deadline
    from control.store.readmodel import stream_key
    from control.store.retry import retrying
    from control.store.streams import stream_id
    from control.store.writelock import writer_lock

    rows = acled.read_rows(read_text(file, str(file)), str(file))
    if mapping is None:
        actor_map = acled.load_mapping(acled.default_mapping_text(), "acled_actors.toml")
    else:
        actor_map = acled.load_mapping(read_text(mapping, str(mapping)), str(mapping))
    removed = []
    if deletions is not None:
        removed = acled.read_rows(
            read_text(deletions, str(deletions)), str(deletions), acled.DELETION_COLUMNS
        )
    where = resolve_store(store)
    from control.cli import scoped

    app = scoped(open_app(where))  # its gazetteer answers for the command
    clock = now()

    def attempt() -> acled.Plan:
        from control.store.readmodel import REPORT, report_event

        found = app.recorder.query(
            f"SELECT {REPORT} FROM {app.recorder.table} WHERE stream = %s AND file LIKE %s",
            [stream_key(stream_id(RECORD)), acled.PREFIX + "%"],
        )
        existing = [report_event(r) for r in found]
        plan = acled.plan_import(
            rows, actor_map, existing, gazetteer.baseline_as_of(), clock, near_km, removed, retract_missing
        )
        if not dry_run:
            app.append(RECORD, plan.events)
        return plan

    deadline = write_deadline()
    with writer_lock(app.env_settings, deadline, where):
        plan = retrying(app, attempt, where, deadline)
    if not dry_run:
        note_unrefreshed(app, "import")
    lines = [
        f"{'dry run, nothing written: would import' if dry_run else 'import'} {file}: "
        f"{plan.added} added, {plan.corrected} corrected, {plan.unchanged} unchanged, "
        f"{len(plan.skipped)} skipped"
    ]
    lines += [f"  skipped ({reason}): {count}" for reason, count in plan.counts().items()]
    lines += [f"  {s.text()}" for s in plan.skipped if s.reason != "not about territory"]
    reviews = sum(1 for e in plan.events if e.kind == "claim")
    if reviews:
        lines.append(f"  {reviews} row(s) say not who gained: imported as claims, note starts REVIEW")
    if dry_run:
        lines += [f"  would add {e.id}: {e.kind} {e.actor or ''} at {e.place}".rstrip() for e in plan.events]
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


COMMANDS = [import_]
