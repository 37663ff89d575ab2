"""Charts as files: each chart KIND's figure built from the store or from events (titles saying
the clocks, the scenario and how many places), the animated map, and what ``control demo`` draws.

The CLI (control.cli.plots) parses and checks options, then calls these; the figures themselves
are drawn by control.views.plotting (matplotlib) from control.views.chartdata's series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from control.model.errors import UserError
from control.model.gazetteer import Gazetteer
from control.views import display
from control.views.files import writable_target, write_atomically

#: The charts ``control chart`` draws.
KINDS = ("holdings", "timeline", "map", "known-vs-actual", "share")
#: Panels of a small-multiples map, frames of an animated one: more would not read (or would take
#: minutes to draw).
MAX_PANELS = 31
MAX_FRAMES = 400
#: Rows of a timeline chart (one per place) that still read as one.
MAX_ROWS = 100


def _every_words(every: str) -> str:
    """ "day by day" for 1d, else "every 90 days", "every 12 hours"."""
    import re

    m = re.fullmatch(r"\s*(\d+)\s*([dh])\s*", every)
    if m is None or every.strip() == "1d":
        return "day by day"
    n, unit = int(m.group(1)), "day" if m.group(2) == "d" else "hour"
    return f"every {n} {unit}s" if n != 1 else f"every {unit}"


def chart_instants(lo: datetime, hi: datetime, every: str, limit: int, what: str) -> list[datetime]:
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


def title_basis(
    atlas: Gazetteer, known_at: datetime | None, recorded_at: datetime | None = None, of: int | None = None
) -> str:
    """What a chart's title must say about the clocks it was drawn with ("" for the full record),
    and, if it draws some places only (``of``: how many places the whole gazetteer has; ``atlas``
    holds those drawn), how many of how many."""
    parts = []
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
    of: int | None = None,
) -> Any:
    """Build the Figure for one chart KIND from ledger events, of the gazetteer ``atlas``
    (``of``: the number of places of the whole gazetteer, when ``atlas`` holds some of them).

    ``scenario`` names the what-if world ``events`` are (titles then say SCENARIO); ``overlay``
    is a scenario drawn over the record (holdings). Titles say --known-at and --recorded-at.
    ``state_at``: how the maps get each instant's state (default: the fold over ``events``; the
    record's come from the store, which answers one instant without reading the ledger).
    """
    from control.views import chartdata, plotting

    replay_at = state_at or _folding(events, seat)
    basis = title_basis(atlas, known_at, recorded_at, of)
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
            times = chart_instants(start, end, every, MAX_PANELS, "panels")
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
            _titled(title, scenario, title_basis(atlas, None, recorded_at, of)),
            atlas,
        )
    raise UserError(f"KIND: unknown chart {kind!r}; choose {', '.join(KINDS)}")


def record_figure(
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
    of: int | None = None,
    by: str = "area",
) -> Any:
    """Chart KIND from the store: the maps ask it for each instant (``state_at``); the record's
    holdings on the latest knowledge come from the stored states (no report folded); the
    holdings and timeline otherwise from each place's phases, folded 100 places at a time.
    ``world``: a what-if branch (``LedgerApp.branch``) named ``scenario``, which the holdings
    draw over the record and the other charts draw instead of it. ``of``: the number of places of
    the whole gazetteer, when ``atlas`` holds some of them (``--place``); ``by``: what the share
    chart measures (area or population)."""
    from control.views import chartdata, plotting

    if kind in ("map", "known-vs-actual"):
        return draw(
            atlas, kind, [], at, known_at, lo, hi, seat, every, None, scenario, recorded_at, state_at, of
        )
    basis = title_basis(atlas, known_at, recorded_at, of)
    if kind == "share":
        return _share_figure(
            app, atlas, lo, hi, known_at, recorded_at, seat, world, scenario, basis, of is not None, by
        )
    focus = atlas.focus
    if kind == "holdings":
        some = of is not None  # some places only (--place)
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
    some = None if of is None else {g.name for g in atlas.places}  # --place
    said = app.statements(lo, hi, known_at, recorded_at, world, some)
    rows = chartdata.timeline_rows_from(steps, moves, said, lo, hi, seat, focus)
    return plotting.timeline_figure(rows, atlas, _titled(plotting.timeline_title(atlas), scenario, basis))


def write_chart(app: Any, atlas: Gazetteer, kind: str, at: datetime, known_at: datetime | None,
                recorded_at: datetime | None, lo: datetime, hi: datetime, path: Path, chosen: str,
                every: str | None, gif: bool, seat: str, world: Any = None,
                scenario: str | None = None, of: int | None = None, by: str = "area") -> Path:  # fmt: skip
    """Chart KIND of the store ``app`` written to ``path`` in format ``chosen`` (``gif``: the map
    animated), of the places of ``atlas``, its options checked; ``world``: a what-if branch
    (``LedgerApp.branch``) named ``scenario``; ``of`` and ``by`` as :func:`record_figure` takes
    them. The maps ask the store for each instant's state."""

    def state_at(t: datetime, known: datetime | None) -> Any:  # a map draws controller and status
        if world is None:
            return app.replay(t, known, recorded_at, seat, detail=())
        return app.folded_snapshot(t, known, recorded_at, seat, world=world, detail=())

    from control.store.states import as_stored

    latest = as_stored(known_at, recorded_at, seat)
    if (gif or every) and world is not None and not (latest and world.cut is None):
        # a panel or frame each, every place folded in the branch: its phases, folded once (a
        # branch without a cut, on the latest knowledge, folds only what it touches per panel)
        state_at = phase_states(app.phases(lo, hi, known_at, recorded_at, seat, world)[0], seat)
    if gif:
        return map_gif(
            atlas, [], lo, hi, known_at, seat, every or "1d", path, scenario, recorded_at, state_at, of
        )
    figure = record_figure(
        app, atlas, kind, at, known_at, recorded_at, lo, hi, seat, every, state_at, world, scenario, of, by
    )
    from control.views.plotting import save

    return save(figure, path, chosen)


