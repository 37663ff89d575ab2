"""``control chart``, ``control demo`` and ``control export``: thin wiring of chart data, drawing
and exports. Imported only when one of these commands runs (matplotlib stays off other paths)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

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
from control.views import display
from control.views.files import check_output, writable_target, write_atomically

KINDS = ("holdings", "timeline", "map", "known-vs-actual", "share")


#: How far a chart may reach beyond the record, and how long it may be: wider ranges say nothing
#: more and would make matplotlib draw millions of ticks.
MARGIN = timedelta(days=366)
LONGEST = timedelta(days=5 * 366)
MAX_PANELS = 31
#: Rows of a timeline chart (one per place) that still read as one.
MAX_ROWS = 100
MAX_FRAMES = 400


def _every_words(every: str) -> str:
    """ "day by day" for 1d, else "every 90 days", "every 12 hours"."""
    import re

    m = re.fullmatch(r"\s*(\d+)\s*([dh])\s*", every)
    if m is None or every.strip() == "1d":
        return "day by day"
    n, unit = int(m.group(1)), "day" if m.group(2) == "d" else "hour"
    return f"every {n} {unit}s" if n != 1 else f"every {unit}"


def shown_gazetteer(app: Any, recorded_at: datetime | None = None) -> Gazetteer:
    """The gazetteer a view of ``app`` shows: the store's (its version in force at
    ``recorded_at``, when the store keeps versions by time), with its display settings."""
    at = getattr(app, "gazetteer_at", None)
    found = at(recorded_at) if at is not None and recorded_at is not None else None
    return cast(Gazetteer, found or app.gazetteer)


def _span(
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


def _basis(atlas: Gazetteer, known_at: datetime | None, recorded_at: datetime | None = None) -> str:
    """What a chart's title must say about the clocks it was drawn with ("" for the full record),
    and, if it draws some places only, how many of how many."""
    parts = []
    of = _OF.get()
    if of is not None:
        parts.append(f"{len(atlas.places):,} of {of:,} places")
    if known_at is not None:
        parts.append(f"as known at {display.stamp(atlas, known_at)}")
    if recorded_at is not None:
        parts.append(f"as recorded by {display.stamp(atlas, recorded_at)}")
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
    series: Any,
    other: Any,
    overlay: str,
    start: datetime,
    end: datetime,
    scenario: str | None,
    basis: str,
    atlas: Gazetteer,
) -> Any:
    """The holdings chart's Figure, titled (``other``: a scenario's series drawn over the record)."""
    from control.views import plotting

    title = f"{display.places_word(atlas, capital=True)} held, {display.period(atlas, start, end)}"
    if overlay:
        title += f": record vs SCENARIO {overlay}"
    return plotting.holdings_figure(series, atlas, other, overlay, _titled(title, scenario, basis))


#: The state of every place at an instant as known at another (None: the latest knowledge).
StateAt = Callable[[datetime, datetime | None], Any]


def _folding(events: list[Any], seat: str) -> StateAt:
    """:data:`StateAt` by the pure fold over ``events`` (a scenario's world, held in memory)."""
    from control.fold.projection import replay

    return lambda t, known: replay(events, t, known, seat)


def draw(
    atlas: Gazetteer,
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
    """Build the Figure for one chart KIND from ledger events, of the gazetteer ``atlas``.

    ``scenario`` names the what-if world ``events`` are (titles then say SCENARIO); ``overlay``
    is a scenario drawn over the record (holdings). Titles say --known-at and --recorded-at.
    ``state_at``: how the maps get each instant's state (default: the fold over ``events``; the
    record's come from the store, which answers one instant without reading the ledger).
    """
    from control.views import chartdata, plotting

    replay_at = state_at or _folding(events, seat)
    basis = _basis(atlas, known_at, recorded_at)
    focus = atlas.focus
    if kind == "holdings":
        series = chartdata.holdings_series(events, start, end, known_at, seat, focus)
        other = None
        if overlay is not None:
            other = chartdata.holdings_series(overlay[0], start, end, known_at, seat, focus)
        return holdings_figure(
            series, other, overlay[1] if overlay else "", start, end, scenario, basis, atlas
        )
    if kind == "timeline":
        rows = chartdata.timeline_rows(events, start, end, known_at, seat, focus)
        return plotting.timeline_figure(rows, atlas, _titled(plotting.timeline_title(atlas), scenario, basis))
    if kind == "map":
        if every:
            times = _steps(start, end, every, MAX_PANELS, "panels")
            zone = atlas.zone
            years = times[0].astimezone(zone).year != times[-1].astimezone(zone).year  # say them
            panels = [
                (
                    display.stamp(atlas, t, short=True, year=years),
                    chartdata.map_points(replay_at(t, known_at), atlas),
                )
                for t in times
            ]
            title = f"Control of the {len(atlas.places)} {display.places_word(atlas)}, {_every_words(every)}"
            return plotting.map_grid_figure(panels, _titled(title, scenario, basis), atlas)
        snap = replay_at(at, known_at)
        title = f"{display.stamp(atlas, at)}: {display.headline(atlas, snap, len(snap.capitals))}"
        return plotting.map_figure(chartdata.map_points(snap, atlas), _titled(title, scenario, basis), atlas)
    if kind == "known-vs-actual":
        if known_at is None:
            raise UserError("--known-at is required for known-vs-actual (the moment of knowledge)")
        then = replay_at(at, known_at)
        full = replay_at(at, None)
        record = "the scenario" if scenario else "the full record"
        title = f"State at {display.stamp(atlas, at)}: what was known then vs what {record} says"

        def held(snap: Any) -> str:
            if focus:
                return f"{focus} {snap.holding(focus).count}"
            return display.headline(atlas, snap).rsplit(" of ", 1)[0]

        return plotting.known_vs_actual_figure(
            chartdata.map_points(then, atlas),
            chartdata.map_points(full, atlas),
            f"as known at {display.stamp(atlas, known_at)}: {held(then)}",
            f"as {record} says: {held(full)}",
            _titled(title, scenario, _basis(atlas, None, recorded_at)),
            atlas,
        )
    raise UserError(f"KIND: unknown chart {kind!r}; choose {', '.join(KINDS)}")


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
    _BY.set(by)
    _span(start, end)  # both given: in order, before any work
    if gif:
        path = out or Path("plots") / "map.gif"
        if path.suffix.lower() != ".gif":
            raise UserError(f"--out: an animation is written as .gif, not {str(path)!r}")
        chosen = "gif"
    else:
        path, chosen = _out(out, fmt, kind if not every else "map-daily")
    # before any work: a bad --out costs nothing, and it never replaces the store or an input
    check_output(path, "--out", guarded(store, *scenario_files(scenario)))
    if every and start is not None and end is not None:
        _steps(start, end, every, MAX_FRAMES if gif else MAX_PANELS, "frames" if gif else "panels")
    app = open_store(store, recorded_at)
    atlas = shown_gazetteer(app, recorded_at)  # the store's own gazetteer (the version in force then)
    lo, hi = _span(start, end, atlas, app.record_ends(recorded_at))
    if every:
        _steps(lo, hi, every, MAX_FRAMES if gif else MAX_PANELS, "frames" if gif else "panels")
    names = chosen_places(places, seat)
    if names is None:
        _chart(app, atlas, kind, at, known_at, recorded_at, lo, hi, path, chosen, every, gif, scenario, seat)
        return
    drawing = _OF.set(len(atlas.places))  # the titles say how many of how many places
    some = subset_of(atlas, names)
    try:
        with gazetteer.using(some):  # every answer below is of those places only
            _chart(
                app, some, kind, at, known_at, recorded_at, lo, hi, path, chosen, every, gif, scenario, seat
            )
    finally:
        _OF.reset(drawing)


def _chart(app: Any, atlas: Gazetteer, kind: str, at: datetime | None, known_at: datetime | None,
           recorded_at: datetime | None, lo: datetime, hi: datetime, path: Path, chosen: str,
           every: str | None, gif: bool, scenario: str | None, seat: str) -> None:  # fmt: skip
    """:func:`chart` once its options are checked, of the places of ``atlas``."""
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
        written = _gif(atlas, [], lo, hi, known_at, seat, every or "1d", path, drawn, recorded_at, state_at)
        echo_text(f"{written}\n")
        return
    figure = _record_figure(
        app, atlas, kind, at or now(), known_at, recorded_at, lo, hi, seat, every, state_at, world, drawn
    )
    from control.views.plotting import save

    echo_text(f"{save(figure, path, chosen)}\n")


def _record_figure(
    app: Any,
    atlas: Gazetteer,
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
        return draw(atlas, kind, [], at, known_at, lo, hi, seat, every, None, scenario, recorded_at, state_at)
    basis = _basis(atlas, known_at, recorded_at)
    if kind == "share":
        return _share_figure(app, atlas, lo, hi, known_at, recorded_at, seat, world, scenario, basis)
    focus = atlas.focus
    if kind == "holdings":
        some = _OF.get() is not None  # some places only (--place)
        from control.store.states import as_stored

        latest = as_stored(known_at, recorded_at, seat)
        if latest:
            series = chartdata.holdings_from_steps(
                *app.chart_inputs(lo, hi, None, some, focus), lo, hi, seat, focus
            )
        else:
            series = chartdata.holdings_from(
                *app.phases(lo, hi, known_at, recorded_at, seat), lo, hi, seat, focus
            )
        other = None
        if world is not None and latest and world.cut is None:  # as stored, but where it branches
            other = chartdata.holdings_from_steps(
                *app.chart_inputs(lo, hi, world, some, focus), lo, hi, seat, focus
            )
        elif world is not None:
            other = chartdata.holdings_from(
                *app.phases(lo, hi, known_at, recorded_at, seat, world), lo, hi, seat, focus
            )
        return holdings_figure(series, other, scenario or "", lo, hi, None, basis, atlas)
    steps, moves = app.phases(lo, hi, known_at, recorded_at, seat, world)
    some = None if _OF.get() is None else {g.name for g in atlas.places}  # --place
    said = app.statements(lo, hi, known_at, recorded_at, world, some)
    rows = chartdata.timeline_rows_from(steps, moves, said, lo, hi, seat, focus)
    return plotting.timeline_figure(rows, atlas, _titled(plotting.timeline_title(atlas), scenario, basis))


#: What the share chart measures (``--by``): "area" or "population".
_BY: ContextVar[str] = ContextVar("control_chart_by", default="area")


def _share_figure(app: Any, atlas: Gazetteer, lo: datetime, hi: datetime, known_at: datetime | None,
                  recorded_at: datetime | None, seat: str, world: Any, scenario: str | None,
                  basis: str) -> Any:  # fmt: skip
    """``chart share``: each controller's share of the territory (or people) over [lo, hi], from
    the stored states on the latest knowledge, else from each place's phases (as the holdings)."""
    from control.store.states import as_stored
    from control.views.shapes import shapes_note, share_figure
    from control.views.territory import share_series, weights

    by = _BY.get()
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
    title = _titled(f"Share of {what} held, {display.period(atlas, lo, hi)}", scenario, basis)
    note = shapes_note(atlas) if by == "area" else f"Places {atlas.shading}"
    return share_figure(series, title, note, atlas)


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


def _gif(atlas: Gazetteer, events: list[Any], lo: datetime, hi: datetime, known_at: datetime | None,
         seat: str, every: str, path: Path, scenario: str | None = None,
         recorded_at: datetime | None = None, state_at: StateAt | None = None) -> Path:  # fmt: skip
    """An animation of the map, one frame per interval (matplotlib's Pillow writer)."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    from control.views import chartdata, plotting

    writable_target(path)
    times = _steps(lo, hi, every, MAX_FRAMES, "frames")
    replay_at = state_at or _folding(events, seat)
    snaps = [(t, replay_at(t, known_at)) for t in times]
    frames = [(t, chartdata.map_points(snap, atlas), display.headline(atlas, snap, len(snap.capitals)))
              for t, snap in snaps]  # fmt: skip
    basis = _basis(atlas, known_at, recorded_at)

    def build() -> Any:
        fig = plotting.figure(7.5, 7.2)
        ax = fig.add_subplot()
        plotting.map_legend(fig, [*atlas.controllers, None], atlas)
        plotting.attribution(fig, atlas)

        def frame(i: int) -> Any:
            ax.clear()
            t, points, headline = frames[i]
            title = _titled(f"{display.stamp(atlas, t)}: {headline}", scenario, basis)
            plotting.plot_map(ax, points, atlas, title)
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
    from control.views.plotting import save
    from control.views.render import holdings_line

    keep = guarded(store)
    for stem in DEMO_CHARTS:  # every target, before any work (the folder is created on first write)
        for fmt in ("png", "svg"):
            check_output(out_dir / f"{stem}.{fmt}", "--out-dir", keep)
    check_output(out_dir / "control.html", "--out-dir", keep)  # the interactive page
    app = open_store(store)
    atlas = shown_gazetteer(app)
    events = app.read()
    lo, hi = display.default_range(atlas, app.record_ends())
    end, known, versus, daily_from, every = demo_instants(atlas, lo, hi)
    charts = {
        "holdings": ("holdings", end, None, None),
        "timeline": ("timeline", end, None, None),
        "map": ("map", end, None, None),
        "map-daily": ("map", end, None, every),
        "known-vs-actual": ("known-vs-actual", versus, known, None),
    }
    for stem, (kind, at, known_at, step) in charts.items():
        start, stop = (daily_from, end) if step else (lo, hi)
        figure = draw(atlas, kind, events, at, known_at, start, stop, seat, step)
        for fmt in ("png", "svg"):
            echo_text(f"{save(figure, out_dir / f'{stem}.{fmt}', fmt)}\n")
    from control.cli.page import write_page
    from control.views.page import page

    echo_text(f"{write_page(out_dir / 'control.html', page(atlas, events, None, seat), '--out-dir', keep)}\n")
    click.echo(holdings_line(replay(events, end, None, seat), atlas))


DEMO_CHARTS = ("holdings", "timeline", "map", "map-daily", "known-vs-actual")


def demo_instants(
    atlas: Gazetteer, lo: datetime, hi: datetime
) -> tuple[datetime, datetime, datetime, datetime, str]:
    """When ``control demo`` draws: the end of the record, a moment of knowledge before it, the
    instant the known-vs-actual map shows, the small multiples' start and interval (at most
    :data:`MAX_PANELS` panels). The gazetteer may name them (``demo_*`` labels); else the ledger's
    span says: its end, its middle, its end, its start, a day (or more, for a long span)."""
    from control.model.times import parse_instant

    said = atlas.labels

    def at(key: str, default: datetime) -> datetime:
        return parse_instant(said[key]) if key in said else default

    end = at("demo_at", hi)
    start = at("demo_daily_from", lo)
    days = max(1, -(-int((end - start).total_seconds()) // 86400 // (MAX_PANELS - 1)))
    return end, at("demo_known_at", lo + (hi - lo) / 2), at("demo_known_vs_at", end), start, f"{days}d"


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
@click.option("--csv-verbatim", is_flag=True, help=CSV_VERBATIM_HELP)
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
    csv_verbatim: bool,
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
    if csv_verbatim and fmt != "csv":
        raise UserError(f"--csv-verbatim: only with --format csv ({fmt} is never changed)")
    if shapes and whole_ledger:
        raise UserError("--shapes: for the state and the --intervals exports (not with --events)")
    if controller and (whole_ledger or intervals):
        raise UserError("--controller: only for the state export (not with --events or --intervals)")
    if out is not None:
        check_output(out, "--out", guarded(store))
    app = open_store(store, recorded_at)  # first: the store says which gazetteer names the places
    atlas = shown_gazetteer(app, recorded_at)
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


COMMANDS = [chart, demo, export]
