"""The ``control`` command: a thin click layer over the store, the fold and the views.

The core commands (replay, events, history, changes, add, rebuild) live here; each other command
group is a module of its own, imported only when used (plots, scenarios, places for
``gazetteer``, extract, page, synth), so matplotlib stays off the replay path and every command
starts fast. Every user mistake becomes one line on stderr and exit status 2; nothing is written
on error.

Long: the six core commands and the options every command shares live together so that
`control replay` imports one module of the CLI (its start-up time is measured against the
bare imports); each is a few lines of option parsing and one call below.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from control.model import gazetteer
from control.model.errors import UserError
from control.model.times import iso, parse_instant

if TYPE_CHECKING:
    from control.store.ledger import LedgerApp

F = TypeVar("F", bound=Callable[..., Any])

TIME_HELP = (
    "ISO 8601 with Z or an offset (2024-12-08T00:00Z, 2024-12-08T03:00+03:00), or a bare date "
    "(2024-12-08 = 00:00 UTC that day). Times without a zone are refused."
)


def now() -> datetime:
    """The current instant (aware UTC); tests freeze it with freezegun."""
    return datetime.now(UTC)


class Instant(click.ParamType):
    """A click parameter type for aware instants (click.DateTime rejects a trailing Z)."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        label = f"--{param.name.replace('_', '-')}" if param and param.name else "time"
        try:
            return parse_instant(value, label)
        except UserError as exc:
            said = str(exc).removeprefix(f"{label}: ")
            if "outside the years" in said:  # name the ledger's own era, when the store says it
                era = ledger_era((ctx.params.get("store") if ctx else None) or None)
                said = (
                    said.replace("near the ledger's record", f"near the ledger's record ({era})")
                    if era
                    else said
                )
            self.fail(said, param, ctx)


def ledger_era(store: str | None) -> str:
    """When a SQLite store's record runs ("April 2023 - October 2025"), read from its read model
    without opening the store (read only: nothing is created or written); "" if it cannot say."""
    import os
    import sqlite3

    from control.model.times import era_hint

    path = store or os.environ.get("CONTROL_STORE") or "control.db"
    if "://" in path or not os.path.isfile(path):
        return ""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            rows = dict(
                db.execute(
                    "SELECT key, value FROM control_meta WHERE key LIKE 'begins:%' OR key LIKE 'ends:%'"
                )
            )
    except sqlite3.Error:
        return ""
    begins = [v for k, v in rows.items() if k.startswith("begins:")]
    ends = [v for k, v in rows.items() if k.startswith("ends:")]
    if not begins:
        return ""
    try:
        first, last = parse_instant(min(begins)), parse_instant(max(ends)) if ends else None
    except UserError:
        return ""
    return era_hint(first, last)


INSTANT = Instant()


