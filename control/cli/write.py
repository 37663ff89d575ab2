"""``control add`` and ``control rebuild``: the write commands, loaded only when used (their many
options cost every other command's start-up nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from control.cli import TIME_HELP, echo_text, note_unrefreshed, now, open_store, scoped, store_option
from control.model import gazetteer
from control.model.errors import UserError


@click.command()
@click.option(
    "--toml",
    "toml_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read [[event]] tables from this file instead of options.",
)
@click.option(
    "--kind",
    type=click.Choice(["capture", "withdrawal", "handover", "denial", "claim", "correction"]),
)
@click.option("--place", help="Capital or governorate (any alias).")
@click.option("--actor", help="Who acts: " + ", ".join(gazetteer.CONTROLLERS) + ".")
@click.option("--from", "previous", help="Previous controller (capture, handover).")
@click.option("--when", help="The report's words: Saturday, last week, December 6, by report ...")
@click.option("--earliest", help="Window start instead of --when. " + TIME_HELP)
@click.option("--latest", help="Window end (exclusive) instead of --when.")
@click.option("--not-before", help="Lower bound on the window.")
@click.option(
    "--reported-at",
    help="When the report became known (its publication), or 'now'. Required unless --file is a "
    "seed (whose publication time the record knows).",
)
@click.option("--file", "source_file", help="Source: a seed file name or a text file path.")
@click.option("--quote", help="Exact words from the source file.")
@click.option("--target", "targets", multiple=True, help="Event id denied or retracted (repeatable).")
@click.option(
    "--scope",
    type=click.Choice(["city", "area", "person"]),
    default=None,
    help="city (default), area (context) or person (a statement about a person: contests nothing).",
)
@click.option("--id", "event_id", help="Event id (default: <place>-<kind>-<n>).")
@click.option("--note", help="Editor's note.")
@store_option
def add(toml_file: Path | None, store: str | None, **options: Any) -> None:
    """Append new report(s) to the record: validated first, nothing written on any error."""
    from control.model.tomlfile import TomlFile
    from control.service.validation import add_reports

    app = open_store(store)
    if toml_file is not None:
        given = [k for k, v in options.items() if v not in (None, ())]
        if given:
            raise UserError(f"--toml: give reports either in the file or as options, not both ({given[0]})")
        source = TomlFile(toml_file, _read(toml_file))
        tables = source.items("event")
        if not tables:
            raise UserError(f"{toml_file}:1: no [[event]] tables")
        added = add_reports(app, tables, now(), str(toml_file), source, toml_file.parent, _store(store))
    else:
        table = _options_table(options)
        added = add_reports(app, [table], now(), "options", store=_store(store))
    for e in added:
        echo_text(f"added {e.id}: {e.kind} {e.actor or ''} at {e.place}\n".replace("  ", " "))
    note_unrefreshed(app, "add")


def _store(store: str | None) -> str:
    from control.store.config import resolve_store

    return resolve_store(store)


@click.command()
@store_option
def rebuild(store: str | None) -> None:
    """Rewrite the read model (the indexed table of reports) from the events. Idempotent."""
    from control.service.sync import open_app
    from control.store.config import resolve_store, write_deadline
    from control.store.writelock import writer_lock

    app = scoped(open_app(store))
    with writer_lock(app.env_settings, write_deadline(), resolve_store(store)):
        rows = app.rebuild_read_model()
    echo_text(f"read model rebuilt: {rows} report(s)\n")
    note_unrefreshed(app, "rebuild")


def _read(path: Path) -> str:
    from control.model.textio import read_text  # size cap, binary and non-UTF-8 files refused

    return read_text(path, "--toml")


def _options_table(options: dict[str, Any]) -> dict[str, Any]:
    names = {
        "kind": "kind", "place": "place", "actor": "actor", "previous": "from", "when": "when",
        "earliest": "earliest", "latest": "latest", "not_before": "not_before",
        "reported_at": "reported_at", "source_file": "file", "quote": "quote", "scope": "scope",
        "event_id": "id", "note": "note",
    }  # fmt: skip
    table = {names[k]: v for k, v in options.items() if k in names and v is not None}
    if options.get("targets"):
        table["targets"] = list(options["targets"])
    if "kind" not in table:
        raise UserError("--kind is required (or give --toml FILE)")
    return table


COMMANDS = [add, rebuild]
