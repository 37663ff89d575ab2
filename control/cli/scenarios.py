"""``control scenario``: list, show, run and compare what-if branches, or start a new one.

Thin wiring over :mod:`control.whatif.scenario`; loaded only when a scenario command runs.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from control.cli import (
    INSTANT,
    TIME_HELP,
    echo_text,
    json_option,
    known_at_option,
    now,
    open_store,
    store_option,
)
from control.model.errors import UserError
from control.model.text import shown

if TYPE_CHECKING:
    from control.fold.projection import Snapshot

DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of scenario files (default: ./scenarios, then the project's scenarios/).",
)
AT_OPTION = click.option("--at", type=INSTANT, help="Instant to evaluate at (default: now). " + TIME_HELP)
MEMORY_OPTION = click.option(
    "--in-memory", is_flag=True, help="Evaluate without touching the store (fast iteration)."
)


def _say(text: str = "", nl: bool = True) -> None:
    """Text output: scenario names, descriptions and quotes are data, so control characters are
    escaped (control.cli.echo_text); JSON stays verbatim."""
    echo_text(text + ("\n" if nl else ""))


@click.group()
def scenario() -> None:
    """What-if scenarios: hypothetical events on an isolated branch, compared with the record."""


@scenario.command(name="list")
@DIR_OPTION
@json_option
def list_scenarios(directory: Path | None, as_json: bool) -> None:
    """The scenarios available, by name."""
    from control.model.tomlfile import load as load_toml
    from control.views.render import to_json
    from control.whatif.scenario import catalogue

    names = catalogue(directory)
    if as_json:
        click.echo(to_json(sorted(names)), nl=False)
        return
    for name, path in sorted(names.items()):
        head = load_toml(path).get("scenario", {})
        _say(f"{name:<24} {head.get('description', '')}")


@scenario.command()
@click.argument("name")
@DIR_OPTION
def show(name: str, directory: Path | None) -> None:
    """A scenario's branch point, suppressions and hypothetical events (validated)."""
    from control.ingest.record import load_record
    from control.model.times import iso
    from control.views.render import event_line
    from control.whatif.scenario import find, load

    sc = load(find(name, directory), list(load_record().events))
    _say(f"{sc.name}: {sc.description}")
    _say(f"file: {sc.path}")
    _say(f"branch point: {iso(sc.branch_at) if sc.branch_at else 'the whole record'}")
    _say(f"suppressed record events: {', '.join(sc.suppress) or 'none'}")
    _say(f"hypothetical events: {len(sc.events)}\n")
    for event in sc.events:
        _say(event_line(event))


def _snapshots(
    name: str,
    directory: Path | None,
    in_memory: bool,
    store: str | None,
    at: datetime,
    known_at: datetime | None,
    record: bool = True,
    whole: bool | None = True,
) -> tuple[Snapshot | None, Snapshot, str]:
    """(the record's answer at ``at`` if ``record``, the scenario's, the scenario's name): in
    memory on the seed record, or from the store, where the branch is stored and both answers
    are read or folded place by place (bounded memory, whatever the record's size). ``whole``:
    every place's state whole; False: what the places the answer leaves as stored need for a
    compact answer (controller, status, since: no report they cite read); None: whole unless the
    store has more places than a text answer shows whole."""
    from control.fold.projection import replay

    if in_memory:
        from control.ingest.record import load_record
        from control.whatif.scenario import find, load, world

        events = list(load_record().events)
        sc = load(find(name, directory), events)
        ours = replay(events, at, known_at) if record else None
        return ours, replay(world(sc, events), at, known_at), sc.name
    from control.whatif.scenario import evaluate_stored, run

    app = open_store(store)
    sc = run(app, name, directory)
    if whole is None:
        from control.model import gazetteer
        from control.views.render import COMPACT_ABOVE

        whole = len(gazetteer.governorates()) <= COMPACT_ABOVE
    detail = None if whole else set()
    ours = app.replay(at, known_at, detail=detail) if record else None
    return ours, evaluate_stored(app, sc.name, at, known_at, detail=detail), sc.name