def store_option(f: F) -> F:
    return click.option(
        "--store",
        metavar="PATH|URL",
        envvar="CONTROL_STORE",
        is_eager=True,  # known before any time option: an out-of-range time names its era
        help="Event store: a SQLite file (default control.db here) or postgresql://user@host/db. "
        "Env: CONTROL_STORE.",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Byte-stable JSON output.")(f)


CSV_VERBATIM_HELP = (
    "CSV: keep text cells exactly as recorded. By default a text cell beginning with = + - @ (a "
    "spreadsheet formula) gets a leading apostrophe; numbers are never changed."
)


def csv_option(f: F) -> F:
    """``--csv`` and ``--csv-verbatim`` (the command takes ``as_csv`` and ``csv_verbatim``)."""
    f = click.option("--csv-verbatim", is_flag=True, help=CSV_VERBATIM_HELP)(f)
    return click.option(
        "--csv",
        "as_csv",
        is_flag=True,
        help="CSV: a header row, one row per item, the fields of --json flattened (nested objects "
        "as dotted names, lists joined with '; ').",
    )(f)


def check_csv(as_json: bool, as_csv: bool, csv_verbatim: bool) -> None:
    """Refuse, before any work, ``--json`` with ``--csv`` and ``--csv-verbatim`` without ``--csv``."""
    if as_json and as_csv:
        raise UserError("--csv: give --json or --csv, not both")
    if csv_verbatim and not as_csv:
        raise UserError("--csv-verbatim: only with --csv (JSON and text are never changed)")


def emit_csv(items: Any, as_json: bool = False, verbatim: bool = False) -> None:
    """Write ``items`` (JSON-ready dicts) as CSV rows, as they come (text cells that would be
    spreadsheet formulas neutralised unless ``verbatim``)."""
    from control.views.render import csv_rows

    if as_json:
        raise UserError("--csv: give --json or --csv, not both")
    for chunk in csv_rows(items, verbatim):
        sys.stdout.write(chunk)


def known_at_option(f: F) -> F:
    return click.option(
        "--known-at",
        type=INSTANT,
        help="Use only reports published at or before this time. " + TIME_HELP,
    )(f)


def recorded_at_option(f: F) -> F:
    return click.option(
        "--recorded-at",
        type=INSTANT,
        help="Answer exactly as the store would have at this time (its own clock): reports "
        "recorded later are left out. " + TIME_HELP,
    )(f)


def horizon_option(f: F) -> F:
    return click.option(
        "--contest-horizon",
        type=click.IntRange(0, 3650),
        default=7,
        show_default=True,
        metavar="DAYS",
        help="A claim or denial that nothing follows stops marking a capital contested after this many days.",
    )(f)


def recorded_note(recorded_at: datetime | None) -> None:
    """Say on stderr that an answer is historical (stdout stays byte-identical to the original)."""
    if recorded_at is not None:
        click.echo(
            f"control: as the store had it at {iso(recorded_at)}; reports recorded later are left out",
            err=True,
        )


def note_unrefreshed(app: LedgerApp, command: str) -> None:
    """One line on stderr if places were left behind their reports (a busy store): the answers
    stay right, since readers fold those places, but slower until the next write."""
    left = app.unrefreshed()
    if left:
        click.echo(
            f"{command}: note: {left} place(s) not refreshed (the store was busy); answers stay "
            "right but slower until the next write or `control rebuild`",
            err=True,
        )


def progress(label: str, length: int, *, counts: bool = True, least: int = 1) -> Any:
    """A progress bar of ``length`` steps on stderr when it is a terminal (and there are at least
    ``least`` steps); otherwise a context giving None, so nothing reaches a pipe. ``counts``: show
    the position (maps, reports), not only the percentage (bytes). The label is escaped: it may
    hold a file's name, which is data."""
    import contextlib

    if not sys.stderr.isatty() or length < least:
        return contextlib.nullcontext(None)
    from control.views.render import terminal_safe

    return click.progressbar(
        length=length, label=terminal_safe(label), file=sys.stderr, show_pos=counts, show_percent=True
    )


def echo_text(text: str) -> None:
    """Print text output: ledger text is data, so control characters are escaped."""
    from control.views.render import terminal_safe

    click.echo(terminal_safe(text), nl=False)


def seat_option(f: F) -> F:
    return click.option(
        "--seat",
        type=click.Choice(gazetteer.SEAT_SETTINGS),
        default=gazetteer.DEFAULT_SEAT,
        show_default=True,
        help="Capital counted for Rif Dimashq: Damascus (it is administered from there) or Douma "
        "(its official seat).",
    )(f)


def guarded(store: str | None, *inputs: tuple[str, Any]) -> list[tuple[str, Any]]:
    """What no file a command writes may replace (``control.views.files.check_output``'s
    ``protected``): the store's files (``--store``, its SQLite sidecars and lock file) and the
    command's inputs, each an ``(option, path)`` pair (a path of None: not given)."""
    from control.store.config import resolve_store
    from control.views.files import input_file, store_files

    return [*store_files(resolve_store(store)), *(input_file(option, path) for option, path in inputs)]


def scenario_files(scenario: str | None) -> list[tuple[str, Any]]:
    """The files a ``--scenario`` may be read from (its path, or every scenario file its name may
    be looked up in), as :func:`guarded` inputs."""
    if not scenario:
        return []
    if scenario.endswith(".toml"):
        return [("--scenario", scenario)]
    from control.whatif.scenario import directories

    return [("--scenario", file) for folder in directories() for file in sorted(folder.glob("*.toml"))]


def open_store(store: str | None, recorded_at: datetime | None = None, **options: Any) -> Any:
    """The store, its gazetteer (with ``recorded_at``: the version in force then) answering for
    the rest of the command (scoped to the command's click context: nothing is left behind in
    the process)."""
    from control.service.sync import open_app

    return scoped(open_app(store, recorded_at=recorded_at, **options))


def scoped(app: LedgerApp) -> LedgerApp:
    """``app``, its gazetteer (``app.gazetteer``) scoped to the running command."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.with_resource(gazetteer.using(app.gazetteer))
    return app


#: Commands defined in their own modules, imported only when used (matplotlib stays off the
#: replay path, and every command starts fast).
LAZY_COMMANDS = {
    "chart": "control.cli.plots",
    "demo": "control.cli.plots",
    "export": "control.cli.plots",
    "extract": "control.cli.extract",
    "page": "control.cli.page",
    "scenario": "control.cli.scenarios",
    "gazetteer": "control.cli.places",
    "synth": "control.cli.synth",
    "import": "control.cli.acled",
    "add": "control.cli.write",
    "rebuild": "control.cli.write",
    "snapshot": "control.cli.snapshots",
}


class ControlGroup(click.Group):
    """A click group whose every user mistake is one line on stderr, exit status 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        import importlib.util

        present = {name for name, module in LAZY_COMMANDS.items() if importlib.util.find_spec(module)}
        return sorted({*super().list_commands(ctx), *present})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            import importlib

            module = importlib.import_module(LAZY_COMMANDS[cmd_name])
            command = next((c for c in module.COMMANDS if c.name == cmd_name), None)
        return command

    def main(self, args: Any = None, prog_name: str | None = None, *rest: Any, **extra: Any) -> Any:
        standalone = extra.pop("standalone_mode", True)
        try:
            result = super().main(args, prog_name or "control", *rest, standalone_mode=False, **extra)
        except UserError as exc:
            message, code = str(exc), 2
        except click.ClickException as exc:
            message, code = exc.format_message(), exc.exit_code
        except click.exceptions.Abort:
            message, code = "aborted", 1
        else:
            if not standalone:
                return result
            sys.exit(result if isinstance(result, int) else 0)
        from control.model.text import one_line

        # one line, control characters escaped, long values shortened (messages echo user input)
        click.echo(f"control: error: {one_line(message)}", err=True)
        sys.exit(code)


@click.group(cls=ControlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="territorial-control")
def cli() -> None:
    """Who controlled each of Syria's 14 provincial capitals, at any moment, as known at any
    moment, with the source of every claim (rebel offensive of 27 Nov - 8 Dec 2024)."""


@cli.command()
@click.option("--at", type=INSTANT, help="Instant to replay to (default: now). " + TIME_HELP)
@known_at_option
@recorded_at_option
@horizon_option
@seat_option
@click.option("--place", "places", multiple=True, help="Only this place (any alias; repeatable).")
@click.option("--controller", help="Only places this controller holds (or may hold, if disputed).")
@click.option(
    "--territory",
    is_flag=True,
    help="Territory held by each controller in km² and % (and people, where the gazetteer has "
    "populations), from the places' shapes.",
)
@json_option
@csv_option
@store_option
def replay(
    at: datetime | None,
    known_at: datetime | None,
    recorded_at: datetime | None,
    contest_horizon: int,
    seat: str,
    places: tuple[str, ...],
    controller: str | None,
    territory: bool,
    as_json: bool,
    as_csv: bool,
    csv_verbatim: bool,
    store: str | None,
) -> None:
    """State of every capital at --at (valid time), as known at --known-at (report time), as
    recorded by --recorded-at (the store's clock): controller, status (held, uncertain,
    conflicting, contested, vacated, unknown), since when, and the sources."""
    from datetime import timedelta

    from control.views.render import COMPACT_ABOVE, snapshot_text

    check_csv(as_json, as_csv, csv_verbatim)
    recorded_note(recorded_at)
    app = open_store(store, recorded_at)
    # whole states only for the places shown (from stored states: see LedgerApp.replay)
    detail: set[str] | None = None
    if places:
        detail = {gazetteer.resolve_place(p, "--place").name for p in places}
    elif not (controller or as_json or as_csv) and len(gazetteer.governorates()) > COMPACT_ABOVE:
        detail = set()
    horizon = timedelta(days=contest_horizon)
    snapshot = app.replay(at or now(), known_at, recorded_at, seat, horizon, detail, since=not places)
    snapshot = narrowed(snapshot, places, controller)
    if territory:
        from control.views.territory import show_territory

        show_territory(snapshot, app.gazetteer, as_json, as_csv, controller)
    elif as_csv:
        data = snapshot.to_dict()
        basis = {"at": data["basis"]["at"], "known_at": data["basis"]["known_at"]}
        emit_csv((basis | c for c in data["capitals"]), as_json, csv_verbatim)
    elif as_json:
        from control.views.snapshotjson import snapshot_json

        click.echo(snapshot_json(snapshot), nl=False)
    else:
        echo_text(snapshot_text(snapshot, app.gazetteer))


def named_places(places: Sequence[str]) -> set[str] | None:
    """The names of the places each ``--place`` names (any alias; None: no --place, all)."""
    return {gazetteer.resolve_place(p, "--place").name for p in places} or None


def chosen_places(places: Sequence[str], seat: str) -> set[str] | None:
    """The names of the places to draw (None: all): each ``--place``, and the place whose
    capital is the city it is counted as (its changes of control decide it)."""
    if not places:
        return None
    chosen = {gazetteer.resolve_place(p, "--place") for p in places}
    hosts = {gazetteer.host_of(g, seat) for g in chosen}
    return {g.name for g in chosen | hosts if g is not None}


def subset_of(atlas: gazetteer.Gazetteer, names: set[str]) -> gazetteer.Gazetteer:
    """The gazetteer with only the places ``names``, in its order."""
    places = tuple(g for g in atlas.places if g.name in names)
    return atlas.with_places(places)


def narrowed(snapshot: Any, places: tuple[str, ...], controller: str | None) -> Any:
    """The snapshot narrowed to some places; holdings stay those of every place."""
    if not places and not controller:
        return snapshot
    names = {gazetteer.resolve_place(p, "--place").name for p in places}
    if controller:
        gazetteer.check_controller(controller, "--controller")
    kept = tuple(
        c
        for c in snapshot.capitals
        if (not names or c.governorate in names)
        and (not controller or c.controller == controller or controller in c.possible)
    )
    return snapshot._replace(capitals=kept, total=len(snapshot.capitals))


@cli.command()
@click.option("--place", help="Only events about this capital or governorate (any alias).")
@known_at_option
@recorded_at_option
@json_option
@csv_option
@store_option
def events(
    place: str | None,
    known_at: datetime | None,
    recorded_at: datetime | None,
    as_json: bool,
    as_csv: bool,
    csv_verbatim: bool,
    store: str | None,
) -> None:
    """Every event in the ledger, in canonical order (report time, window, id): id, kind, window,
    report time, recorded time, file and exact quote."""
    from control.views.render import event_line, json_lines, terminal_safe

    check_csv(as_json, as_csv, csv_verbatim)
    recorded_note(recorded_at)
    app = open_store(store, recorded_at)
    name = gazetteer.resolve_place(place, "--place").name if place else None
    # Streamed from the read model in canonical order: never the whole ledger in memory.
    chosen = app.iter_reports(recorded_at=recorded_at, known_at=known_at, place=name)
    write = sys.stdout.write
    if as_csv:
        emit_csv((e.to_dict() for e in chosen), as_json, csv_verbatim)
    elif as_json:
        for chunk in json_lines(e.to_dict() for e in chosen):
            write(chunk)
    else:
        for i, e in enumerate(chosen):
            write(("\n" if i else "") + terminal_safe(event_line(e)))


@cli.command()
@click.argument("place")
@known_at_option
@recorded_at_option
@json_option
@csv_option
@store_option
def history(
    place: str,
    known_at: datetime | None,
    recorded_at: datetime | None,
    as_json: bool,
    as_csv: bool,
    csv_verbatim: bool,
    store: str | None,
) -> None:
    """Every event touching one capital, in report order, with sources, conflicts, corrections."""
    from control.fold.history import history as place_history
    from control.views.render import history_text, to_json

    check_csv(as_json, as_csv, csv_verbatim)
    recorded_note(recorded_at)
    app = open_store(store, recorded_at)  # first: the store says which gazetteer names the places
    name = gazetteer.resolve_place(place, "PLACE").name
    found = place_history(app.place_events(name, known_at, recorded_at), name)  # its reports only
    if as_csv:
        emit_csv((h.to_dict() for h in found.entries), as_json, csv_verbatim)
    elif as_json:
        click.echo(to_json([h.to_dict() for h in found.entries]), nl=False)
    else:
        echo_text(history_text(found))


@cli.command()
@click.option("--since", type=INSTANT, required=True, help="Start of the period. " + TIME_HELP)
@click.option("--until", type=INSTANT, help="End of the period (default: open). " + TIME_HELP)
@known_at_option
@recorded_at_option
@seat_option
@click.option("--place", "places", multiple=True, help="Only changes at this place (any alias; repeatable).")
@click.option("--controller", help="Only changes this controller lost or won.")
@json_option
@csv_option
@store_option
def changes(
    since: datetime,
    until: datetime | None,
    known_at: datetime | None,
    recorded_at: datetime | None,
    seat: str,
    places: tuple[str, ...],
    controller: str | None,
    as_json: bool,
    as_csv: bool,
    csv_verbatim: bool,
    store: str | None,
) -> None:
    """Changes of control whose occurrence window overlaps [--since, --until)."""
    from control.views.render import to_json, transitions_text

    if until is not None and until <= since:
        raise UserError(
            "--until must be after --since; give an --until later than --since, or leave it out (open end)"
        )
    check_csv(as_json, as_csv, csv_verbatim)
    recorded_note(recorded_at)
    app = open_store(store, recorded_at)  # first: the store says which gazetteer names the places
    names = named_places(places)
    if controller:
        gazetteer.check_controller(controller, "--controller")
    found = [
        t
        for t in app.transitions(known_at, recorded_at, seat, names, since, until)  # those that moved
        if t.window.latest >= since
        and (until is None or t.window.earliest < until)
        and (not controller or controller in (t.before, t.after))
    ]
    if as_csv:
        emit_csv((t.to_dict() for t in found), as_json, csv_verbatim)
    elif as_json:
        click.echo(to_json([t.to_dict() for t in found]), nl=False)
    else:
        echo_text(transitions_text(found))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. What is imported by now lives as long as the process:
    ``gc.freeze`` spares the collector walking it again in every full collection an answer's
    many objects set off (about 5 % of a ``replay --json`` over thousands of places)."""
    import gc

    gc.freeze()
    cli.main(args=argv, prog_name="control")
