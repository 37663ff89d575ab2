"""``control page``: the interactive page, one self-contained offline HTML file. Imported only when
the command runs."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from control.cli import (
    chosen_places,
    echo_text,
    guarded,
    known_at_option,
    open_store,
    recorded_at_option,
    scenario_files,
    seat_option,
    store_option,
    subset_of,
)
from control.model import gazetteer
from control.model.errors import UserError
from control.views.files import Protected, check_output, write_atomically

DEFAULT_OUT = Path("plots") / "control.html"
#: Reports one page draws at most. Every state is embedded, so a page grows with its reports
#: (20,000 over 2,000 places: 9.3 MB, written in about 7 s); a conflict's whole ledger would be
#: gigabytes no browser opens, so it is refused at once, before anything is read.
PAGE_REPORTS = 50_000
#: And at most this much work for its "known at the time" world, which folds each place once per
#: report time of its own: the sum over the places drawn of their reports squared. 20 places of
#: about 500 reports (5,000,000) took 13 s; one place of 3,325 reports (11,000,000) 82 s.
PAGE_WORK = 5_000_000


def write_page(path: Path, text: str, option: str = "--out", protected: Sequence[Protected] = ()) -> Path:
    """Write the page atomically (a regular file only, never one of ``protected``; no partial
    file on any error)."""
    return write_atomically(
        path, lambda temp: Path(temp).write_text(text, encoding="utf-8", newline=""), option, protected
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
@click.option(
    "--place",
    "places",
    multiple=True,
    help="Draw only this place (any alias; repeatable), with the place its counted city belongs to.",
)
@known_at_option
@recorded_at_option
@seat_option
@store_option
def page(
    out: Path,
    scenario: str | None,
    places: tuple[str, ...],
    known_at: datetime | None,
    recorded_at: datetime | None,
    seat: str,
    store: str | None,
) -> None:
    """Write one self-contained HTML page (map, time slider, timeline, sources; works offline)."""
    from control.views import page as pages

    keep = guarded(store, *scenario_files(scenario))  # the store and the scenario's file
    check_output(out, "--out", keep)  # before any work: a bad --out costs nothing
    app = open_store(store, recorded_at)
    atlas = app.gazetteer  # the version in force at --recorded-at (open_store)
    chosen = chosen_places(places, seat)
    count = app.count_reports(chosen)
    counts = app.place_counts(chosen) if count <= PAGE_REPORTS else {}
    work = sum(n * n for n in counts.values())
    if count > PAGE_REPORTS or work > PAGE_WORK:
        what = (
            f"--place: the {len(chosen):,} place(s) drawn have {count:,} reports"
            if chosen is not None
            else f"page: the ledger has {count:,} reports over {len(atlas.places):,} places"
        )
        if count <= PAGE_REPORTS:
            what += f", up to {max(counts.values()):,} at one place"
        raise UserError(
            f"{what}: more than one page can draw (at most {PAGE_REPORTS:,} reports, and "
            f"{PAGE_WORK:,} for the sum of each place's reports squared); "
            "choose fewer places with --place, or use 'control export --intervals'"
        )
    events = (
        app.read(recorded_at=recorded_at)
        if chosen is None
        else app.reports_at(chosen, recorded_at=recorded_at)
    )
    drawn = None
    if scenario:
        from control.whatif.scenario import branch_world, run

        try:
            found = run(app, scenario)
        except UserError as exc:  # the scenario is named by --scenario here, not NAME
            raise UserError(str(exc).replace("NAME: ", "--scenario: ", 1)) from None
        # the scenario's world as the store had it at --recorded-at, branched from the reports
        # just read (at the chosen places: the ledger is never read whole for them)
        world = branch_world(events, found.branch_at, found.suppress, found.events)
        drawn = pages.Scenario(found.name, found.description, events)
        events = world
    subset = None if chosen is None else subset_of(atlas, chosen)
    with nullcontext() if subset is None else gazetteer.using(subset):
        if subset is not None and drawn is not None:  # the scenario's world, at the places drawn
            events = _deciding(events, seat)
        of = None if subset is None else len(atlas.places)
        text = pages.page(subset or atlas, events, known_at, seat, drawn, recorded_at, of)
    echo_text(f"{write_page(out, text, '--out', keep)}\n")


def _deciding(events: Sequence[Any], seat: str) -> list[Any]:
    """The events the places of the gazetteer in use depend on (theirs, and what corrects them)."""
    from control.fold.phases import place_groups

    keep = {e.id for group in place_groups(events, seat) for e in group}
    return [e for e in events if e.id in keep]


COMMANDS = [page]
