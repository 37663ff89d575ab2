"""``control chart``, ``control demo`` and ``control export``: thin wiring of chart data, drawing
and exports. Imported only when one of these commands runs (matplotlib stays off other paths)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from control.cli import (
    INSTANT,
    TIME_HELP,
    chosen_places,
    known_at_option,
    named_places,
    narrowed,
    now,
    open_store,
    recorded_at_option,
    seat_option,
    store_option,
    subset_of,
)
from control.model import gazetteer
from control.model.errors import UserError
from control.views.files import writable_target, write_atomically

KINDS = ("holdings", "timeline", "map", "known-vs-actual", "share")
END_OF_RECORD = "2024-12-08T00:00Z"


#: How far a chart may reach beyond the record, and how long it may be: wider ranges say nothing
#: more and would make matplotlib draw millions of ticks.
MARGIN = timedelta(days=366)
LONGEST = timedelta(days=5 * 366)
MAX_PANELS = 31
#: Rows of a timeline chart (one per place) that still read as one.
MAX_ROWS = 100
MAX_FRAMES = 400


def _span(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    from control.views.chartdata import DEFAULT_FROM, DEFAULT_TO

    lo, hi = start or DEFAULT_FROM, end or DEFAULT_TO
    if hi <= lo:
        from control.model.times import iso

        raise UserError(f"--from: {iso(lo)} is not before --to {iso(hi)}; give a --from before --to")
    return lo, hi


def _within_record(lo: datetime, hi: datetime, events: Sequence[Any], last: datetime | None = None) -> None:
    """Refuse a chart range far outside the record (a year before its baseline, a year after its
    last report: ``last``, or the last of ``events``) or longer than five years."""
    from control.model.gazetteer import baseline_as_of
    from control.model.times import iso

    first = baseline_as_of()
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


def _steps(lo: datetime, hi: datetime, every: str, limit: int, what: str) -> list[datetime]:
    """The instants of a small-multiples or animated map, refused (before any work) if too many."""
    from control.views.chartdata import daily, parse_step

    step = parse_step(every)
    count = (hi - lo) // step + 1
    if count > limit:
        raise UserError(
            f"--every: {every} from --from to --to makes {count} {what}, more than {limit}; "
            "choose a longer interval or a shorter period"
        )
    return daily(lo, hi, step)


#: While a chart draws some places only (``--place``): how many places the gazetteer has.
_OF: ContextVar[int | None] = ContextVar("control_chart_of", default=None)


def _basis(known_at: datetime | None, recorded_at: datetime | None = None) -> str:
    """What a chart's title must say about the clocks it was drawn with ("" for the full record),
    and, if it draws some places only, how many of how many."""
    parts = []
    of = _OF.get()
    if of is not None:
        parts.append(f"{len(gazetteer.governorates()):,} of {of:,} places")
    if known_at is not None:
        parts.append(f"as known at {_stamp(known_at)}")
    if recorded_at is not None:
        parts.append(f"as recorded by {_stamp(recorded_at)}")
    return ", ".join(parts)


def _titled(title: str, scenario: str | None, basis: str) -> str:
    """``title`` marked with the scenario (a what-if must never pass for the record) and the basis,
    each on a line of its own."""
    lines = [f"SCENARIO {scenario} (not the record)"] if scenario else []
    lines.append(title)
    if basis:
        lines.append(basis[0].upper() + basis[1:])
    return "\n".join(lines)


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


def holdings_figure(
    series: Any, other: Any, overlay: str, start: datetime, end: datetime, scenario: str | None, basis: str
) -> Any:
    """The holdings chart's Figure, titled (``other``: a scenario's series drawn over the record)."""
    from control.views import plotting

    what = "Provincial capitals" if gazetteer.current().builtin else "Places"
    title = f"{what} held, {_period(start, end)}"
    if overlay:
        title += f": record vs SCENARIO {overlay}"
    return plotting.holdings_figure(series, other, overlay, _titled(title, scenario, basis))


TIMELINE_TITLE = "Who held each capital, in the order the government lost them"
#: The state of every place at an instant as known at another (None: the latest knowledge).
StateAt = Callable[[datetime, datetime | None], Any]


def _folding(events: list[Any], seat: str) -> StateAt:
    """:data:`StateAt` by the pure fold over ``events`` (a scenario's world, held in memory)."""
    from control.fold.projection import replay

    return lambda t, known: replay(events, t, known, seat)


def draw(
    kind: str,
    events: list[Any],
    at: datetime,
    known_at: datetime | None,
    start: datetime,
    end: datetime,
    seat: str,
    every: str | None = None,
    overlay: tuple[list[Any], str] | None = None,
    scenario: str | None = None,
    recorded_at: datetime | None = None,
    state_at: StateAt | None = None,
) -> Any:
    """Build the Figure for one chart KIND from ledger events.

    ``scenario`` names the what-if world ``events`` are (titles then say SCENARIO); ``overlay``
    is a scenario drawn over the record (holdings). Titles say --known-at and --recorded-at.
    ``state_at``: how the maps get each instant's state (default: the fold over ``events``; the
    record's come from the store, which answers one instant without reading the ledger).
    """
    from control.views import chartdata, plotting

    replay_at = state_at or _folding(events, seat)
    basis = _basis(known_at, recorded_at)
    if kind == "holdings":
        series = chartdata.holdings_series(events, start, end, known_at, seat)
        other = None
        if overlay is not None:
            other = chartdata.holdings_series(overlay[0], start, end, known_at, seat)
        return holdings_figure(series, other, overlay[1] if overlay else "", start, end, scenario, basis)
    if kind == "timeline":
        rows = chartdata.timeline_rows(events, start, end, known_at, seat)
        return plotting.timeline_figure(rows, _titled(TIMELINE_TITLE, scenario, basis))
    if kind == "map":
        if every:
            times = _steps(start, end, every, MAX_PANELS, "panels")
            panels = [(_stamp(t, short=True), chartdata.map_points(replay_at(t, known_at))) for t in times]
            title = "Control of the 14 provincial capitals, day by day"
            return plotting.map_grid_figure(panels, _titled(title, scenario, basis))
        snap = replay_at(at, known_at)
        held = snap.holding("government")
        title = f"{_stamp(at)}: government holds {held.count} of {len(snap.capitals)}"
        return plotting.map_figure(chartdata.map_points(snap), _titled(title, scenario, basis))
    if kind == "known-vs-actual":
        if known_at is None:
            raise UserError("--known-at is required for known-vs-actual (the moment of knowledge)")
        then = replay_at(at, known_at)
        full = replay_at(at, None)
        record = "the scenario" if scenario else "the full record"
        title = f"State at {_stamp(at)}: what was known then vs what {record} says"
        return plotting.known_vs_actual_figure(
            chartdata.map_points(then),
            chartdata.map_points(full),
            f"as known at {_stamp(known_at)}: government {then.holding('government').count}",
            f"as {record} says: government {full.holding('government').count}",
            _titled(title, scenario, _basis(None, recorded_at)),
        )
    raise UserError(f"KIND: unknown chart {kind!r}; choose {', '.join(KINDS)}")


def _period(start: datetime, end: datetime) -> str:
    """ "26 Nov - 8 Dec 2024" in Damascus time (the year on both ends when they differ)."""
    from control.model.times import SYRIA

    lo, hi = start.astimezone(SYRIA), end.astimezone(SYRIA)
    if lo.year != hi.year:
        return f"{lo.day} {lo:%b %Y} - {hi.day} {hi:%b %Y}"
    return f"{lo.day} {lo:%b} - {hi.day} {hi:%b %Y}"


def _stamp(instant: datetime, short: bool = False) -> str:
    """An instant as a reader in Damascus would say it."""
    from control.model.times import SYRIA

    local = instant.astimezone(SYRIA)
    if short:
        return f"{local.day} {local:%b %H:%M}"
    return f"{local.day} {local:%b %Y %H:%M} Damascus time"


@click.command()
@click.argument("kind", metavar="KIND")
@click.option("--at", type=INSTANT, help="Instant for map and known-vs-actual (default: now). " + TIME_HELP)
@known_at_option
@recorded_at_option
@click.option("--from", "start", type=INSTANT, help="Start of the period (default 26 Nov 2024).")
@click.option("--to", "end", type=INSTANT, help="End of the period (default 8 Dec 2024 06:00Z).")
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
    _BY.set(by)
    lo, hi = _span(start, end)
    if gif:
        path = out or Path("plots") / "map.gif"
        if path.suffix.lower() != ".gif":
            raise UserError(f"--out: an animation is written as .gif, not {str(path)!r}")
        chosen = "gif"
    else:
        path, chosen = _out(out, fmt, kind if not every else "map-daily")
    writable_target(path)  # before any work: a bad --out costs nothing
    if every:
        _steps(lo, hi, every, MAX_FRAMES if gif else MAX_PANELS, "frames" if gif else "panels")
    app = open_store(store)
    atlas = gazetteer.current()  # the store's own gazetteer, now in use
    names = chosen_places(places, seat)
    if names is None:
        _chart(app, kind, at, known_at, recorded_at, lo, hi, path, chosen, every, gif, scenario, seat)
        return
    drawing = _OF.set(len(atlas.places))  # the titles say how many of how many places
    try:
        with gazetteer.using(subset_of(atlas, names)):  # every answer below is of those places only
            _chart(app, kind, at, known_at, recorded_at, lo, hi, path, chosen, every, gif, scenario, seat)
    finally:
        _OF.reset(drawing)


def _chart(app: Any, kind: str, at: datetime | None, known_at: datetime | None,
           recorded_at: datetime | None, lo: datetime, hi: datetime, path: Path, chosen: str,
           every: str | None, gif: bool, scenario: str | None, seat: str) -> None:  # fmt: skip
    """:func:`chart` once its options are checked, of the places of the gazetteer in use."""
    places = len(gazetteer.governorates())
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
    _within_record(lo, hi, [], last)  # before any folding: charts come from the store, never the
    # whole ledger in memory

    def state_at(t: datetime, known: datetime | None) -> Any:  # a map draws controller and status
        if world is None:
            return app.replay(t, known, recorded_at, seat, detail=())
        return app.folded_snapshot(t, known, recorded_at, seat, world=world, detail=())

    from control.store.states import as_stored

    latest = as_stored(known_at, recorded_at, seat)
    if (gif or every) and world is not None and not (latest and world.cut is None):
        # a panel or frame each, every place folded in the branch: its phases, folded once (a
        # branch without a cut, on the latest knowledge, folds only what it touches per panel)
        state_at = _phase_states(app.phases(lo, hi, known_at, recorded_at, seat, world)[0], seat)
    if gif:
        written = _gif([], lo, hi, known_at, seat, every or "1d", path, drawn, recorded_at, state_at)
        click.echo(str(written))
        return
    figure = _record_figure(
        app, kind, at or now(), known_at, recorded_at, lo, hi, seat, every, state_at, world, drawn
    )
    from control.views.plotting import save

    click.echo(str(save(figure, path, chosen)))


def _record_figure(
    app: Any,
    kind: str,
    at: datetime,
    known_at: datetime | None,
    recorded_at: datetime | None,
    lo: datetime,
    hi: datetime,
    seat: str,
    every: str | None,
    state_at: StateAt,
    world: Any = None,
    scenario: str | None = None,
) -> Any:
    """Chart KIND from the store: the maps ask it for each instant (``state_at``); the record's
    holdings on the latest knowledge come from the stored states (no report folded); the
    holdings and timeline otherwise from each place's phases, folded 100 places at a time.
    ``world``: a what-if branch (``LedgerApp.branch``) named ``scenario``, which the holdings
    draw over the record and the other charts draw instead of it."""
    from control.views import chartdata, plotting

    if kind in ("map", "known-vs-actual"):
        return draw(kind, [], at, known_at, lo, hi, seat, every, None, scenario, recorded_at, state_at)
    basis = _basis(known_at, recorded_at)
    if kind == "share":
        return _share_figure(app, lo, hi, known_at, recorded_at, seat, world, scenario, basis)
    if kind == "holdings":
        some = _OF.get() is not None  # some places only (--place)
        from control.store.states import as_stored

        latest = as_stored(known_at, recorded_at, seat)
        if latest:
            series = chartdata.holdings_from_steps(*app.chart_inputs(lo, hi, None, some), lo, hi, seat)
        else:
            series = chartdata.holdings_from(*app.phases(lo, hi, known_at, recorded_at, seat), lo, hi, seat)
        other = None
        if world is not None and latest and world.cut is None:  # as stored, but where it branches
            other = chartdata.holdings_from_steps(*app.chart_inputs(lo, hi, world, some), lo, hi, seat)
        elif world is not None:
            other = chartdata.holdings_from(
                *app.phases(lo, hi, known_at, recorded_at, seat, world), lo, hi, seat
            )
        return holdings_figure(series, other, scenario or "", lo, hi, None, basis)
    steps, moves = app.phases(lo, hi, known_at, recorded_at, seat, world)
    some = None if _OF.get() is None else {g.name for g in gazetteer.governorates()}  # --place
    said = app.statements(lo, hi, known_at, recorded_at, world, some)
    rows = chartdata.timeline_rows_from(steps, moves, said, lo, hi, seat)
    return plotting.timeline_figure(rows, _titled(TIMELINE_TITLE, scenario, basis))


#: What the share chart measures (``--by``): "area" or "population".
_BY: ContextVar[str] = ContextVar("control_chart_by", default="area")


def _share_figure(app: Any, lo: datetime, hi: datetime, known_at: datetime | None,
                  recorded_at: datetime | None, seat: str, world: Any, scenario: str | None,
                  basis: str) -> Any:  # fmt: skip
    """``chart share``: each controller's share of the territory (or people) over [lo, hi], from
    the stored states on the latest knowledge, else from each place's phases (as the holdings)."""
    from control.store.states import as_stored
    from control.views.shapes import shapes_note, share_figure
    from control.views.territory import share_series, weights

    atlas, by = gazetteer.current(), _BY.get()
    weights(atlas, by)  # no shapes (or populations): one line, before any folding
    if as_stored(known_at, recorded_at, seat) and (world is None or world.cut is None):
        places, updates, _, _ = app.chart_inputs(lo, hi, world, _OF.get() is not None)
    else:
        steps, _ = app.phases(lo, hi, known_at, recorded_at, seat, world)
        places = [g for g, _ in steps]
        updates = sorted(((t, i, ph) for i, (_, pairs) in enumerate(steps) for t, ph in pairs),
                         key=lambda u: (u[0], u[1]))  # fmt: skip
    series = share_series(places, updates, lo, hi, atlas, by)
    what = "territory" if by == "area" else "population"
    title = _titled(f"Share of {what} held, {_period(lo, hi)}", scenario, basis)
    note = shapes_note(atlas) if by == "area" else f"Places {atlas.shading}"
    return share_figure(series, title, note)


def _phase_states(steps: Sequence[tuple[Any, Sequence[tuple[datetime, Any]]]], seat: str) -> StateAt:
    """:data:`StateAt` from each place's phases on a period (``LedgerApp.phases``): each place's
    controller and status at an instant of it, all a map's panels and frames draw."""
    from bisect import bisect_right

    from control.fold.projection import CapitalState, snapshot_of

    places = [(g, [p[0] for p in pairs], pairs) for g, pairs in steps]

    def at(t: datetime, known: datetime | None) -> Any:
        found = []
        for g, starts, pairs in places:
            phase = pairs[bisect_right(starts, t) - 1][1]
            found.append(CapitalState(g.name, g.seat(seat), phase.controller, phase.status, None, None, ()))
        return snapshot_of(found, t, known, used=0, seat=seat, record_ends=None, record_begins=None)

    return at


def _gif(events: list[Any], lo: datetime, hi: datetime, known_at: datetime | None, seat: str,
         every: str, path: Path, scenario: str | None = None,
         recorded_at: datetime | None = None, state_at: StateAt | None = None) -> Path:  # fmt: skip
    """An animation of the map, one frame per interval (matplotlib's Pillow writer)."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    from control.views import chartdata, plotting

    writable_target(path)
    times = _steps(lo, hi, every, MAX_FRAMES, "frames")
    replay_at = state_at or _folding(events, seat)
    frames = [(t, chartdata.map_points(replay_at(t, known_at))) for t in times]
    basis = _basis(known_at, recorded_at)

    def build() -> Any:
        fig = plotting.figure(7.5, 7.2)
        ax = fig.add_subplot()
        plotting.map_legend(fig, list(plotting.COLOURS))
        plotting.attribution(fig)

        def frame(i: int) -> Any:
            ax.clear()
            t, points = frames[i]
            held = sum(p.controller == "government" and p.governorate != "Rif Dimashq" for p in points)
            title = _titled(f"{_stamp(t)}: government holds {held} of {len(points)}", scenario, basis)
            plotting.plot_map(ax, points, title)
            return []

        return fig, FuncAnimation(fig, frame, frames=len(frames))

    _fig, animation = plotting.styled(build)
    return write_atomically(path, lambda temp: animation.save(temp, writer=PillowWriter(fps=1)))


@click.command()
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("plots"),
              show_default=True, help="Folder for the charts (created if missing).")  # fmt: skip
@seat_option
@store_option
def demo(out_dir: Path, seat: str, store: str | None) -> None:
    """Load the record and write every chart of it (PNG and SVG) and the interactive page
    (control.html) into plots/; print the paths."""
    from control.fold.projection import replay
    from control.model.times import parse_instant
    from control.views.chartdata import DEFAULT_FROM, DEFAULT_TO
    from control.views.plotting import save
    from control.views.render import holdings_line

    end = parse_instant(END_OF_RECORD)
    known = parse_instant("2024-12-07T18:00Z")
    charts = {
        "holdings": ("holdings", end, None, None),
        "timeline": ("timeline", end, None, None),
        "map": ("map", end, None, None),
        "map-daily": ("map", end, None, "1d"),
        "known-vs-actual": ("known-vs-actual", parse_instant("2024-12-07T23:00Z"), known, None),
    }
    for stem in charts:  # every target, before any work (the folder is created on first write)
        for fmt in ("png", "svg"):
            writable_target(out_dir / f"{stem}.{fmt}", "--out-dir")
    writable_target(out_dir / "control.html", "--out-dir")  # the interactive page
    events = open_store(store).read()
    for stem, (kind, at, known_at, every) in charts.items():
        lo = parse_instant("2024-11-27T00:00Z") if every else DEFAULT_FROM
        hi = parse_instant("2024-12-08T00:00Z") if every else DEFAULT_TO
        figure = draw(kind, events, at, known_at, lo, hi, seat, every)
        for fmt in ("png", "svg"):
            click.echo(str(save(figure, out_dir / f"{stem}.{fmt}", fmt)))
    from control.cli.page import write_page
    from control.views.page import page

    click.echo(str(write_page(out_dir / "control.html", page(events, None, seat), "--out-dir")))
    click.echo(holdings_line(replay(events, end, None, seat)))


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
@click.option("--format", "fmt", required=True, help="csv, json or geojson (geojson: state only).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Output file (default: stdout).")
@click.option("--place", "places", multiple=True, help="Only this place (any alias; repeatable).")
@click.option("--controller", help="State only: the places this controller holds (or may hold, if disputed).")
@click.option(
    "--shapes",
    is_flag=True,
    help="Add each place's area_km2 and population; in GeoJSON, its polygon instead of its point.",
)
@seat_option
@store_option
def export(
    at: datetime | None,
    known_at: datetime | None,
    recorded_at: datetime | None,
    whole_ledger: bool,
    intervals: bool,
    fmt: str,
    out: Path | None,
    places: tuple[str, ...],
    controller: str | None,
    shapes: bool,
    seat: str,
    store: str | None,
) -> None:
    """The state of every capital (csv, json, geojson), the whole ledger with --events, or the
    periods of control of every place with --intervals (csv, geojson)."""
    from control.views import exports

    if whole_ledger and intervals:
        raise UserError("--intervals: give either --events or --intervals, not both")
    allowed = (
        ("csv", "json") if whole_ledger else ("csv", "geojson") if intervals else ("csv", "json", "geojson")
    )
    if fmt not in allowed:
        raise UserError(f"--format: {fmt!r} is not one of {', '.join(allowed)}")
    if shapes and whole_ledger:
        raise UserError("--shapes: for the state and the --intervals exports (not with --events)")
    if controller and (whole_ledger or intervals):
        raise UserError("--controller: only for the state export (not with --events or --intervals)")
    if out is not None:
        writable_target(out)
    app = open_store(store)  # first: the store says which gazetteer names the places
    names = named_places(places)
    if controller:
        gazetteer.check_controller(controller, "--controller")
    chunks: Iterable[str]
    if whole_ledger:  # streamed from the read model in canonical order (bounded memory)
        found = app.iter_reports(recorded_at=recorded_at, known_at=known_at, place=names)
        chunks = exports.event_chunks(found, fmt)
    elif intervals:  # folded a chunk of places at a time from the read model, written as folded
        timelines = app.timelines(gazetteer.baseline_as_of(), known_at, recorded_at, seat, names)
        chunks = exports.interval_chunks(timelines, fmt, seat, shapes)
    else:  # a snapshot, from the read model (whole states only for the places asked)
        snapshot = app.replay(at or now(), known_at, recorded_at, seat, detail=names)
        chunks = [exports.state(narrowed(snapshot, places, controller), fmt, shapes)]
    if out is None:
        for chunk in chunks:
            click.echo(chunk, nl=False)
        return

    def write(temp: str) -> None:
        with open(temp, "w", encoding="utf-8", newline="") as handle:
            handle.writelines(chunks)

    write_atomically(out, write)
    click.echo(f"wrote {out}")


COMMANDS = [chart, demo, export]
