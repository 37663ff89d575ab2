"""``control page``: the interactive page, one self-contained offline HTML file. Imported only when
the command runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from control.cli import known_at_option, open_store, recorded_at_option, seat_option, store_option
from control.model.errors import UserError
from control.views.files import writable_target, write_atomically

DEFAULT_OUT = Path("plots") / "control.html"


def write_page(path: Path, text: str, option: str = "--out") -> Path:
    """Write the page atomically (a regular file only; no partial file on any error)."""
    return write_atomically(
        path, lambda temp: Path(temp).write_text(text, encoding="utf-8", newline=""), option
    )


@click.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="The HTML file to write (its folder is created if missing).",
)
@click.option("--scenario", help="Draw a what-if scenario's world, labelled as such, beside the record.")
@known_at_option
@recorded_at_option
@seat_option
@store_option
def page(
    out: Path,
    scenario: str | None,
    known_at: datetime | None,
    recorded_at: datetime | None,
    seat: str,
    store: str | None,
) -> None:
    """Write one self-contained HTML page (map, time slider, timeline, sources; works offline)."""
    from control.views import page as pages

    writable_target(out)  # before any work: a bad --out costs nothing
    app = open_store(store)
    events = app.read(recorded_at=recorded_at)
    drawn = None
    if scenario:
        from control.whatif.scenario import run, stored_world

        try:
            found = run(app, scenario)
        except UserError as exc:  # the scenario is named by --scenario here, not NAME
            raise UserError(str(exc).replace("NAME: ", "--scenario: ", 1)) from None
        world = [  # the scenario's world as the store had it at --recorded-at
            e
            for e in stored_world(app, found.name)
            if recorded_at is None or e.recorded_at is None or e.recorded_at <= recorded_at
        ]
        drawn = pages.Scenario(found.name, found.description, events)
        events = world
    text = pages.page(events, known_at, seat, drawn, recorded_at)
    click.echo(str(write_page(out, text)))


COMMANDS = [page]