def _share_figure(app: Any, atlas: Gazetteer, lo: datetime, hi: datetime, known_at: datetime | None,
                  recorded_at: datetime | None, seat: str, world: Any, scenario: str | None,
                  basis: str, some: bool, by: str) -> Any:  # fmt: skip
    """``chart share``: each controller's share of the territory (``by`` area) or people (by
    population) over [lo, hi], from the stored states on the latest knowledge, else from each
    place's phases (as the holdings); ``some``: ``atlas`` holds some places only (--place)."""
    from control.store.states import as_stored
    from control.views.shapes import shapes_note
    from control.views.territory import share_series, weights

    weights(atlas, by)  # no shapes (or populations): one line, before any folding
    if as_stored(known_at, recorded_at, seat) and (world is None or world.cut is None):
        places, updates, _, _ = app.chart_inputs(lo, hi, world, some)
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


def phase_states(steps: Sequence[tuple[Any, Sequence[tuple[datetime, Any]]]], seat: str) -> StateAt:
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


def map_gif(atlas: Gazetteer, events: list[Any], lo: datetime, hi: datetime, known_at: datetime | None,
         seat: str, every: str, path: Path, scenario: str | None = None,
         recorded_at: datetime | None = None, state_at: StateAt | None = None,
         of: int | None = None) -> Path:  # fmt: skip
    """An animation of the map, one frame per interval (matplotlib's Pillow writer); ``of`` as
    :func:`draw` takes it."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    from control.views import chartdata, plotting

    writable_target(path)
    times = chart_instants(lo, hi, every, MAX_FRAMES, "frames")
    replay_at = state_at or _folding(events, seat)
    snaps = [(t, replay_at(t, known_at)) for t in times]
    frames = [(t, chartdata.map_points(snap, atlas), display.headline(atlas, snap, len(snap.capitals)))
              for t, snap in snaps]  # fmt: skip
    basis = title_basis(atlas, known_at, recorded_at, of)

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


def demo_figures(
    atlas: Gazetteer, events: list[Any], lo: datetime, hi: datetime, seat: str
) -> Iterator[tuple[str, Any]]:
    """``control demo``'s charts of ``events`` (the record over ``[lo, hi]``), each as it is
    drawn: its file's stem (one of :data:`DEMO_CHARTS`) and its Figure."""
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
        yield stem, draw(atlas, kind, events, at, known_at, start, stop, seat, step)


def share_figure(series: Any, title: str, note: str, atlas: Gazetteer) -> Any:
    """The whole share chart: titled, with the shading note and the credit at its foot."""
    from control.views import plotting
    from control.views.shapes import plot_share

    def build() -> Any:
        fig = plotting.figure(11, 5.6)
        ax = fig.add_subplot()
        plot_share(ax, series, lambda c: display.colour(atlas, c), lambda c: display.name(atlas, c))
        plotting._date_axis(ax, atlas)
        ax.set_title(title, loc="left")
        fig.text(0.995, 0.003, note, ha="right", va="bottom", fontsize=6.5, color="#666666")
        return fig

    return plotting.styled(build)
