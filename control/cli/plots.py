"""``control chart``, ``control demo`` and ``control export``: their options parsed and checked, then
one call into control.views (charts, exports) per command. Imported only when one of these commands
runs (matplotlib stays off other paths)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from control.cli import (
    CSV_VERBATIM_HELP,
    INSTANT,
    TIME_HELP,
    chosen_places,
    echo_text,
    guarded,
    known_at_option,
    named_places,
    narrowed,
    now,
    open_store,
    recorded_at_option,
    scenario_files,
    seat_option,
    store_option,
    subset_of,
)
from control.model import gazetteer
from control.model.errors import UserError
from control.model.gazetteer import Gazetteer
from control.views import charts, display
from control.views.charts import KINDS, MAX_FRAMES, MAX_PANELS, MAX_ROWS
from control.views.files import check_output, write_atomically

#: How far a chart may reach beyond the record, and how long it may be: wider ranges say nothing
#: more and would make matplotlib draw millions of ticks.
MARGIN = timedelta(days=366)
LONGEST = timedelta(days=5 * 366)


def chart_span(
    start: datetime | None, end: datetime | None, atlas: Gazetteer | None = None, last: datetime | None = None
) -> tuple[datetime, datetime]:
    """The chart's period: ``start``/``end`` as given, else the ledger's span (the gazetteer's
    baseline to ``last``, the last report: :func:`control.views.display.default_range`; of a
    ledger longer than a chart may be, its last five years).
    Without ``atlas``: only checks the order of the two given."""
    if atlas is None:
        if start is None or end is None:
            return start or datetime.min, end or datetime.max  # checked once the store is open
        lo, hi = start, end
    else:
        first, final = display.default_range(atlas, last)
        if start is None and end is None and final - first > LONGEST:  # the last five years drawn
            first = final - LONGEST
        lo, hi = start or first, end or final
        if start is not None and end is None and hi <= lo:  # --from after the ledger's end
            hi = lo + timedelta(days=1)
        if end is not None and start is None and hi <= lo:
            lo = hi - timedelta(days=1)
    if hi <= lo:
        from control.model.times import iso

        raise UserError(f"--from: {iso(lo)} is not before --to {iso(hi)}; give a --from before --to")
    return lo, hi


def _within_record(
    lo: datetime,
    hi: datetime,
    events: Sequence[Any],
    last: datetime | None = None,
    atlas: Gazetteer | None = None,
) -> None:
    """Refuse a chart range far outside the record (a year before its baseline, a year after its
    last report: ``last``, or the last of ``events``) or longer than five years."""
    from control.model.times import iso

    first = (atlas or gazetteer.current()).baseline_as_of
    last = last or max((e.reported_at for e in events), default=first)
    if lo < first - MARGIN:
        raise UserError(
            f"--from: {iso(lo)} is more than a year before the record begins ({iso(first)}); "
            f"start on or after {iso(first - MARGIN)}"
        )
    if hi > last + MARGIN:
        raise UserError(
            f"--to: {iso(hi)} is more than a year after the last report ({iso(last)}); "
            f"end on or before {iso(last + MARGIN)}"
        )
    if hi - lo > LONGEST:
        raise UserError(f"--from/--to: the period is {(hi - lo).days} days; draw at most 5 years")


def _out(out: Path | None, fmt: str | None, default_stem: str) -> tuple[Path, str]:
    from control.views.plotting import FORMATS

    if fmt is not None and fmt not in FORMATS:
        raise UserError(f"--format: unknown format {fmt!r}; choose {', '.join(FORMATS)}")
    if out is None:
        chosen = fmt or "png"
        return Path("plots") / f"{default_stem}.{chosen}", chosen
    suffix = out.suffix.lstrip(".").lower()
    chosen = fmt or suffix or "png"
    if chosen not in FORMATS:
        raise UserError(f"--out: cannot tell the format of {str(out)!r}; add --format png|svg|pdf")
    return out, chosen


@click.command()
@click.argument("kind", metavar="KIND")
@click.option("--at", type=INSTANT, help="Instant for map and known-vs-actual (default: now). " + TIME_HELP)
@known_at_option
@recorded_at_option
@click.option("--from", "start", type=INSTANT, help="Start of the period (default: the record's start).")
@click.option("--to", "end", type=INSTANT, help="End of the period (default: the last report).")
@click.option("--out", type=click.Path(path_type=Path), help="Output file (default plots/KIND.FORMAT).")
@click.option("--format", "fmt", help="png, svg or pdf (default: from --out, else png).")
@click.option("--every", help="map only: small multiples, one panel per interval (1d, 12h).")
@click.option("--gif", is_flag=True, help="map only: an animated GIF, one frame per --every (default 1d).")
@click.option(
    "--scenario",
    help="A what-if scenario: holdings overlays its government line; other charts draw its world.",
)
@click.option(
    "--place",
    "places",
    multiple=True,
    help="Draw only this place (any alias; repeatable), with the place its counted city belongs to.",
)
@click.option(
    "--by", default="area", show_default=True, help="share only: territory (area, km²) or population."
)
@seat_option
@store_option
def chart(
    kind: str,
    at: datetime | None,
    known_at: datetime | None,
    recorded_at: datetime | None,
    start: datetime | None,
    end: datetime | None,
    out: Path | None,
    fmt: str | None,
    every: str | None,
    gif: bool,
    scenario: str | None,
    places: tuple[str, ...],
    by: str,
    seat: str,
    store: str | None,
) -> None:
    """Draw one chart KIND (holdings, timeline, map, known-vs-actual, share) from the store."""
    if kind not in KINDS:
        import difflib

        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UserError(f"KIND: unknown chart {kind!r}{hint}; choose {', '.join(KINDS)}")
    if (every or gif) and kind != "map":
        raise UserError("--every/--gif: only for the map chart")
    if by not in ("area", "population"):
        raise UserError(f"--by: unknown measure {by!r}; choose area or population")
    if by != "area" and kind != "share":
        raise UserError("--by: only for the share chart")
    chart_span(start, end)  # both given: in order, before any work
    if gif:
        path = out or Path("plots") / "map.gif"
        if path.suffix.lower() != ".gif":
            raise UserError(f"--out: an animation is written as .gif, not {str(path)!r}")
        chosen = "gif"
    else:
        path, chosen = _out(out, fmt, kind if not every else "map-daily")
    # before any work: a bad --out costs nothing, and it never replaces the store or an input
    check_output(path, "--out", guarded(store, *scenario_files(scenario)))
    limit, what = (MAX_FRAMES, "frames") if gif else (MAX_PANELS, "panels")
    if every and start is not None and end is not None:
        charts.chart_instants(start, end, every, limit, what)
    app = open_store(store, recorded_at)
    atlas = app.gazetteer  # the store's own gazetteer (with --recorded-at, the version in force then)
    lo, hi = chart_span(start, end, atlas, app.record_ends(recorded_at))
    if every:
        charts.chart_instants(lo, hi, every, limit, what)
    names = chosen_places(places, seat)
    if names is None:
        _chart(
            app, atlas, kind, at, known_at, recorded_at, lo, hi, path, chosen, every, gif, scenario, seat, by
        )
        return
    some = subset_of(atlas, names)
    with gazetteer.using(some):  # every answer below is of those places only
        _chart(
            app, some, kind, at, known_at, recorded_at, lo, hi, path, chosen, every, gif, scenario, seat, by,
            of=len(atlas.places),  # the titles say how many of how many places
        )  # fmt: skip


def _chart(app: Any, atlas: Gazetteer, kind: str, at: datetime | None, known_at: datetime | None,
           recorded_at: datetime | None, lo: datetime, hi: datetime, path: Path, chosen: str,
           every: str | None, gif: bool, scenario: str | None, seat: str, by: str,
           of: int | None = None) -> None:  # fmt: skip
    """:func:`chart` once its options are checked, of the places of ``atlas`` (``of``: how many
    places the whole gazetteer has, when ``atlas`` holds those of --place)."""
    places = len(atlas.places)
    if kind == "timeline" and places > MAX_ROWS:
        raise UserError(
            f"KIND: a timeline draws one row per place, and this ledger has {places} places (at most "
            f"{MAX_ROWS}); choose some with --place, or `control export --intervals` writes every "
            "place's periods"
        )
    world, drawn = None, None
    last = app.record_ends(recorded_at)
    if scenario:  # validated by index and stored; its world is the record's, branched
        from control.whatif.scenario import run

        try:
            sc = run(app, scenario)
        except UserError as exc:  # the scenario is named by --scenario here, not NAME
            raise UserError(str(exc).replace("NAME: ", "--scenario: ", 1)) from None
        world, drawn = app.branch(sc.branch_at, sc.suppress, sc.events), sc.name
        last = max([t for t in (last, *(e.reported_at for e in sc.events)) if t is not None], default=None)
    _within_record(lo, hi, [], last, atlas)  # before any folding: charts come from the store, never the
    # whole ledger in memory
    when = at or now()
    written = charts.write_chart(app, atlas, kind, when, known_at, recorded_at, lo, hi, path, chosen,
                                 every, gif, seat, world, drawn, of, by)  # fmt: skip
    echo_text(f"{written}\n")


@click.command()
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("plots"),
              show_default=True, help="Folder for the charts (created if missing).")  # fmt: skip
@seat_option
@store_option
def demo(out_dir: Path, seat: str, store: str | None) -> None:
    """Load the record and write every chart of it (PNG and SVG) and the interactive page
    (control.html) into plots/; print the paths."""
    from control.fold.projection import replay
    from control.views.plotting import save
    from control.views.render import holdings_line

    keep = guarded(store)
    for stem in charts.DEMO_CHARTS:  # every target, before any work (the folder is created on first write)
        for fmt in ("png", "svg"):
            check_output(out_dir / f"{stem}.{fmt}", "--out-dir", keep)
    check_output(out_dir / "control.html", "--out-dir", keep)  # the interactive page
    app = open_store(store)
    atlas = app.gazetteer
    events = app.read()
    lo, hi = display.default_range(atlas, app.record_ends())
    for stem, figure in charts.demo_figures(atlas, events, lo, hi, seat):
        for fmt in ("png", "svg"):
            echo_text(f"{save(figure, out_dir / f'{stem}.{fmt}', fmt)}\n")
    from control.cli.page import write_page
    from control.views.page import page

    echo_text(f"{write_page(out_dir / 'control.html', page(atlas, events, None, seat), '--out-dir', keep)}\n")
    end = charts.demo_instants(atlas, lo, hi)[0]
    click.echo(holdings_line(replay(events, end, None, seat), atlas))


@click.command()
@click.option("--at", type=INSTANT, help="State at this instant (default: now). " + TIME_HELP)
@known_at_option
@recorded_at_option
@click.option("--events", "whole_ledger", is_flag=True, help="Export the whole ledger instead.")
@click.option(
    "--intervals",
    is_flag=True,
    help="Periods of control per place (start, end, controller, status, sources) for GIS: csv or geojson.",
)
@click.option(
    "--snapshots",
    is_flag=True,
    help="A feed of dated maps, one per --every from --from to --to, into the folder --out "
    "(geojson): the same as `control snapshot export`.",
)
@click.option("--every", help="--snapshots: one map per interval (1d, 12h; default 1d).")
@click.option("--from", "start", type=INSTANT, help="--snapshots: the first map's instant. " + TIME_HELP)
@click.option("--to", "end", type=INSTANT, help="--snapshots: the last map's instant, at most. " + TIME_HELP)
@click.option("--format", "fmt", required=True, help="csv, json or geojson (geojson: state only).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Output file (default: stdout); with --snapshots, a folder.",
)
@click.option("--place", "places", multiple=True, help="Only this place (any alias; repeatable).")
@click.option("--controller", help="State only: the places this controller holds (or may hold, if disputed).")
@click.option("--csv-verbatim", is_flag=True, help=CSV_VERBATIM_HELP)
@click.option(
    "--shapes",
    is_flag=True,
    help="Add each place's area_km2 and population; in GeoJSON, its polygon instead of its point.",
)
@seat_option
@store_option
@click.pass_context
def export(
    ctx: click.Context,
    at: datetime | None,
    known_at: datetime | None,
    recorded_at: datetime | None,
    whole_ledger: bool,
    intervals: bool,
    snapshots: bool,
    every: str | None,
    start: datetime | None,
    end: datetime | None,
    fmt: str,
    out: Path | None,
    places: tuple[str, ...],
    controller: str | None,
    csv_verbatim: bool,
    shapes: bool,
    seat: str,
    store: str | None,
) -> None:
    """The state of every capital (csv, json, geojson), the whole ledger with --events, the
    periods of control of every place with --intervals (csv, geojson), or a feed of dated maps
    with --snapshots (geojson)."""
    from control.views import exports

    if snapshots:
        if whole_ledger or intervals:
            raise UserError("--snapshots: give one of --events, --intervals or --snapshots")
        _feed_options(
            {"--at": at, "--place": places, "--controller": controller, "--shapes": shapes,
             "--csv-verbatim": csv_verbatim},
            {"--out": out, "--from": start, "--to": end},
        )  # fmt: skip
        from control.cli.snapshots import export as feed

        ctx.invoke(feed, every=every or "1d", start=start, end=end, fmt=fmt, out=out, known_at=known_at,
                   recorded_at=recorded_at, seat=seat, store=store)  # fmt: skip
        return
    for name, given in (("--every", every), ("--from", start), ("--to", end)):
        if given is not None:
            raise UserError(f"{name}: only with --snapshots (a feed of dated maps)")
    if whole_ledger and intervals:
        raise UserError("--intervals: give either --events or --intervals, not both")
    allowed = (
        ("csv", "json") if whole_ledger else ("csv", "geojson") if intervals else ("csv", "json", "geojson")
    )
    if fmt not in allowed:
        raise UserError(f"--format: {fmt!r} is not one of {', '.join(allowed)}")
    if csv_verbatim and fmt != "csv":
        raise UserError(f"--csv-verbatim: only with --format csv ({fmt} is never changed)")
    if shapes and whole_ledger:
        raise UserError("--shapes: for the state and the --intervals exports (not with --events)")
    if controller and (whole_ledger or intervals):
        raise UserError("--controller: only for the state export (not with --events or --intervals)")
    if out is not None:
        check_output(out, "--out", guarded(store))
    app = open_store(store, recorded_at)  # first: the store says which gazetteer names the places
    atlas = app.gazetteer  # the version in force at --recorded-at (open_store)
    names = named_places(places)
    if controller:
        gazetteer.check_controller(controller, "--controller")
    chunks: Iterable[str]
    if whole_ledger:  # streamed from the read model in canonical order (bounded memory)
        found = app.iter_reports(recorded_at=recorded_at, known_at=known_at, place=names)
        chunks = exports.event_chunks(found, fmt, csv_verbatim)
    elif intervals:  # folded a chunk of places at a time from the read model, written as folded
        timelines = app.timelines(atlas.baseline_as_of, known_at, recorded_at, seat, names)
        chunks = exports.interval_chunks(timelines, fmt, seat, atlas, shapes, csv_verbatim)
    else:  # a snapshot, from the read model (whole states only for the places asked)
        snapshot = app.replay(at or now(), known_at, recorded_at, seat, detail=names)
        chunks = [exports.state(narrowed(snapshot, places, controller), fmt, atlas, shapes, csv_verbatim)]
    if out is None:
        for chunk in chunks:
            click.echo(chunk, nl=False)
        return

    def write(temp: str) -> None:
        with open(temp, "w", encoding="utf-8", newline="") as handle:
            handle.writelines(chunks)

    write_atomically(out, write, "--out", guarded(store))
    echo_text(f"wrote {out}\n")


def _feed_options(unwanted: dict[str, Any], needed: dict[str, Any]) -> None:
    """What ``export --snapshots`` refuses: the state export's options, and no --out, --from, --to."""
    for name, value in unwanted.items():
        if value:
            raise UserError(f"{name}: not with --snapshots (each map has every place, with its area)")
    for name, value in needed.items():
        if value is None:
            raise UserError(f"{name}: required with --snapshots")


COMMANDS = [chart, demo, export]