def world_options(f: Any) -> Any:
    """The options of every command that evaluates a scenario's world."""
    for option in (store_option, json_option, MEMORY_OPTION, DIR_OPTION, known_at_option, AT_OPTION):
        f = option(f)
    return click.argument("name")(f)


@scenario.command(name="run")
@world_options
def run_scenario(
    name: str,
    at: datetime | None,
    known_at: datetime | None,
    directory: Path | None,
    in_memory: bool,
    as_json: bool,
    store: str | None,
) -> None:
    """Store the scenario's branch (replacing any earlier run atomically) and replay it."""
    from control.views.render import snapshot_text
    from control.views.snapshotjson import snapshot_json

    _, snapshot, sc_name = _snapshots(
        name,
        directory,
        in_memory,
        store,
        at or now(),
        known_at,
        record=False,
        whole=True if as_json else None,
    )
    if as_json:
        click.echo(snapshot_json(snapshot, {"scenario": sc_name}), nl=False)
    else:
        from control.model import gazetteer

        _say(f"Scenario {sc_name}\n" + snapshot_text(snapshot, gazetteer.current()), nl=False)


@scenario.command()
@world_options
def compare(
    name: str,
    at: datetime | None,
    known_at: datetime | None,
    directory: Path | None,
    in_memory: bool,
    as_json: bool,
    store: str | None,
) -> None:
    """Record vs scenario at --at: the capitals that differ and the holdings under each."""
    from control.views.render import COMPACT_ABOVE, to_json
    from control.whatif.scenario import compare as diff

    # controller and status are all a comparison reads
    ours, theirs, sc_name = _snapshots(name, directory, in_memory, store, at or now(), known_at, whole=False)
    assert ours is not None
    result = diff(ours, theirs)
    result["scenario"]["name"] = sc_name
    if as_json:
        click.echo(to_json(result), nl=False)
        return
    _say(f"Record vs scenario {sc_name} at {result['at']}\n")
    if not result["differences"]:
        _say("No capital differs.")
    for d in result["differences"]:
        was, would = d["record"], d["scenario"]
        _say(
            f"{d['governorate']:<12} record: {was['controller'] or '(nobody)'} ({was['status']})"
            f"  scenario: {would['controller'] or '(nobody)'} ({would['status']})"
        )
    total = len(ours.capitals)
    for label in ("record", "scenario"):
        gov = result[label]["holdings"].get("government", {"count": 0, "capitals": []})
        names = gov["capitals"]
        if len(names) > COMPACT_ABOVE:  # thousands of places: a readable line (--json has all)
            names = [*names[:COMPACT_ABOVE], f"and {len(names) - COMPACT_ABOVE:,} more (--json lists all)"]
        _say(f"\n{label:<8} government holds {gov['count']} of {total}: {', '.join(names)}", nl=False)
    _say()


@scenario.command()
@click.argument("name")
@click.option("--at", type=INSTANT, required=True, help="State to write as comments. " + TIME_HELP)
@DIR_OPTION
@store_option
def new(name: str, at: datetime, directory: Path | None, store: str | None) -> None:
    """Write a starter scenario file NAME.toml with the state at --at as comments."""
    import re

    from control.whatif.scenario import starter

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise UserError("NAME: use lowercase letters, digits and '-'")
    from control.cli import guarded
    from control.views.files import check_output, write_atomically

    folder = directory or Path("scenarios")
    path = folder / f"{name}.toml"
    keep = guarded(store)
    check_output(path, "--dir", keep)  # the folder is created if its parent exists
    if os.path.lexists(path):
        raise UserError(f"NAME: {shown(str(path))} already exists; choose another name")
    snapshot = open_store(store).replay(at)
    text = starter(name, snapshot)
    write_atomically(path, lambda temp: Path(temp).write_text(text, "utf-8"), "--dir", keep)
    _say(f"wrote {path}")


COMMANDS = [scenario]
